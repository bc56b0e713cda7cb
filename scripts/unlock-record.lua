#!/usr/bin/env pamsh
-- unlock-record.lua - one record's fields, for people or shell pipelines.
--
-- Usage:  pamsh scripts/unlock-record.lua ID [FIELD]
--   ID     the record id (numeric, or an encoded id such as i-2qhyGh2UB0V)
--   FIELD  print only this field's value, secrets included: this is the
--          way to hand a password to another program.  The name is matched
--          exactly, else case-insensitively when only one field matches.
--          An unknown field is a usage error (exit 2) that lists the names.
-- Without FIELD: every field as "name<TAB>value", sorted by name.  Secret
-- fields are listed with the value [REDACTED], so you can see that they
-- exist and ask for them by name.  Tabs, newlines and backslashes in
-- values are written as \t, \n and \\ so that each field stays one line.
--
-- Examples:
--   pamsh scripts/unlock-record.lua 42
--   PGPASSWORD=$(pamsh scripts/unlock-record.lua 42 Password) psql -h db.corp.example
-- Exit: 0, 2 (usage), 3 (login), 4 (PAM refused: no permission, no such record).

local core = pam.core

local function usage(msg)
  error(core.error { kind = "usage",
    message = msg .. " (usage: pamsh unlock-record.lua ID [FIELD])" }, 0)
end

local id, field = arg[1], arg[2]
if not id or id == "" then usage("no record id") end
if arg[3] then usage("too many arguments") end
id = math.tointeger(tonumber(id)) or id   -- "42" and 42 are the same record

local rec = pam.unlock(id)
local fields = rec.fields

local names = {}
for name in pairs(fields) do names[#names + 1] = tostring(name) end
table.sort(names)

-- a value as text: secrets revealed only when asked (reveal = true)
local function text(v, reveal)
  if pam.is_secret(v) then return reveal and v:reveal() or tostring(v) end
  if type(v) == "table" then return pam.json(v, { compact = true, redact = not reveal }) end
  if v == require "cjson".null then return "" end
  return tostring(v)
end

if field then
  local value = fields[field]
  if value == nil then
    local matches = {}
    for _, name in ipairs(names) do
      if name:lower() == field:lower() then matches[#matches + 1] = name end
    end
    if #matches == 1 then value = fields[matches[1]] end
  end
  if value == nil then
    usage(("record %s has no field %q; its fields: %s")
      :format(tostring(rec.id or id), field, table.concat(names, ", ")))
  end
  -- revealed on purpose: the caller asked for this one field
  io.write(text(value, true), "\n")
  return
end

local function one_line(s)
  return (s:gsub("[\\\t\n\r]", { ["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r" }))
end

for _, name in ipairs(names) do
  io.write(one_line(name), "\t", one_line(text(fields[name], false)), "\n")
end
