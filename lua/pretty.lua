-- pretty.lua - Lua values as text for people: the REPL's printer, and
-- pam.pretty(v, [opts]) for scripts.  docs/scripting.md is the reference.
--
-- Tables are written as Lua table constructors: the array part (1..n) as
-- a list, then the other keys sorted (numbers, then strings, then the
-- rest), short tables on one line, longer ones one entry per line.
-- Nothing here reveals a pam.secret, calls a metamethod that could have
-- side effects (fields are read raw), or fails on odd values: whatever
-- the REPL is asked to show, it shows something.

local core = require "pam.core"
local cjson = require "cjson"

local DEFAULTS = {
  depth = 6,          -- nesting levels shown; deeper tables are {...}
  max_items = 100,    -- entries shown per table; then "... (N more)"
  max_string = 2000,  -- bytes of a string shown; then "..." and its size
  width = 78,         -- a table fits on one line up to this many columns
  indent = 2,         -- spaces per level
}

-- ANSI SGR codes by role
local COLORS = {
  string = "32",      -- green
  number = "36",      -- cyan
  keyword = "35",     -- magenta: nil, true, false, null
  secret = "33",      -- yellow: [REDACTED]
  meta = "90",        -- grey: functions, userdata, <cycle>, ...
}

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in
            local nil not or repeat return then true until while]]):gmatch("%a+") do
  KEYWORDS[w] = true
end

-- Colours only where they can be seen and are wanted: standard output is
-- a terminal, TERM names one that is not "dumb", and NO_COLOR
-- (https://no-color.org) is unset or empty.
local function color_wanted()
  local nc = os.getenv("NO_COLOR")
  if nc and nc ~= "" then return false end
  local term = os.getenv("TERM")
  if not term or term == "" or term == "dumb" then return false end
  return core.isatty(1) == true
end

local ESCAPES = { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n", ["\r"] = "\\r",
                  ["\t"] = "\\t", ["\a"] = "\\a", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\v"] = "\\v" }

-- A string as a Lua literal that reads back as the same bytes.  Valid
-- UTF-8 passes through (names, descriptions in any language); in a string
-- that is not, every byte above 127 is escaped so that the terminal shows
-- what is really there.
local function quote(s)
  local pat = utf8.len(s) and '[%c"\\]' or '[%c"\\\128-\255]'
  return '"' .. s:gsub(pat, function(c)
    return ESCAPES[c] or ("\\x%02X"):format(c:byte())
  end) .. '"'
end

local function number_text(v)
  if v ~= v then return "0/0" end
  if v == math.huge then return "math.huge" end
  if v == -math.huge then return "-math.huge" end
  return tostring(v)
end

-- tostring() that cannot fail: a __tostring that errors or returns a
-- non-string falls back to the type name
local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return type(v)
end

-- sort order of keys: numbers, then strings, then booleans, then the rest
local RANK = { number = 1, string = 2, boolean = 3 }

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    local ra, rb = RANK[ta] or 4, RANK[tb] or 4
    if ra ~= rb then return ra < rb end
    return ta < tb
  end
  if ta == "number" or ta == "string" then return a < b end
  if ta == "boolean" then return b and not a end
  return safe_tostring(a) < safe_tostring(b)
end

-- the width of text on the screen: colour codes take none
local function visible_width(s)
  s = s:gsub("\27%[[%d;]*m", "")
  return utf8.len(s) or #s
end

local function check_opts(opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    error(core.error { kind = "usage",
                       message = "pam.pretty: options must be a table, not " .. type(opts) }, 0)
  end
  local o = {}
  for k, default in pairs(DEFAULTS) do
    local v = opts[k]
    if v == nil then
      o[k] = default
    else
      v = math.tointeger(v)
      if not v or v < 0 then
        error(core.error { kind = "usage",
                           message = ("pam.pretty: opts.%s must be an integer >= 0"):format(k) }, 0)
      end
      o[k] = v
    end
  end
  if opts.color == nil then o.color = color_wanted() else o.color = not not opts.color end
  return o
end

-- pretty(value, [opts]) -> string
local function pretty(value, opts)
  local o = check_opts(opts)
  local pad = (" "):rep(o.indent)
  local on_path = {}   -- tables being written: meeting one again is a cycle

  local paint = function(_, s) return s end
  if o.color then
    paint = function(role, s) return "\27[" .. COLORS[role] .. "m" .. s .. "\27[0m" end
  end

  local function string_text(s)
    if #s <= o.max_string then return paint("string", quote(s)) end
    -- cut at a character boundary, not inside a UTF-8 sequence
    local cut = o.max_string
    while cut > 0 and (s:byte(cut + 1) or 0) & 0xC0 == 0x80 do cut = cut - 1 end
    return paint("string", quote(s:sub(1, cut))) .. paint("meta", ("... (%d bytes)"):format(#s))
  end

  local function scalar(v)
    local t = type(v)
    if t == "string" then return string_text(v) end
    if t == "number" then return paint("number", number_text(v)) end
    if t == "nil" or t == "boolean" then return paint("keyword", tostring(v)) end
    if core.is_secret(v) then return paint("secret", "[REDACTED]") end
    if v == cjson.null then return paint("keyword", "null") end
    return paint("meta", safe_tostring(v))
  end

  local function key_text(k)
    if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then return k end
    return "[" .. scalar(k) .. "]"
  end

  local render

  local function render_table(t, depth, indent)
    if on_path[t] then return paint("meta", "<cycle>") end
    if next(t) == nil then return "{}" end
    if depth >= o.depth then return paint("meta", "{...}") end
    on_path[t] = true
    local inner = indent .. pad
    -- the array part: 1..n without a hole
    local n = 0
    while rawget(t, n + 1) ~= nil do n = n + 1 end
    local keys = {}
    for k in next, t do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
    end
    pcall(table.sort, keys, key_less)  -- odd keys may refuse an order: keep theirs
    local items, shown = {}, 0
    for i = 1, n do
      if shown >= o.max_items then break end
      items[#items + 1] = render(rawget(t, i), depth + 1, inner)
      shown = shown + 1
    end
    for _, k in ipairs(keys) do
      if shown >= o.max_items then break end
      items[#items + 1] = key_text(k) .. " = " .. render(rawget(t, k), depth + 1, inner)
      shown = shown + 1
    end
    local total = n + #keys
    if total > shown then
      items[#items + 1] = paint("meta", ("... (%d more)"):format(total - shown))
    end
    on_path[t] = nil
    local line = "{ " .. table.concat(items, ", ") .. " }"
    if not line:find("\n", 1, true) and #indent + visible_width(line) <= o.width then
      return line
    end
    return "{\n" .. inner .. table.concat(items, ",\n" .. inner) .. "\n" .. indent .. "}"
  end

  function render(v, depth, indent)
    if type(v) == "table" then return render_table(v, depth, indent) end
    return scalar(v)
  end

  return render(value, 0, "")
end

return pretty
