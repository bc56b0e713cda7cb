#!/usr/bin/env pamsh
-- demo.lua - the whole job in one process: managed-identity token from
-- IMDS, login at /xtam/landing, then REST calls with the session cookie.
--
-- Usage:  pamsh scripts/demo.lua [FOLDER] [RECORD] [FORBIDDEN_RECORD]
-- Example (what `make demo` runs against the simulator):
--   pamsh --url https://pam.corp:6443/xtam --resource <app client id> \
--     scripts/demo.lua 3 42 43

local folder, record, forbidden = arg[1] or "3", arg[2] or "42", arg[3] or "43"

local function when(epoch)
  return os.date("!%Y-%m-%d %H:%M:%SZ", epoch)
end

-- 1. the token (printed as metadata only: the JWT itself is a secret)
local _, info = imds_token()
local claims = info.claims or {}
print(("1. token from %s for audience %s, app %s, expires %s")
  :format(info.source, tostring(claims.aud), tostring(claims.appid), when(info.expires_on)))

-- 2. the session
local session = pam_login()
print(("2. logged in to %s"):format(session.url))

-- 3. a folder
print(("3. folder %s:"):format(folder))
for _, entry in ipairs(pam.folder(folder)) do
  local kind = entry.recordType and entry.recordType.name or "?"
  print(("     %-16s %-10s %s"):format(tostring(entry.id), kind, entry.name))
end

-- 4. a record this identity may unlock: its fields, secrets redacted
local rec = pam.unlock(record)
print(("4. record %s %q:"):format(tostring(rec.id), rec.name))
local names = {}
for name in pairs(rec.fields) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  print(("     %-10s %s"):format(name, tostring(rec.fields[name])))
end

-- 5. a record it may not: the server's 401 as a structured error
local ok, err = pcall(pam.unlock, forbidden)
if ok then
  print(("5. record %s unlocked, but it should have been refused"):format(forbidden))
  os.exit(1)
end
print(("5. record %s refused: %s (kind %s, status %s)")
  :format(forbidden, tostring(err), err.kind, tostring(err.status)))
