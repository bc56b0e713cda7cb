-- pam.lua - the friendly API, built on the three primitives of pam.core.
-- Global `pam`; also `require "pam"`.

local core = require "pam.core"
local cjson = require "cjson"

local pam = { core = core }

pam.secret = core.secret
pam.is_secret = core.is_secret

local function usage(fmt, ...)
  error(core.error { kind = "usage", message = fmt:format(...) }, 3)
end

-- Field names whose values are secrets (CONTRACT.md): matched
-- case-insensitively anywhere in the name.
local SECRET_WORDS = { "password", "passwd", "secret", "key", "token",
                       "passphrase", "pin", "credential" }

function pam.is_secret_field(name)
  local n = tostring(name):lower()
  for _, w in ipairs(SECRET_WORDS) do
    if n:find(w, 1, true) then return true end
  end
  return false
end

-- Record and folder ids are strings ("i-2qhyGh2UB0V") or integers; either
-- becomes one escaped path segment.
local function segment(id, what)
  if math.type(id) == "float" and id == math.floor(id) then id = math.tointeger(id) end
  if math.type(id) ~= "integer" and (type(id) ~= "string" or id == "") then
    usage("%s id must be a string or an integer, not %s", what, type(id))
  end
  return (tostring(id):gsub("[^%w%-._~]", function(c)
    return ("%%%02X"):format(c:byte())
  end))
end

function pam.login(opts) return core.pam_login(opts) end
function pam.logout() core.logout() end

function pam.get(path, opts) return (core.pam_request("GET", path, nil, opts)) end
function pam.post(path, body, opts) return (core.pam_request("POST", path, body, opts)) end
function pam.put(path, body, opts) return (core.pam_request("PUT", path, body, opts)) end
function pam.delete(path, opts) return (core.pam_request("DELETE", path, nil, opts)) end

-- rec.fields: the record's `custom` JSON string decoded, secret-looking
-- values wrapped as pam.secret.  The raw `custom` string is dropped so a
-- careless print(rec.custom) cannot show a password.
function pam.unlock(id)
  local path = "/rest/record/unlock/" .. segment(id, "record")
  local rec = pam.get(path)
  if type(rec) ~= "table" then
    error(core.error { kind = "http", method = "GET", path = path,
                       message = "unexpected answer: not a record" }, 2)
  end
  local custom = rec.custom
  rec.custom = nil
  local fields = {}
  if type(custom) == "string" and custom ~= "" then
    local ok, decoded = pcall(cjson.decode, custom)
    if not ok or type(decoded) ~= "table" then
      error(core.error { kind = "http", method = "GET", path = path,
                         message = "the record's custom field is not a JSON object" }, 2)
    end
    fields = decoded
  elseif type(custom) == "table" then
    fields = custom
  end
  for k, v in pairs(fields) do
    if pam.is_secret_field(k) and (type(v) == "string" or type(v) == "number") then
      fields[k] = core.secret(tostring(math.tointeger(v) or v))
    end
  end
  rec.fields = fields
  return rec
end

function pam.folder(id)
  return pam.get("/rest/folder/list/" .. segment(id, "folder"))
end

return pam
