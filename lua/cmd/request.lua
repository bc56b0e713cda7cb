-- pamsh request METHOD PATH [BODY]: log in, make one call, print the
-- response: JSON pretty on a terminal and compact otherwise (for jq).
-- BODY is JSON text, @FILE to read it from a file, or - for stdin.
local core = require "pam.core"
local pam = require "pam"

local function usage(msg)
  error(core.error { kind = "usage",
    message = msg .. " (usage: pamsh request METHOD PATH [BODY | @FILE | -])" }, 0)
end

local function read_body(arg)
  if arg == nil then return nil end
  if arg == "-" then
    return io.stdin:read("a")
  end
  if arg:sub(1, 1) == "@" then
    local f, err = io.open(arg:sub(2), "rb")
    if not f then usage("cannot read the body: " .. err) end
    local text = f:read("a")
    f:close()
    return text
  end
  return arg
end

return function(method, path, body, extra)
  if not method or not path then usage("METHOD and PATH are needed") end
  if extra then usage("too many arguments") end
  if not method:match("^%a+$") then usage("not an HTTP method: " .. method) end
  if path:match("^%a[%w+.-]*://") then usage("PATH is relative to the PAM URL, e.g. /rest/folder/list/1") end
  body = read_body(body)
  local data, status = pam_request(method:upper(), path, body)
  if type(data) == "table" then
    print(pam.json(data, { compact = not core.isatty(1) }))
  elseif data ~= nil then
    io.stdout:write(data)
    if not tostring(data):match("\n$") then io.stdout:write("\n") end
  end
  if status == 0 then return 0 end  -- --dry-run
  return 0
end
