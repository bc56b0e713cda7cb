#!/usr/bin/env pamsh
-- pam.json, pam.csv and pam.table: the output helpers.  No network.
package.path = arg[0]:match("(.*/)") .. "?.lua;" .. package.path
local t = require "tap"
local cjson = require "cjson"

-- an error raised by fn(...), with its kind and message
local function failure(fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then return nil, "no error" end
  if type(err) ~= "table" then return nil, tostring(err) end
  return err.kind, tostring(err.message)
end

------------------------------------------------------------------ pam.json
t.is(pam.json({ b = 1, a = 2, c = { z = true, y = false } }, { compact = true }),
     '{"a":2,"b":1,"c":{"y":false,"z":true}}', "json: keys sorted, nested, compact")
local one, two = {}, {}
for _, k in ipairs { "delta", "alpha", "charlie", "bravo", "echo" } do one[k] = #k end
for _, k in ipairs { "echo", "bravo", "alpha", "delta", "charlie" } do two[k] = #k end
t.is(pam.json(one), pam.json(two), "json: the same table gives the same text whatever the insertion order")
t.is(pam.json({ name = "x", list = { 1, 2, { k = "v" } }, empty = {} }),
     '{\n  "empty": {},\n  "list": [\n    1,\n    2,\n    {\n      "k": "v"\n    }\n  ],\n  "name": "x"\n}',
     "json: two-space indentation by default")
t.is(pam.json({ 42, 1.5, 3.0, 0.1, -7 }, { compact = true }), "[42,1.5,3,0.1,-7]",
     "json: integers, floats, integral floats, shortest round-trip text")
t.is(pam.json({ cjson.null, true, false, "s" }, { compact = true }), '[null,true,false,"s"]',
     "json: null, booleans, strings")
t.is(pam.json('quote " backslash \\ nl \n cr \r tab \t bell \a nul \0 é✓'),
     [["quote \" backslash \\ nl \n cr \r tab \t bell \u0007 nul \u0000 é✓"]],
     "json: escaping of quotes, backslashes and control characters; UTF-8 kept")
t.is(pam.json({ [1] = "a", [3] = "c" }, { compact = true }), '{"1":"a","3":"c"}',
     "json: a sparse array becomes an object with string keys")
local nested = { id = 7, tags = { "x", "y" }, meta = { deep = { deeper = { 1, { n = "é" } } } } }
local back = cjson.decode(pam.json(nested))
t.ok(back.id == 7 and back.tags[2] == "y" and back.meta.deep.deeper[2].n == "é",
     "json: output parses back (cjson) to the same structure")

-- secrets
local rec = { name = "db", fields = { User = "u", Password = pam.secret("S3cr3t-json") } }
local kind, msg = failure(pam.json, rec)
t.is(kind, "usage", "json: a secret is refused with a usage error")
t.like(msg, "reveal", "json: the message says to reveal it")
t.like(msg, "%.fields%.Password", "json: the message names where the secret is")
t.unlike(msg, "S3cr3t", "json: the message does not contain the secret")
t.is(pam.json(rec.fields, { compact = true, redact = true }), '{"Password":"[REDACTED]","User":"u"}',
     "json: opts.redact writes [REDACTED]")
t.is(pam.json(rec.fields, { compact = true, reveal = true }), '{"Password":"S3cr3t-json","User":"u"}',
     "json: opts.reveal writes the value, on purpose")
t.is(pam.json({ p = rec.fields.Password:reveal() }, { compact = true }), '{"p":"S3cr3t-json"}',
     "json: a revealed secret is an ordinary string")

-- cjson.encode: a secret is refused like pam.json refuses it
kind, msg = failure(cjson.encode, rec)
t.is(kind, "usage", "cjson.encode: a secret is refused with a usage error")
t.like(msg, "^cjson%.encode: %.fields%.Password is a pam%.secret and cannot be encoded as JSON; call :reveal%(%)",
       "cjson.encode: the message names where and says to reveal it")
t.unlike(msg, "S3cr3t", "cjson.encode: the message does not contain the secret")
local loop = { name = "x" }
loop.self = loop
loop.list = { loop, { deep = { pw = pam.secret("S3cr3t-loop") } } }
kind, msg = failure(cjson.encode, loop)
t.is(kind, "usage", "cjson.encode: a secret inside a cyclic table is found")
t.like(msg, "^cjson%.encode: %.list%[2%]%.deep%.pw is a pam%.secret", "cjson.encode: the path through arrays")
local plain_loop = {}
plain_loop.again = plain_loop
local ok, err = pcall(cjson.encode, plain_loop)
t.ok(not ok and type(err) == "string" and err:find("nesting"), "cjson.encode: a cycle without secrets keeps cjson's own error")
kind, msg = failure(cjson.encode, { [pam.secret("S3cr3t-key")] = 1 })
t.is(kind, "usage", "cjson.encode: a secret as a key is refused too")
t.unlike(msg, "S3cr3t", "cjson.encode: a secret key is not shown")
t.is(require("cjson").encode, cjson.encode, "require \"cjson\" is the same wrapped module")
local safe = require "cjson.safe"
local none, why = safe.encode(rec)
t.ok(none == nil and why:find("^cjson%.encode: %.fields%.Password is a pam%.secret"), "cjson.safe.encode: nil and the message")
t.is(select("#", safe.encode({ 1 })), 1, "cjson.safe.encode: one result on success, as before")

-- cycles and other refusals
local cyc = { a = {} }
cyc.a.back = cyc
kind, msg = failure(pam.json, cyc)
t.is(kind, "usage", "json: a cycle is a usage error")
t.like(msg, "cycle", "json: the message names the cycle")
local shared = { 1 }
t.is(pam.json({ x = shared, y = shared }, { compact = true }), '{"x":[1],"y":[1]}',
     "json: a table used twice (not a cycle) is fine")
t.is((failure(pam.json, { f = print })), "usage", "json: a function is refused")
t.is((failure(pam.json, { 0 / 0 })), "usage", "json: NaN is refused")
t.is((failure(pam.json, { [true] = 1 })), "usage", "json: a boolean key is refused")
t.is((failure(pam.json, {}, "compact")), "usage", "json: options must be a table")

------------------------------------------------------------------ pam.csv
local cols = { "id", "name", "note" }
t.is(pam.csv({ { id = 1, name = "plain", note = "x" } }, cols),
     "id,name,note\r\n1,plain,x\r\n", "csv: header row, CRLF after every line")
t.is(pam.csv({}, cols), "id,name,note\r\n", "csv: no rows, the header alone")
t.is(pam.csv({
  { id = 1, name = "a,b", note = 'say "hi"' },
  { id = 2, name = "line\nbreak", note = "cr\rhere" },
  { id = 3, name = " spaced ", note = "" },
}, cols),
  'id,name,note\r\n1,"a,b","say ""hi"""\r\n2,"line\nbreak","cr\rhere"\r\n3, spaced ,\r\n',
  "csv: comma, quote, LF and CR quoted, quotes doubled; spaces kept as they are")
t.is(pam.csv({ { id = 1 }, { id = 2, name = cjson.null, note = false } }, cols),
     "id,name,note\r\n1,,\r\n2,,false\r\n", "csv: nil and JSON null are empty cells")
t.is(pam.csv({ { id = "i-2qhyGh2UB0V", n = 2.5, big = 1e3 } },
             { "id", { key = "n", title = "Number, real" }, { key = "big" } }),
     'id,"Number, real",big\r\ni-2qhyGh2UB0V,2.5,1000\r\n', "csv: {key=, title=} columns; titles quoted too")
t.is(pam.csv({ { t = { b = 1, a = "x" } } }, { "t" }), 't\r\n"{""a"":""x"",""b"":1}"\r\n',
     "csv: a table cell is compact JSON, quoted")
kind, msg = failure(pam.csv, { { id = 1, pw = pam.secret("S3cr3t-csv") } }, { "id", "pw" })
t.is(kind, "usage", "csv: a secret cell is a usage error")
t.like(msg, "reveal", "csv: the message says to reveal it")
t.like(msg, "row 1, column 'pw'", "csv: the message names row and column")
t.unlike(msg, "S3cr3t", "csv: the message does not contain the secret")
t.is(pam.csv({ { pw = pam.secret("S3cr3t-csv"):reveal() } }, { "pw" }), "pw\r\nS3cr3t-csv\r\n",
     "csv: a revealed secret is written")
t.is((failure(pam.csv, { { t = { pam.secret("x") } } }, { "t" })), "usage",
     "csv: a secret inside a table cell is refused too")
t.is((failure(pam.csv, {}, {})), "usage", "csv: no columns is a usage error")
t.is((failure(pam.csv, "rows", cols)), "usage", "csv: rows must be a table")
t.is((failure(pam.csv, { "not a row" }, cols)), "usage", "csv: each row must be a table")

------------------------------------------------------------------ pam.table
local rows = {
  { id = 42, name = "db-prod", type = "Database" },
  { id = "i-2qhyGh2UB0V", name = "legacy", type = "Generic Account" },
  { id = 7, name = nil, type = "Linux" },
}
t.is(pam.table(rows, { "id", "name", "type" }), table.concat({
  "id             name     type",
  "-------------  -------  ---------------",
  "42             db-prod  Database",
  "i-2qhyGh2UB0V  legacy   Generic Account",
  "7                       Linux",
}, "\n"), "table: header, rule, left-aligned columns, nil empty, no trailing newline")
local out = pam.table({ { u = "root", p = pam.secret("S3cr3t-table") } },
                      { { key = "u", title = "User" }, { key = "p", title = "Password" } })
t.is(out, "User  Password\n----  ----------\nroot  [REDACTED]", "table: secrets shown as [REDACTED], titles")
t.unlike(out, "S3cr3t", "table: the secret value is not in the output")
t.unlike(pam.table({ { x = { p = pam.secret("S3cr3t-nested") } } }, { "x" }), "S3cr3t",
         "table: a secret inside a table cell is redacted")
t.is(pam.table({ { a = "é✓", b = 1 }, { a = "abc", b = 2 } }, { "a", "b" }),
     "a    b\n---  -\né✓   1\nabc  2", "table: UTF-8 text measured in characters")
t.is(pam.table({ { a = "日本", b = 1 }, { a = "abcde", b = 2 } }, { "a", "b" }),
     "a      b\n-----  -\n日本   1\nabcde  2", "table: wide characters take two columns")
t.is(pam.table({ { a = "two\nlines\tand tab", b = "x" } }, { "a", "b" }),
     "a                    b\n-------------------  -\ntwo\\nlines\\tand tab  x",
     "table: control characters escaped, alignment kept")
local lines_ok = true
for line in (pam.table(rows, { "name", "id" }) .. "\n"):gmatch("(.-)\n") do
  if line:find(" $") then lines_ok = false end
end
t.ok(lines_ok, "table: no line ends in spaces")
t.is(pam.table({}, { "id", "name" }), "id  name\n--  ----", "table: no rows, header and rule")
t.is((failure(pam.table, rows, { { title = "no key" } })), "usage", "table: a column without key is a usage error")

t.done()
