#!/usr/bin/env pamsh
-- access-report.lua - which records under a folder this identity can
-- unlock.  Walks the folder recursively and tries pam.unlock on every
-- record; the secrets it receives are dropped, never printed.
--
-- Usage:  pamsh scripts/access-report.lua FOLDER [--name NAME]
--   FOLDER     the folder id to start from
--   --name N   the start folder's name in paths (default: its id)
-- Output: one tab-separated line per record, in walk order,
--   ok<TAB>ID<TAB>NAME<TAB>PATH        unlocked
--   denied<TAB>ID<TAB>NAME<TAB>PATH    refused with HTTP 401 or 403
--   error<TAB>ID<TAB>NAME<TAB>PATH<TAB>MESSAGE   anything else (404, 5xx, network...)
-- then a summary line: "3 records: 2 unlockable, 1 denied, 0 errors".
-- Tabs, line breaks and backslashes inside names are written as \t, \n
-- and \\ so that each record stays one line of four (or five) columns.
--
-- Example:
--   pamsh --client-id <id> scripts/access-report.lua 1 --name Root
-- Exit: 0 when every record was either unlocked or denied (denials are
-- the report, not a failure); with errors, the exit code of the first
-- one's kind (4 PAM API, 5 network, 3 login); 2 usage.

local core = pam.core

local function usage(msg)
  error(core.error { kind = "usage", message = msg ..
    " (usage: pamsh access-report.lua FOLDER [--name NAME])" }, 0)
end

-- names go on one line each: tabs, line breaks and backslashes escaped
local function one_line(s)
  return (tostring(s):gsub("[\\\t\n\r]", { ["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r" }))
end

local folder, name
local i = 1
while arg[i] do
  local a = arg[i]
  if a == "--name" then
    name = arg[i + 1] or usage("--name needs a value")
    i = i + 1
  elseif a:sub(1, 2) == "--" then
    usage("unknown option " .. a)
  elseif folder then
    usage("one folder only")
  else
    folder = a
  end
  i = i + 1
end
if not folder or folder == "" then usage("no folder id") end
folder = math.tointeger(tonumber(folder)) or folder

local records = {}
pam.walk(folder, function(entry, path)
  records[#records + 1] = { id = entry.id, name = entry.name, path = path }
end, { name = name })

-- unlock each; keep nothing of the record but the fact that it came back
local _, errors = pam.map(records, function(r)
  pam.unlock(r.id)
  return true
end)

local ok, denied, failed, first = 0, 0, 0, nil
for n, r in ipairs(records) do
  local err = errors[n]
  local cols = { "ok", one_line(r.id), one_line(r.name), one_line(r.path) }
  if err == nil then
    ok = ok + 1
  elseif type(err) == "table" and (err.status == 401 or err.status == 403) then
    denied = denied + 1
    cols[1] = "denied"
  else
    failed = failed + 1
    cols[1] = "error"
    cols[5] = one_line(err)
    first = first or err
  end
  print(table.concat(cols, "\t"))
end

local function plural(n, word) return ("%d %s%s"):format(n, word, n == 1 and "" or "s") end
print(("%s: %d unlockable, %d denied, %s")
  :format(plural(#records, "record"), ok, denied, plural(failed, "error")))

-- errors end the run through the runtime, so the exit code is the one of
-- the first error's kind and the reason is on stderr
if first then
  io.stdout:flush()
  if type(first) ~= "table" then error(first, 0) end
  error(core.error { kind = first.kind or "http", message = ("%s of %s could not be checked (first: %s)")
    :format(failed, plural(#records, "record"), tostring(first)) }, 0)
end
