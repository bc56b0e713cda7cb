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

-- pam.json(v, [opts]): JSON text with keys in a stable (sorted) order,
-- indented unless opts.compact.  A pam.secret is refused: reveal it on
-- purpose if it must be written out.
local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n',
                    ['\r'] = '\\r', ['\t'] = '\\t' }
    return named[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function is_array(t)
  local n = #t
  if n == 0 then return next(t) == nil and false end
  local count = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end

function pam.json(value, opts)
  local compact = opts and opts.compact
  local seen = {}
  local out = {}
  local function emit(v, indent)
    local t = type(v)
    if v == nil or v == cjson.null then
      out[#out + 1] = "null"
    elseif t == "boolean" then
      out[#out + 1] = tostring(v)
    elseif t == "number" then
      if v ~= v or v == math.huge or v == -math.huge then
        error(core.error { kind = "usage", message = "pam.json: cannot encode " .. tostring(v) }, 0)
      end
      out[#out + 1] = math.type(v) == "integer" and tostring(v)
        or (v == math.floor(v) and v >= -2^53 and v <= 2^53) and ("%d"):format(v)
        or ("%.17g"):format(v)
    elseif t == "string" then
      out[#out + 1] = json_string(v)
    elseif core.is_secret(v) then
      error(core.error { kind = "usage",
        message = "pam.json: a pam.secret is not encoded; call :reveal() if you mean to write it out" }, 0)
    elseif t == "table" then
      if seen[v] then
        error(core.error { kind = "usage", message = "pam.json: the table contains a cycle" }, 0)
      end
      seen[v] = true
      local inner = indent .. "  "
      local nl = compact and "" or "\n"
      local pad = compact and "" or inner
      local sep = compact and ":" or ": "
      if is_array(v) then
        out[#out + 1] = "["
        for i = 1, #v do
          out[#out + 1] = (i > 1 and "," or "") .. nl .. pad
          emit(v[i], inner)
        end
        out[#out + 1] = nl .. (compact and "" or indent) .. "]"
      else
        local keys = {}
        for k in pairs(v) do
          if type(k) ~= "string" and math.type(k) ~= "integer" then
            error(core.error { kind = "usage", message = "pam.json: keys must be strings or integers" }, 0)
          end
          keys[#keys + 1] = tostring(k)
        end
        table.sort(keys)
        if #keys == 0 then
          out[#out + 1] = "{}"
        else
          out[#out + 1] = "{"
          for i, k in ipairs(keys) do
            local val = v[k]
            if val == nil then val = v[math.tointeger(tonumber(k))] end
            out[#out + 1] = (i > 1 and "," or "") .. nl .. pad .. json_string(k) .. sep
            emit(val, inner)
          end
          out[#out + 1] = nl .. (compact and "" or indent) .. "}"
        end
      end
      seen[v] = nil
    else
      error(core.error { kind = "usage", message = "pam.json: cannot encode a " .. t }, 0)
    end
  end
  emit(value, "")
  return table.concat(out)
end

return pam
