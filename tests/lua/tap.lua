-- tap.lua - a small TAP producer for Lua tests run by pamsh itself
local tap = { n = 0, failed = 0 }

local function report(ok, desc, diag)
  tap.n = tap.n + 1
  print(("%s %d - %s"):format(ok and "ok" or "not ok", tap.n, desc))
  if not ok then
    tap.failed = tap.failed + 1
    if diag then io.stdout:write("# ", (tostring(diag):gsub("\n", "\n# ")), "\n") end
  end
  return ok
end

function tap.ok(cond, desc) return report(not not cond, desc) end

function tap.is(got, want, desc)
  return report(got == want, desc,
    ("got:  %s (%s)\nwant: %s (%s)"):format(tostring(got), math.type(got) or type(got),
                                           tostring(want), math.type(want) or type(want)))
end

function tap.like(got, pat, desc)
  local s = tostring(got)
  return report(s:find(pat) ~= nil, desc, ("%q\ndoes not match %q"):format(s, pat))
end

function tap.unlike(got, pat, desc)
  local s = tostring(got)
  return report(s:find(pat) == nil, desc, ("%q\nmatches %q"):format(s, pat))
end

-- calls fn(...) expecting an error; returns the error value
function tap.raises(fn, desc, ...)
  local ok, err = pcall(fn, ...)
  report(not ok, desc, "no error raised")
  return err
end

function tap.done()
  print(("1..%d"):format(tap.n))
  os.exit(tap.failed == 0 and 0 or 1)
end

return tap
