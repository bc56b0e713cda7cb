-- pam.lua - the friendly API, built on the three primitives of pam.core.
-- Global `pam`; also `require "pam"`.  docs/scripting.md is the reference.
--
-- Errors raised here are pam.core.error tables ({kind=, message=, ...}) so
-- the runtime reports them in one line with the exit code of their kind:
-- usage 2, auth 3, http 4, network 5.  Argument mistakes are usage errors.

local core = require "pam.core"
local cjson = require "cjson"

local pam = { core = core }

pam.secret = core.secret
pam.is_secret = core.is_secret

local REDACTED = "[REDACTED]"

local function raise(kind, fmt, ...)
  error(core.error { kind = kind, message = fmt:format(...) }, 0)
end

local function usage(fmt, ...) raise("usage", fmt, ...) end

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

local function check_opts(opts, fname)
  if opts ~= nil and type(opts) ~= "table" then
    usage("%s: options must be a table, not %s", fname, type(opts))
  end
  return opts or {}
end

local function check_name(name, fname, what)
  if type(name) ~= "string" or not name:find("%S") then
    usage("%s: the %s name must be a non-empty string", fname, what)
  end
end

local function check_description(d, fname)
  if d ~= nil and type(d) ~= "string" then
    usage("%s: the description must be a string, not %s", fname, type(d))
  end
end

-- ---------------------------------------------------------------- session

function pam.login(opts) return core.pam_login(opts) end
function pam.logout() core.logout() end

function pam.get(path, opts) return (core.pam_request("GET", path, nil, opts)) end
function pam.post(path, body, opts) return (core.pam_request("POST", path, body, opts)) end
function pam.put(path, body, opts) return (core.pam_request("PUT", path, body, opts)) end
function pam.delete(path, opts) return (core.pam_request("DELETE", path, nil, opts)) end

-- ---------------------------------------------------------------- records

-- cjson decodes every number as a float; a Port of 5432 should stay 5432
-- (the C core does the same for pam_request's data).
local function integers(t, depth)
  if depth > 100 then return t end
  for k, v in pairs(t) do
    if math.type(v) == "float" then t[k] = math.tointeger(v) or v
    elseif type(v) == "table" then integers(v, depth + 1) end
  end
  return t
end

-- rec.fields: the record's `custom` JSON string decoded, secret-looking
-- values wrapped as pam.secret.  The raw `custom` string is dropped so a
-- careless print(rec.custom) cannot show a password.
function pam.unlock(id)
  local path = "/rest/record/unlock/" .. segment(id, "record")
  local rec = pam.get(path)
  if type(rec) ~= "table" then
    error(core.error { kind = "http", method = "GET", path = path,
                       message = "unexpected answer: not a record" }, 0)
  end
  local custom = rec.custom
  rec.custom = nil
  local fields = {}
  if type(custom) == "string" and custom ~= "" then
    local ok, decoded = pcall(cjson.decode, custom)
    if not ok or type(decoded) ~= "table" then
      error(core.error { kind = "http", method = "GET", path = path,
                         message = "the record's custom field is not a JSON object" }, 0)
    end
    fields = integers(decoded, 0)
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

-- A sub-folder shows up in a listing as an entry whose type is "Folder"
-- (some servers also set folder = true).
local function is_folder(entry)
  return entry.folder == true
    or (type(entry.recordType) == "table" and entry.recordType.name == "Folder")
end

-- pam.walk(folder_id, fn, [opts]) -> number of records visited.
-- Depth first, in listing order.  fn(entry, path) is called for each record
-- (and each sub-folder with opts.folders); path names the folder holding
-- the entry, "Start/Sub/Sub".  The listing API does not return a folder's
-- own name, so the start folder is called opts.name, default its id.
-- opts.depth (default 32) is how many levels below the start folder are
-- listed.  A folder id met a second time is skipped: a server whose
-- folders form a cycle cannot make the walk loop.  fn returning false
-- (not nil) stops the walk.
function pam.walk(folder_id, fn, opts)
  segment(folder_id, "folder")
  if type(fn) ~= "function" then
    usage("pam.walk: the second argument must be a function, not %s", type(fn))
  end
  opts = check_opts(opts, "pam.walk")
  local max_depth = opts.depth == nil and 32 or math.tointeger(opts.depth)
  if not max_depth or max_depth < 0 then
    usage("pam.walk: opts.depth must be an integer >= 0")
  end
  -- ids as keys: 3, 3.0 and "3" are the same folder
  local function key(id) return tostring(math.type(id) == "float" and math.tointeger(id) or id) end
  local root = opts.name == nil and key(folder_id) or tostring(opts.name)

  local seen, count, stopped = { [key(folder_id)] = true }, 0, false
  local function visit(id, path, depth)
    local list = pam.folder(id)
    if list == nil then list = {} end        -- an empty body: an empty folder
    if type(list) ~= "table" then
      error(core.error { kind = "http", method = "GET", path = "/rest/folder/list/" .. segment(id, "folder"),
                         message = "unexpected answer: not a folder listing" }, 0)
    end
    for _, entry in ipairs(list) do
      if type(entry) == "table" then
        if is_folder(entry) then
          local k = key(entry.id)
          if entry.id ~= nil and not seen[k] then
            seen[k] = true
            if opts.folders and fn(entry, path) == false then stopped = true end
            if not stopped and depth < max_depth then
              visit(entry.id, path .. "/" .. tostring(entry.name or entry.id), depth + 1)
            end
          end
        else
          count = count + 1
          if fn(entry, path) == false then stopped = true end
        end
        if stopped then return end
      end
    end
  end
  visit(folder_id, root, 0)
  return count
end

-- pam.map(list, fn, [opts]) -> results, errors.  The C core (core.map)
-- runs each call in a coroutine whose requests overlap on the wire; the
-- loop below is only the fallback for a core built without it.  On a
-- terminal a progress line goes to stderr (opts.progress = false turns it
-- off).
local function progress_line(done, total, started)
  local elapsed = core.monotonic() - started
  -- no rate before a tenth of a second: it would be noise
  local rate = elapsed >= 0.1 and done / elapsed or nil
  local eta = rate and ("%d s"):format(math.ceil((total - done) / rate)) or "?"
  io.stderr:write(("\rpam.map: %d/%d, %s/s, ETA %s\27[K")
    :format(done, total, rate and ("%.1f"):format(rate) or "?", eta))
end

function pam.map(list, fn, opts)
  if type(list) ~= "table" then usage("pam.map: the list must be a table, not %s", type(list)) end
  if type(fn) ~= "function" then usage("pam.map: the second argument must be a function, not %s", type(fn)) end
  opts = check_opts(opts, "pam.map")
  if opts.concurrency ~= nil and not ((math.tointeger(opts.concurrency) or 0) >= 1) then
    usage("pam.map: opts.concurrency must be an integer >= 1")
  end
  local total = #list
  local show = opts.progress ~= false and total > 1 and core.isatty and core.isatty(2)
  local started = core.monotonic()
  if core.map then
    -- each item in a coroutine; pam_request yields while its transfer is
    -- in flight, and one curl_multi loop drives them all
    local results, errors = core.map(list, fn, math.tointeger(opts.concurrency) or 8,
      show and function(done, n) progress_line(done, n, started) end or nil)
    if show then io.stderr:write("\r\27[K") end
    return results, errors
  end
  local results, errors = {}, {}
  for i = 1, total do
    local ok, res = pcall(fn, list[i])
    if ok then results[i] = res else errors[i] = res end
    if show then progress_line(i, total, started) end
  end
  if show then io.stderr:write("\r\27[K") end
  return results, errors
end

-- With --dry-run a write comes back as {dry_run = true}: pass it through so
-- scripts can tell; anything else that is not a table is a broken answer.
local function created(res, method, path, what)
  if type(res) ~= "table" then
    error(core.error { kind = "http", method = method, path = path,
                       message = "unexpected answer: not a " .. what }, 0)
  end
  return res
end

function pam.create_folder(parent, name, description)
  local path = "/rest/folder/create/" .. segment(parent, "parent folder")
  check_name(name, "pam.create_folder", "folder")
  check_description(description, "pam.create_folder")
  return created(pam.post(path, { name = name, description = description or "" }),
                 "POST", path, "folder")
end

-- fields go to the server as the record's `custom` JSON string.  This is
-- where secrets are meant to go, so pam.secret values are revealed here
-- (pam.json's reveal option), and only here.
function pam.create_record(folder, type_id, name, fields, description)
  local path = "/rest/record/new/" .. segment(folder, "folder") .. "/" .. segment(type_id, "record type")
  check_name(name, "pam.create_record", "record")
  if fields ~= nil and type(fields) ~= "table" then
    usage("pam.create_record: fields must be a table, not %s", type(fields))
  end
  for k in pairs(fields or {}) do
    if type(k) ~= "string" then
      usage("pam.create_record: fields must be keyed by field name (string keys)")
    end
  end
  check_description(description, "pam.create_record")
  local form = { name = name, description = description or "",
                 custom = pam.json(fields or {}, { compact = true, reveal = true }) }
  return created(core.pam_request("POST", path, nil, { form = form }), "POST", path, "record")
end

-- ---------------------------------------------------------------- output

-- Shortest text that reads back as the same number: 0.1 is "0.1", not
-- "0.10000000000000001"; integral floats print without ".0".
local function number_text(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v ~= v or v == math.huge or v == -math.huge then return nil end
  if v == math.floor(v) and v >= -2^53 and v <= 2^53 then return ("%d"):format(v) end
  for p = 14, 17 do
    local s = ("%." .. p .. "g"):format(v)
    if tonumber(s) == v then return s end
  end
  return ("%.17g"):format(v)
end

local JSON_ESCAPES = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n',
                       ['\r'] = '\\r', ['\t'] = '\\t', ['\b'] = '\\b', ['\f'] = '\\f' }

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return JSON_ESCAPES[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

-- An empty table is written as {}: Lua cannot tell an empty array from
-- an empty object.
local function is_array(t)
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end

-- "where" in an error: the path from the top value, e.g. .fields.Password
local function where(at) return at == "" and "the value" or at end

-- pam.json(v, [opts]): JSON text with keys in a stable (sorted) order,
-- indented by two spaces unless opts.compact.  A pam.secret is refused
-- unless opts.reveal (write its value, on purpose) or opts.redact (write
-- "[REDACTED]").
function pam.json(value, opts)
  opts = check_opts(opts, "pam.json")
  local compact = opts.compact
  local seen, out = {}, {}
  local function emit(v, indent, at)
    local t = type(v)
    if v == nil or v == cjson.null then
      out[#out + 1] = "null"
    elseif t == "boolean" then
      out[#out + 1] = tostring(v)
    elseif t == "number" then
      local s = number_text(v)
      if not s then usage("pam.json: cannot encode %s (at %s)", tostring(v), where(at)) end
      out[#out + 1] = s
    elseif t == "string" then
      out[#out + 1] = json_string(v)
    elseif core.is_secret(v) then
      if opts.reveal then
        out[#out + 1] = json_string(v:reveal())
      elseif opts.redact then
        out[#out + 1] = json_string(REDACTED)
      else
        usage("pam.json: %s is a pam.secret and is not encoded; call :reveal() on it "
              .. "(or pass {reveal = true}) if you mean to write it out", where(at))
      end
    elseif t == "table" then
      if seen[v] then usage("pam.json: the table contains a cycle (at %s)", where(at)) end
      seen[v] = true
      local inner = indent .. "  "
      local nl = compact and "" or "\n"
      local pad = compact and "" or inner
      local sep = compact and ":" or ": "
      if is_array(v) then
        out[#out + 1] = "["
        for i = 1, #v do
          out[#out + 1] = (i > 1 and "," or "") .. nl .. pad
          emit(v[i], inner, at .. "[" .. i .. "]")
        end
        out[#out + 1] = nl .. (compact and "" or indent) .. "]"
      else
        local keys, orig = {}, {}
        for k in pairs(v) do
          if type(k) ~= "string" and math.type(k) ~= "integer" then
            usage("pam.json: keys must be strings or integers (a %s key at %s)", type(k), where(at))
          end
          local s = tostring(k)
          keys[#keys + 1] = s
          orig[s] = k
        end
        table.sort(keys)
        if #keys == 0 then
          out[#out + 1] = "{}"
        else
          out[#out + 1] = "{"
          for i, k in ipairs(keys) do
            out[#out + 1] = (i > 1 and "," or "") .. nl .. pad .. json_string(k) .. sep
            emit(v[orig[k]], inner, at .. "." .. k)
          end
          out[#out + 1] = nl .. (compact and "" or indent) .. "}"
        end
      end
      seen[v] = nil
    else
      usage("pam.json: cannot encode a %s (at %s)", t, where(at))
    end
  end
  emit(value, "", "")
  return table.concat(out)
end

-- columns: an array of keys, or of {key=, title=} -> { {key=, title=}... }
local function columns_of(columns, fname)
  if type(columns) ~= "table" or #columns == 0 then
    usage("%s: columns must be a non-empty array of names or {key=, title=} tables", fname)
  end
  local cols = {}
  for i, c in ipairs(columns) do
    local key, title = c, nil
    if type(c) == "table" then key, title = c.key, c.title end
    if type(key) ~= "string" and math.type(key) ~= "integer" then
      usage("%s: column %d has no key (a string or an integer)", fname, i)
    end
    cols[i] = { key = key, title = title ~= nil and tostring(title) or tostring(key) }
  end
  return cols
end

local function check_rows(rows, fname)
  if type(rows) ~= "table" then usage("%s: rows must be an array of tables, not %s", fname, type(rows)) end
  for i = 1, #rows do
    if type(rows[i]) ~= "table" then
      usage("%s: row %d is a %s, not a table", fname, i, type(rows[i]))
    end
  end
end

-- One cell as text: nil and JSON null are empty, numbers as in pam.json,
-- tables as compact JSON.  on_secret decides what a pam.secret becomes.
local function cell_text(v, on_secret, fname, row, col)
  local t = type(v)
  if v == nil or v == cjson.null then return "" end
  if t == "string" then return v end
  if t == "number" then return number_text(v) or tostring(v) end
  if t == "boolean" then return tostring(v) end
  if core.is_secret(v) then return on_secret(row, col) end
  if t == "table" then
    return pam.json(v, { compact = true, redact = fname == "pam.table" })
  end
  usage("%s: row %d, column '%s' is a %s", fname, row, tostring(col.key), t)
end

-- pam.csv(rows, columns) -> RFC 4180 text: a header row of the column
-- titles, then one line per row; every line ends with CRLF ("\r\n", as the
-- RFC says), the last one too.  A field containing a comma, a double
-- quote, CR or LF is quoted, its quotes doubled.  A pam.secret cell is an
-- error: reveal it first if it belongs in the file.
function pam.csv(rows, columns)
  local cols = columns_of(columns, "pam.csv")
  check_rows(rows, "pam.csv")
  local function refuse(row, col)
    usage("pam.csv: row %d, column '%s' is a pam.secret; call :reveal() on it if you mean to write it out",
          row, tostring(col.key))
  end
  local function field(s)
    if s:find('[,"\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
    return s
  end
  local lines = {}
  local line = {}
  for j, c in ipairs(cols) do line[j] = field(c.title) end
  lines[1] = table.concat(line, ",")
  for i = 1, #rows do
    line = {}
    for j, c in ipairs(cols) do line[j] = field(cell_text(rows[i][c.key], refuse, "pam.csv", i, c)) end
    lines[#lines + 1] = table.concat(line, ",")
  end
  return table.concat(lines, "\r\n") .. "\r\n"
end

-- Display width of UTF-8 text: combining marks take no column, East Asian
-- wide characters and emoji two.  Invalid UTF-8 counts one per byte.
local function char_width(cp)
  if cp == 0x200B or (cp >= 0x0300 and cp <= 0x036F) or (cp >= 0xFE00 and cp <= 0xFE0F) then
    return 0
  end
  if (cp >= 0x1100 and cp <= 0x115F) or (cp >= 0x2E80 and cp <= 0xA4CF)
      or (cp >= 0xAC00 and cp <= 0xD7A3) or (cp >= 0xF900 and cp <= 0xFAFF)
      or (cp >= 0xFE30 and cp <= 0xFE4F) or (cp >= 0xFF00 and cp <= 0xFF60)
      or (cp >= 0xFFE0 and cp <= 0xFFE6) or (cp >= 0x1F300 and cp <= 0x1F64F)
      or (cp >= 0x1F900 and cp <= 0x1F9FF) or (cp >= 0x20000 and cp <= 0x3FFFD) then
    return 2
  end
  return 1
end

local function text_width(s)
  if not utf8.len(s) then return #s end
  local w = 0
  for _, cp in utf8.codes(s) do w = w + char_width(cp) end
  return w
end

-- control characters would break the alignment: show them escaped
local function one_line(s)
  return (s:gsub("%c", function(c)
    return ({ ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" })[c] or ("\\x%02x"):format(c:byte())
  end))
end

-- pam.table(rows, columns) -> aligned text for people: the column titles,
-- a rule of dashes, then the rows; left-aligned columns two spaces apart,
-- no trailing spaces, no newline after the last line (print() it).
-- pam.secret cells show as [REDACTED]; control characters as \n, \t, ...
function pam.table(rows, columns)
  local cols = columns_of(columns, "pam.table")
  check_rows(rows, "pam.table")
  local function redact() return REDACTED end
  local grid = { {} }
  local widths = {}
  for j, c in ipairs(cols) do
    grid[1][j] = one_line(c.title)
    widths[j] = text_width(grid[1][j])
  end
  for i = 1, #rows do
    local cells = {}
    for j, c in ipairs(cols) do
      cells[j] = one_line(cell_text(rows[i][c.key], redact, "pam.table", i, c))
      widths[j] = math.max(widths[j], text_width(cells[j]))
    end
    grid[#grid + 1] = cells
  end
  local rule = {}
  for j = 1, #cols do rule[j] = ("-"):rep(widths[j]) end
  table.insert(grid, 2, rule)
  local lines = {}
  for i, cells in ipairs(grid) do
    local parts = {}
    for j, s in ipairs(cells) do
      parts[j] = j < #cells and s .. (" "):rep(widths[j] - text_width(s)) or s
    end
    lines[i] = (table.concat(parts, "  "):gsub(" +$", ""))
  end
  return table.concat(lines, "\n")
end

-- pam.pretty(v, [opts]) -> text for people, as the interactive shell
-- prints values (lua/pretty.lua).  Loaded on the first call, so that a
-- script that never asks for it does not pay for it at start-up.
function pam.pretty(value, opts) return require("pretty")(value, opts) end

return pam
