#!/usr/bin/env pamsh
-- folder-inventory.lua - every record under a folder, recursively: id,
-- name, type and folder path.  Reads listings only; unlocks nothing, so
-- no secret is ever fetched.
--
-- Usage:  pamsh scripts/folder-inventory.lua FOLDER [--csv | --json] [--name NAME]
--   FOLDER     the folder id to start from (1 is usually the root)
--   --csv      RFC 4180 CSV (header id,name,type,path; CRLF line ends)
--   --json     a JSON array of {id, name, type, path} objects, keys sorted
--   --name N   the start folder's name in paths (default: its id, as the
--              listing API does not tell a folder its own name)
-- Default output: an aligned table for people.
--
-- Examples:
--   pamsh scripts/folder-inventory.lua 1 --name Root
--   pamsh scripts/folder-inventory.lua 3 --csv > databases.csv
--   pamsh scripts/folder-inventory.lua 1 --json | jq -r '.[].path' | sort -u
-- Exit: 0, 2 (usage), 3 (login), 4 (PAM refused a listing).

local core = pam.core

local function usage(msg)
  error(core.error { kind = "usage", message = msg ..
    " (usage: pamsh folder-inventory.lua FOLDER [--csv | --json] [--name NAME])" }, 0)
end

local folder, format, name
local i = 1
while arg[i] do
  local a = arg[i]
  if a == "--csv" or a == "--json" then
    if format and format ~= a then usage("--csv and --json exclude each other") end
    format = a
  elseif a == "--name" then
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

local rows = {}
pam.walk(folder, function(entry, path)
  rows[#rows + 1] = {
    id = entry.id,
    name = entry.name,
    type = type(entry.recordType) == "table" and entry.recordType.name or nil,
    path = path,
  }
end, { name = name })

local columns = { "id", "name", "type", "path" }
if format == "--csv" then
  io.write(pam.csv(rows, columns))
elseif format == "--json" then
  -- pam.json writes an empty table as {}: an empty inventory is still a list
  print(#rows == 0 and "[]" or pam.json(rows))
else
  print(pam.table(rows, columns))
end
