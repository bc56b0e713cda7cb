#!/usr/bin/env pamsh
-- The runtime as a script sees it: libraries, embedded modules, cjson,
-- error objects, pam.secret.  No network.
package.path = arg[0]:match("(.*/)") .. "?.lua;" .. package.path
local t = require "tap"

-- the environment of a script
t.is(_VERSION, "Lua 5.4", "Lua 5.4")
t.is(type(pam), "table", "pam is a global")
t.is(require "pam", pam, "require 'pam' is the same table")
t.is(type(imds_token), "function", "imds_token is a global")
t.is(type(pam_login), "function", "pam_login is a global")
t.is(type(pam_request), "function", "pam_request is a global")
t.is(pam.core.pam_request, pam_request, "pam.core.pam_request is the global")
t.is(type(require "cjson".encode), "function", "cjson is available")
t.is(type(require "cjson.safe".decode), "function", "cjson.safe is available")
t.is(select("#", ...), 0, "no script arguments")
t.like(arg[0], "runtime%.t$", "arg[0] is the script")

-- embedded modules carry their real file names in tracebacks
local info = debug.getinfo(pam.unlock, "S")
t.is(info.source, "@lua/pam.lua", "embedded chunk name is @lua/pam.lua")

-- error objects
local e = pam.core.error { kind = "http", status = 401, method = "GET",
                           path = "/rest/record/unlock/5", message = "HTTP 401 Unauthorized" }
t.is(tostring(e), "GET /rest/record/unlock/5: HTTP 401 Unauthorized", "error tostring")
t.is(e.kind, "http", "error kind")
local ok, caught = pcall(error, e)
t.ok(not ok and caught == e, "error objects travel through pcall unchanged")
t.raises(pam.core.error, "kind is checked", { kind = "nope" })
t.is(tostring(pam.core.error { kind = "usage", message = "m" }), "m", "tostring without method")

-- usage errors from the friendly layer
local err = t.raises(pam.unlock, "unlock(nil) raises", nil)
t.is(type(err) == "table" and err.kind, "usage", "unlock(nil) is a usage error")
err = t.raises(pam_request, "bad method raises", "G E T", "/x")
t.is(type(err) == "table" and err.kind, "usage", "bad method is a usage error")

-- secrets
local s = pam.secret("hunter2")
t.is(tostring(s), "[REDACTED]", "tostring(secret) is redacted")
t.is(s:reveal(), "hunter2", "reveal() returns the value")
t.is(#s, 7, "#secret is its length")
t.ok(pam.is_secret(s) and not pam.is_secret("x"), "is_secret")
t.ok(s == pam.secret("hunter2"), "secrets compare by value")
t.raises(function() return "x" .. s end, "concatenation refuses")
t.unlike(string.format("%s", s), "hunter2", "format %s does not reveal")
t.ok(not pcall(require "cjson".encode, { p = s }), "cjson refuses to encode a secret")
for _, name in ipairs { "Password", "API Token", "SSH Key", "pin", "Passphrase", "credentials", "client_secret" } do
  t.ok(pam.is_secret_field(name), "secret field name: " .. name)
end
for _, name in ipairs { "Host", "User", "Port", "Description" } do
  t.ok(not pam.is_secret_field(name), "plain field name: " .. name)
end

-- redaction helper used by traces
t.unlike(pam.core.redact('{"Password":"S3cr3t"}'), "S3cr3t", "redact JSON secret")

-- the version table
local v = pam.core.versions()
t.like(v.lua, "^Lua 5%.4", "versions().lua")
t.ok(#v.libcurl > 0 and #v.tls > 0, "versions() has libcurl and TLS")

-- the monotonic clock: fractions of a second, only forward
local m0 = pam.core.monotonic()
t.is(math.type(m0), "float", "monotonic() is a float")
os.execute("sleep 0.2")
local dt = pam.core.monotonic() - m0
t.ok(dt >= 0.19 and dt < 5, "monotonic() measures a 0.2 s sleep (" .. dt .. ")")

t.done()
