-- repl.lua - the Lua half of the interactive shell (core/repl.c is the
-- other): the banner, the dot commands, printing results, tab-completion
-- candidates and the history filter.  The C side owns the terminal, the
-- history file and the signals; everything here runs under lua_pcall.

local core = require "pam.core"
local pretty = require "pretty"

local repl = {}

local info = {}   -- from repl.setup: login, user, history

function repl.setup(t) info = t or {} end

local function out(...)
  io.stdout:write(...)
  io.stdout:flush()
end

-- The banner is for the operator: it goes where the prompt goes, to
-- standard error when standard output is not a terminal (pamsh | tee
-- log) and standard error is (core/repl.c's editor_stream).
local function say(...)
  local f = io.stdout
  if not core.isatty(1) and core.isatty(2) then f = io.stderr end
  f:write(...)
  f:flush()
end

-- ---------------------------------------------------------------- times

local function when(epoch)
  if math.type(epoch) ~= "integer" then return "unknown" end
  local left = epoch - os.time()
  local d = math.abs(left)
  local span = d < 120 and ("%d s"):format(d)
    or d < 7200 and ("%d min"):format(d // 60)
    or ("%d h %d min"):format(d // 3600, d % 3600 // 60)
  local rel = left >= 0 and "in " .. span or span .. " ago"
  return os.date("!%Y-%m-%d %H:%M:%S UTC", epoch) .. " (" .. rel .. ")"
end

local function rows(list, write)
  write = write or out
  local w = 0
  for _, r in ipairs(list) do w = math.max(w, #r[1]) end
  for _, r in ipairs(list) do
    write(r[1], (" "):rep(w - #r[1] + 2), tostring(r[2]), "\n")
  end
end

-- ---------------------------------------------------------------- banner

-- Everything here is local: the settings, the environment and the
-- identity source's name.  No token is fetched and no request is sent
-- before the operator asks for one.
function repl.banner()
  local v = core.versions()
  local s = core.settings()
  local ident
  if info.login == "cas" then
    ident = info.user and ("CAS login as " .. info.user) or "CAS login with the API token (PAMSH_API_TOKEN)"
  else
    local ok, src = pcall(core.identity_source)
    if ok and type(src) == "table" then
      ident = ("%s (%s): %s"):format(src.source or "?", src.title or "?", src.why or "?")
    else
      ident = "unknown: " .. tostring(src)
    end
  end
  say(("pamsh %s (%s), interactive\n"):format(v.pamsh, v.lua))
  rows({
    { "PAM", s.url or "(no --url)" },
    { "identity", ident },
  }, say)
  say("Type .help for commands and tips, Ctrl-D to leave.\n")
end

-- ---------------------------------------------------------------- results

-- the values a line returned, pretty-printed, separated by tabs
function repl.show(...)
  local n = select("#", ...)
  if n == 0 then return end
  local parts = {}
  for i = 1, n do parts[i] = pretty((select(i, ...))) end
  out(table.concat(parts, "\t"), "\n")
end

-- ---------------------------------------------------------------- errors

local function stderr_color()
  local nc = os.getenv("NO_COLOR")
  if nc and nc ~= "" then return false end
  local term = os.getenv("TERM")
  return term ~= nil and term ~= "" and term ~= "dumb" and core.isatty(2) == true
end

-- An error as one line (our error objects: "error: GET /rest/...: HTTP
-- 404 Not Found") or, for other errors, the message and traceback the
-- message handler made.
function repl.error_text(e)
  local text
  if type(e) == "table" and type(rawget(e, "kind")) == "string" then
    local ok, s = pcall(tostring, e)
    text = ok and type(s) == "string" and s or ("(%s error)"):format(e.kind)
    if e.kind ~= "interrupted" and e.kind ~= "deadline" then text = "error: " .. text end
  elseif type(e) == "string" then
    text = e
  else
    text = ("(error object is a %s value)"):format(type(e))
  end
  if stderr_color() then text = "\27[31m" .. text .. "\27[0m" end
  return text
end

-- ---------------------------------------------------------------- commands

local COMMANDS = {
  { ".help", "this text" },
  { ".login", "log in to PAM now (pam_login()) and show the session" },
  { ".whoami", "the managed identity's token: audience, object id, app id, tenant, expiry" },
  { ".quit", "leave the shell (also Ctrl-D)" },
}

local function help()
  out("Commands:\n")
  for _, c in ipairs(COMMANDS) do out(("  %-9s %s\n"):format(c[1], c[2])) end
  out([[
Tips:
  An expression prints its value: pam.unlock(42).fields
  A statement runs: rec = pam.unlock(42); an unfinished one continues on
    the next line.
  Tab completes globals, keywords and fields (pam., string., rec.), and
    REST paths inside a string: pam.get("/rest/<Tab>
  Secrets show as [REDACTED]; s:reveal() gives the value.
  print(s) shows a string as it is; pam.pretty(v, {depth = 10}) goes deeper.
  pam.json(v) gives JSON, pam.table(rows, columns) a table for people.
  Ctrl-C stops a running request (the session stays) or clears the line.
]])
  if info.history then
    out("History: ", info.history, "\n",
        "  Not written there: lines holding a JWT, a reveal, a value revealed\n",
        "  before, a pam.secret(...), an assignment to a name containing\n",
        "  password, secret or token, or starting with a space.\n")
  else
    out("History: not saved (no writable state directory).\n")
  end
end

local function login()
  local i = core.pam_login()
  local src = i.source and (", identity " .. i.source) or ""
  local exp = i.expires_on and (", token expires " .. when(i.expires_on)) or ""
  out(("logged in to %s%s%s\n"):format(i.url or "?", src, exp))
end

local function whoami()
  if info.login == "cas" then
    out("this session logs in with CAS (--login cas), not with a managed identity\n")
    return
  end
  local _, t = core.imds_token()
  local c = type(t.claims) == "table" and t.claims or {}
  local function claim(k)
    local v = c[k]
    if v == nil then return "-" end
    return tostring(v)
  end
  rows {
    { "source", t.source or "-" },
    { "audience", claim("aud") },
    { "object id", claim("oid") },
    { "app id", claim("appid") },
    { "tenant", claim("tid") },
    { "xms_mirid", claim("xms_mirid") },
    { "expires", when(math.tointeger(t.expires_on) or math.tointeger(c.exp)) },
  }
end

-- repl.command(".name args") -> "quit" to leave, else nothing
function repl.command(line)
  local name = line:match("^%s*(%.%a+)")
  if name == ".help" then help()
  elseif name == ".login" then login()
  elseif name == ".whoami" then whoami()
  elseif name == ".quit" or name == ".exit" then return "quit"
  else
    error(core.error { kind = "usage",
                       message = ("unknown command %s; .help lists the commands"):format(name or line) }, 0)
  end
end

-- ---------------------------------------------------------------- history

-- The values :reveal() gave out in this session.  The secrets' method
-- table is shared by all of them, so wrapping its reveal here sees every
-- call (pam.json's {reveal = true} too).  A line that holds one of these
-- values (a password pasted back in after it was shown) is kept out of
-- the history file, whatever its length: erring on the side of not
-- saving is fine.
local revealed = {}
do
  local mt = getmetatable(core.secret("x"))
  local methods = type(mt) == "table" and rawget(mt, "__index")
  local reveal = type(methods) == "table" and rawget(methods, "reveal")
  if type(reveal) == "function" then
    methods.reveal = function(s)
      local v = reveal(s)
      if type(v) == "string" and v ~= "" then revealed[v] = true end
      return v
    end
  end
end

local function holds_revealed(chunk)
  for v in pairs(revealed) do
    if chunk:find(v, 1, true) then return true end
  end
  return false
end

-- Lines that must not reach the history file: a JWT (eyJ...), anything
-- that mentions reveal (s:reveal(), pam.json(x, {reveal = true})) or
-- holds a value revealed earlier in the session, a
-- secret made from a literal (pam.secret("...")), an assignment whose
-- left side names a password, secret or token (local password = "x",
-- t.api_token = ..., {password = "x"}, t["Secret"] = ...), and, as in
-- shells, a line that starts with a space.  The left side runs back from
-- the "=" to the start of the statement or constructor; erring on the
-- side of not saving is fine.
function repl.history_ok(chunk)
  if chunk:find("^[ \t]") then return false end
  if chunk:find("eyJ[%w_%-]+%.[%w_%-]+%.") then return false end
  local lower = chunk:lower()
  if lower:find("reveal", 1, true) or holds_revealed(chunk) then return false end
  if lower:find("secret%s*[%(\"'{%[]") then return false end
  local pos = 1
  while true do
    local at = chunk:find("=", pos, true)
    if not at then break end
    local before, after = chunk:sub(at - 1, at - 1), chunk:sub(at + 1, at + 1)
    if after == "=" then
      pos = at + 2          -- ==
    else
      if not before:find("[=<>~]") then
        local lhs = chunk:sub(1, at - 1):match("[^;{(]*$"):lower()
        for _, w in ipairs { "password", "secret", "token" } do
          if lhs:find(w, 1, true) then return false end
        end
      end
      pos = at + 1
    end
  end
  return true
end

-- ---------------------------------------------------------------- completion

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in
            local nil not or repeat return then true until while]]):gmatch("%a+") do
  KEYWORDS[#KEYWORDS + 1] = w
end

-- the REST paths pam.lua knows; offered inside a string that starts with "/"
local REST_PATHS = {
  "/rest/folder/list/",
  "/rest/folder/create/",
  "/rest/record/unlock/",
  "/rest/record/new/",
}

-- v[k] without running metamethods other than a plain __index table (the
-- string library for strings, method tables for pam.secret)
local function field(v, k)
  if type(v) == "table" then
    local r = rawget(v, k)
    if r ~= nil then return r end
  end
  local mt = getmetatable(v)
  if type(mt) == "table" then
    local idx = rawget(mt, "__index")
    if type(idx) == "table" then return rawget(idx, k) end
  end
  return nil
end

local function callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__call") ~= nil
end

-- identifier-like field names of v (and of its __index table)
local function names_of(v, methods_only)
  local list, seen = {}, {}
  local function add(t)
    for k, x in next, t do
      if type(k) == "string" and k:match("^[%a_][%w_]*$") and not seen[k]
          and (not methods_only or callable(x)) then
        seen[k] = true
        list[#list + 1] = k
      end
    end
  end
  if type(v) == "table" then add(v) end
  local mt = getmetatable(v)
  if type(mt) == "table" and type(rawget(mt, "__index")) == "table" then add(rawget(mt, "__index")) end
  return list
end

-- Is the end of text inside a quoted string?  Short strings only ("..."
-- and '...', with backslash escapes): the text is one line, and a long
-- string ([[...]]) that starts on it is rare at a prompt.  A comment
-- counts as a string: nothing is offered there either.
local function in_string(text)
  local quote, i = nil, 1
  while i <= #text do
    local c = text:sub(i, i)
    if quote then
      if c == "\\" then i = i + 1
      elseif c == quote then quote = nil end
    elseif c == '"' or c == "'" then
      quote = c
    elseif text:sub(i, i + 1) == "--" then
      return true
    end
    i = i + 1
  end
  return quote ~= nil
end

-- repl.complete(word, before) -> candidates that replace word.  word is
-- what libedit found before the cursor, split at spaces, quotes, brackets
-- and operators other than "." ":" and "/"; before is the text of the
-- line in front of it.  Inside a string only REST paths are offered;
-- outside, Lua names, and the dot commands at the start of the line.
function repl.complete(word, before)
  before = before or ""
  local found = {}
  local function offer(prefix, list, partial)
    for _, name in ipairs(list) do
      if name:sub(1, #partial) == partial then found[#found + 1] = prefix .. name end
    end
  end
  if in_string(before) then
    if word:sub(1, 1) == "/" then offer("", REST_PATHS, word) end
  elseif word:sub(1, 1) == "/" then
    return found
  elseif word:match("^%.%a*$") and before:match("^%s*$") then
    local cmds = {}
    for i, c in ipairs(COMMANDS) do cmds[i] = c[1] end
    offer("", cmds, word)
  else
    local head, expr = word:match("^(.-)([%a_][%w_%.:]*)$")
    if not expr then return found end
    local path, sep, partial = expr:match("^(.-)([%.:])([%w_]*)$")
    if not path then
      offer(head, names_of(_G), expr)
      offer(head, KEYWORDS, expr)
    elseif path:find("^[%a_][%w_]*$") or path:find("^[%a_][%w_]*[%.%w_]*[%w_]$")
        and not path:find("..", 1, true) then
      local v = _G
      for name in path:gmatch("[^.]+") do
        v = field(v, name)
        if v == nil then return found end
      end
      offer(head .. path .. sep, names_of(v, sep == ":"), partial)
    end
  end
  table.sort(found)
  local uniq = {}
  for _, s in ipairs(found) do
    if uniq[#uniq] ~= s then uniq[#uniq + 1] = s end
  end
  return uniq
end

return repl
