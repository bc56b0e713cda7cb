#!/usr/bin/env pamsh
-- import-records.lua - create records in a folder from a CSV file.
--
-- Usage:  pamsh [--dry-run] scripts/import-records.lua FILE.csv FOLDER TYPE
--   FILE.csv  RFC 4180 CSV ("-" reads standard input): a header row, then
--             one record per row.  Quoted fields may hold commas, doubled
--             quotes and line breaks; lines may end in CRLF or LF; a UTF-8
--             byte order mark is ignored.  Columns: `name` (required),
--             `description` (optional; both matched case-insensitively),
--             every other column becomes a field of the record (its
--             `custom` JSON), named as in the header (surrounding spaces
--             trimmed).  Empty cells are left out of the record.
--   FOLDER    the folder id to create the records in
--   TYPE      the record type id (e.g. 3 Linux, 5 Database on the simulator)
-- The whole file is checked before anything is sent: a malformed file (an
-- unclosed quote, a row with the wrong number of fields, an empty name,
-- duplicate columns) is a usage error (exit 2) naming the line, and
-- nothing is created.
-- Output: "created <id> <name>" or "failed <name>: <error>" per record,
-- then "3 records: 2 created, 1 failed".  With pamsh --dry-run nothing is
-- sent: "would create <name>" per record, then "3 records: 3 would be
-- created".  Field values (passwords) are never printed; tabs, line
-- breaks and backslashes in names are written as \t, \n and \\.
--
-- Example:
--   printf 'name,Host,User,Password\ndb-test,"db.corp, test",admin,"p""w"\n' > new.csv
--   pamsh --dry-run scripts/import-records.lua new.csv 3 5
--   pamsh scripts/import-records.lua new.csv 3 5
-- Exit: 0 all created; 4 when any record failed; 3 when the login is
-- refused (the import stops there); 2 usage.

local core = pam.core

local function usage(msg)
  error(core.error { kind = "usage", message = msg ..
    " (usage: pamsh import-records.lua FILE.csv FOLDER TYPE)" }, 0)
end

-- names go on one line each: tabs, line breaks and backslashes escaped
local function one_line(s)
  return (tostring(s):gsub("[\\\t\n\r]", { ["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r" }))
end

-- RFC 4180 parser: returns an array of rows, each an array of fields
-- with .line the line number where the row starts.  Also accepts LF line
-- ends (files edited on Unix) and no line end after the last row.
local function parse_csv(text, file)
  local rows, pos, line, len = {}, 1, 1, #text
  local function bad(at, msg) usage(("%s line %d: %s"):format(file, at, msg)) end
  while pos <= len do
    local row, start = { line = line }, line
    while true do
      local c = text:sub(pos, pos)
      local field
      if c == '"' then
        -- quoted: runs to the next quote not doubled
        local buf, i = {}, pos + 1
        while true do
          local q = text:find('"', i, true)
          if not q then bad(start, "a quoted field is not closed") end
          local chunk = text:sub(i, q - 1)
          buf[#buf + 1] = chunk
          local _, nl = chunk:gsub("\n", "")
          line = line + nl
          if text:sub(q + 1, q + 1) == '"' then
            buf[#buf + 1] = '"'
            i = q + 2
          else
            pos = q + 1
            break
          end
        end
        field = table.concat(buf)
        local after = text:sub(pos, pos)
        if after ~= "," and after ~= "\r" and after ~= "\n" and after ~= "" then
          bad(line, "text after a closing quote (quote the whole field, double inner quotes)")
        end
      else
        local e = text:find("[,\r\n]", pos) or len + 1
        field = text:sub(pos, e - 1)
        if field:find('"', 1, true) then
          bad(line, "a quote inside an unquoted field (quote the whole field, double inner quotes)")
        end
        pos = e
      end
      row[#row + 1] = field
      local sep = text:sub(pos, pos)
      if sep == "," then
        pos = pos + 1
      else
        -- end of the row: CRLF, LF, a lone CR, or the end of the text
        if sep == "\r" then pos = pos + 1 end
        if text:sub(pos, pos) == "\n" then pos = pos + 1 end
        if sep ~= "" then line = line + 1 end
        break
      end
    end
    -- a blank line is no record
    if not (#row == 1 and row[1] == "") then rows[#rows + 1] = row end
  end
  return rows
end

local file, folder, type_id = arg[1], arg[2], arg[3]
if not (file and folder and type_id) then usage("three arguments needed") end
if file == "" or folder == "" or type_id == "" then usage("empty argument") end
if arg[4] then usage("too many arguments") end
folder = math.tointeger(tonumber(folder)) or folder
type_id = math.tointeger(tonumber(type_id)) or type_id

local text
if file == "-" then
  text = io.read("a")
else
  local f, why = io.open(file, "rb")
  if not f then usage("cannot read " .. why) end
  text = f:read("a")
  f:close()
end
text = text:gsub("^\239\187\191", "")      -- UTF-8 byte order mark

local rows = parse_csv(text, file)
local header = table.remove(rows, 1)
if not header then usage(file .. " is empty: a header row with a name column is needed") end

-- columns: which one is the name, the description, and the rest fields
local name_col, desc_col, field_cols, seen = nil, nil, {}, {}
for i, h in ipairs(header) do
  h = h:match("^%s*(.-)%s*$")
  if h == "" then usage(("%s line 1: column %d has no name"):format(file, i)) end
  if seen[h:lower()] then usage(("%s line 1: column %q appears twice"):format(file, h)) end
  seen[h:lower()] = true
  if h:lower() == "name" then name_col = i
  elseif h:lower() == "description" then desc_col = i
  else field_cols[#field_cols + 1] = { index = i, name = h } end
end
if not name_col then usage(file .. ": no name column in the header") end

local records = {}
for _, row in ipairs(rows) do
  if #row ~= #header then
    usage(("%s line %d: %d fields, the header has %d"):format(file, row.line, #row, #header))
  end
  local name = row[name_col]
  if not name:find("%S") then usage(("%s line %d: the name is empty"):format(file, row.line)) end
  local fields = {}
  for _, c in ipairs(field_cols) do
    if row[c.index] ~= "" then fields[c.name] = row[c.index] end
  end
  records[#records + 1] = { name = name, fields = fields,
                            description = desc_col and row[desc_col] or nil }
end

local created, failed, planned = 0, 0, 0
for _, r in ipairs(records) do
  local ok, res = pcall(pam.create_record, folder, type_id, r.name, r.fields, r.description)
  if ok and res.dry_run then
    -- pamsh --dry-run: the request was shown on stderr, not sent
    planned = planned + 1
    print("would create " .. one_line(r.name))
  elseif ok then
    created = created + 1
    print(("created %s %s"):format(one_line(res.id), one_line(r.name)))
  else
    -- no later record can succeed without a session: stop here (exit 3)
    if type(res) == "table" and res.kind == "auth" then error(res, 0) end
    failed = failed + 1
    print(("failed %s: %s"):format(one_line(r.name), one_line(res)))
  end
end

local function plural(n) return ("%d record%s"):format(n, n == 1 and "" or "s") end
if planned > 0 then
  print(("%s: %d would be created"):format(plural(#records), planned))
else
  print(("%s: %d created, %d failed"):format(plural(#records), created, failed))
end
if failed > 0 then
  io.stdout:flush()
  error(core.error { kind = "http", message = ("%d of %s could not be created")
    :format(failed, plural(#records)) }, 0)
end
