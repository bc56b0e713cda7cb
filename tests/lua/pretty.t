#!/usr/bin/env pamsh
-- The pretty-printer (lua/pretty.lua): what the REPL shows and scripts get
-- as pam.pretty.  No network.
package.path = arg[0]:match("(.*/)") .. "?.lua;" .. package.path
local t = require "tap"
local cjson = require "cjson"

-- pam.pretty in a script: lua/pretty.lua is loaded on the first call, not
-- at start-up
t.is(package.loaded.pretty, nil, "the pretty-printer is not loaded at start-up")
t.is(type(pam.pretty), "function", "scripts have pam.pretty")
t.is(pam.pretty({ b = 2, a = { 1, "x" } }), '{ a = { 1, "x" }, b = 2 }', "pam.pretty(v) in a script")
t.is(type(package.loaded.pretty), "function", "loaded by the first call")
t.is(pam.pretty({ a = { b = {} } }, { depth = 1 }), "{ a = {...} }", "pam.pretty passes the options on")
t.is(pam.pretty(pam.secret("S3cr3t-script")), "[REDACTED]", "pam.pretty redacts secrets")
local perr = t.raises(pam.pretty, "pam.pretty: bad options", 1, "deep")
t.is(type(perr) == "table" and perr.kind, "usage", "pam.pretty: bad options are a usage error")

local pretty = require "pretty"
t.is(type(pretty), "function", "require 'pretty' is a function")

-- scalars
t.is(pretty(42), "42", "integer")
t.is(pretty(1.5), "1.5", "float")
t.is(pretty(2.0), "2.0", "integral float keeps its .0")
t.is(pretty(math.huge), "math.huge", "infinity")
t.is(pretty(0 / 0), "0/0", "NaN")
t.is(pretty(nil), "nil", "nil")
t.is(pretty(true), "true", "boolean")
t.is(pretty(cjson.null), "null", "cjson.null is null")
t.like(pretty(print), "^function: ", "function")
t.like(pretty(io.stdout), "^file %(", "userdata through tostring")

-- strings: quoted, escaped so that they read back
t.is(pretty("db-prod"), '"db-prod"', "strings quoted")
t.is(pretty('say "hi"\n\tand \\ go'), [["say \"hi\"\n\tand \\ go"]], "quotes, newlines, tabs, backslashes escaped")
t.is(pretty("a\0b\27c"), [["a\x00b\x1Bc"]], "control characters as \\xNN")
t.is(pretty("h\xc3\xa9"), '"h\xc3\xa9"', "valid UTF-8 passes through")
t.is(pretty("h\xe9"), [["h\xE9"]], "invalid UTF-8 escaped")
t.is(load("return " .. pretty('x"\n\\\0\255'))(), 'x"\n\\\0\255', "a quoted string reads back as itself")
local long = pretty(("x"):rep(3000))
t.like(long, '^"' .. ("x"):rep(2000) .. '"%.%.%. %(3000 bytes%)$', "long strings cut at max_string, with their size")
t.is(pretty("abcdef", { max_string = 3 }), '"abc"... (6 bytes)', "max_string option")
t.is(pretty("\xc3\xa9\xc3\xa9", { max_string = 3 }), '"\xc3\xa9"... (4 bytes)', "cut between UTF-8 characters")

-- tables
t.is(pretty({}), "{}", "empty table")
t.is(pretty({ 1, 2, 3 }), "{ 1, 2, 3 }", "arrays as lists")
t.is(pretty({ b = 1, a = 2, c = 3 }), "{ a = 2, b = 1, c = 3 }", "keys sorted")
t.is(pretty({ "x", "y", n = 2 }), '{ "x", "y", n = 2 }', "array part first, then keys")
t.is(pretty({ 1, nil, 3 }), "{ 1, [3] = 3 }", "a hole ends the list")
t.is(pretty({ [10] = "a", [9] = "b", [2.5] = "c" }), '{ [2.5] = "c", [9] = "b", [10] = "a" }',
     "numeric keys in numeric order")
t.is(pretty({ ["a b"] = 1, ["end"] = 2, [true] = 3, z = 4, [1] = 5 }),
     '{ 5, ["a b"] = 1, ["end"] = 2, z = 4, [true] = 3 }',
     "numbers, then strings, then booleans; keys that are not names in brackets")
t.is(pretty({ a = { b = { c = 1 } } }), "{ a = { b = { c = 1 } } }", "nested tables")
t.is(pretty({ id = 1, description = ("x"):rep(80) }),
     '{\n  description = "' .. ("x"):rep(80) .. '",\n  id = 1\n}',
     "a table too wide for one line: one entry per line, indented")
t.is(pretty({ outer = { id = 1, text = ("y"):rep(80) } }),
     '{\n  outer = {\n    id = 1,\n    text = "' .. ("y"):rep(80) .. '"\n  }\n}',
     "nested indentation")
t.is(pretty({ 1, 2, 3 }, { width = 5 }), "{\n  1,\n  2,\n  3\n}", "width option")
t.is(pretty({ 1, 2, 3 }, { width = 5, indent = 4 }), "{\n    1,\n    2,\n    3\n}", "indent option")

-- limits
t.is(pretty({ a = { b = { c = {} } } }, { depth = 2 }), "{ a = { b = {...} } }", "depth limit")
t.is(pretty({ 1 }, { depth = 0 }), "{...}", "depth 0")
t.is(pretty({ a = {} }, { depth = 1 }), "{ a = {} }", "an empty table is shown at the limit")
local deep = {}
local cur = deep
for _ = 1, 50 do cur.next = {} cur = cur.next end
t.like(pretty(deep), "{%.%.%.}", "default depth limit")
t.is(pretty({ 1, 2, 3, 4, 5 }, { max_items = 3 }), "{ 1, 2, 3, ... (2 more) }", "size limit")
t.is(pretty({ a = 1, b = 2, c = 3 }, { max_items = 1 }), "{ a = 1, ... (2 more) }", "size limit on keys")
local big = {}
for i = 1, 500 do big[i] = i end
t.like(pretty(big), "%.%.%. %(400 more%)", "default size limit")

-- cycles and shared tables
local c = { name = "c" }
c.self = c
t.is(pretty(c), '{ name = "c", self = <cycle> }', "cycle marked")
local a, b = {}, {}
a.b, b.a = b, a
t.is(pretty(a), "{ b = { a = <cycle> } }", "longer cycle marked")
local shared = { 1 }
t.is(pretty({ x = shared, y = shared }), "{ x = { 1 }, y = { 1 } }", "a shared table is not a cycle")

-- secrets
local s = pam.secret("S3cr3t-pretty")
t.is(pretty(s), "[REDACTED]", "a secret is [REDACTED]")
local shown = pretty({ Password = s, list = { s }, [s] = 1 })
t.is(shown, '{ Password = [REDACTED], list = { [REDACTED] }, [[REDACTED]] = 1 }',
     "secrets inside tables, as values and keys")
t.unlike(shown, "S3cr3t", "the secret's value never appears")

-- metatables are not consulted
local err = pam.core.error { kind = "usage", message = "m" }
t.is(pretty(err), '{ kind = "usage", message = "m" }', "an error object shows its fields")
local trap = setmetatable({ x = 1 }, {
  __index = function() error("__index called") end,
  __pairs = function() error("__pairs called") end,
  __tostring = function() error("__tostring called") end,
})
t.is(pretty(trap), "{ x = 1 }", "__index, __pairs and __tostring are not called")
local odd = setmetatable({}, { __tostring = function() return 42 end })
t.is(pretty({ [odd] = 1, [print] = 2 }):match("^{ %["), "{ [", "keys that tostring badly still print")

-- colours
t.unlike(pretty({ "a", 1, true }), "\27", "no colours when stdout is not a terminal")
t.is(pretty("a", { color = true }), '\27[32m"a"\27[0m', "color = true forces colours")
t.is(pretty(1, { color = true }), "\27[36m1\27[0m", "numbers coloured")
t.is(pretty({ 1 }, { color = false }), "{ 1 }", "color = false")
t.is(pretty({ 1, 2 }, { color = true, width = 10 }), "{ \27[36m1\27[0m, \27[36m2\27[0m }",
     "colour codes do not count towards the width")

-- options are checked
local e = t.raises(pretty, "opts must be a table", 1, 5)
t.is(type(e) == "table" and e.kind, "usage", "a usage error")
e = t.raises(pretty, "depth must be >= 0", 1, { depth = -1 })
t.like(tostring(e), "opts.depth", "the message names the option")
t.raises(pretty, "max_items must be an integer", 1, { max_items = 1.5 })

t.done()
