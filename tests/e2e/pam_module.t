#!/usr/bin/env bash
# The pam module's folder and record helpers through build/pamsh against
# the simulator: pam.walk, pam.create_folder, pam.create_record, pam.map,
# ids as strings and integers, usage errors.
. "$(dirname "$0")/../setup"
sim_start

# ---------------------------------------------------------------- pam.walk
# seed tree: 1 Root > 2 "Linux servers" (44, i-2qhyGh2UB0V), 3 "Databases" (42, 43)
run "$PAMSH" -e '
  local n = pam.walk(1, function(e, path) print(e.id, e.name, path) end, {name = "Root"})
  print("count", n)'
is "$RC" 0 "walk: exit 0"
is "$OUT" $'44\tweb-01\tRoot/Linux servers
i-2qhyGh2UB0V\tlegacy-app\tRoot/Linux servers
42\tdb-prod\tRoot/Databases
43\thr-payroll\tRoot/Databases
count\t4' "walk: every record, depth first, with its folder path; returns the count"

run "$PAMSH" -e 'pam.walk(1, function(e, path) print(e.id, path) end)'
like "$OUT" $'^44\t1/Linux servers\n' "walk: without opts.name the start folder is named by its id"
run "$PAMSH" -e 'print(pam.walk(3, function(e, path) print(e.id, path) end, {name = "Databases"}))'
is "$OUT" $'42\tDatabases\n43\tDatabases\n2' "walk: records directly in the start folder get its name as path"

run "$PAMSH" -e '
  pam.walk(1, function(e, path)
    print(e.folder and "folder" or "record", e.id, e.recordType.name, path)
  end, {name = "Root", folders = true})'
is "$OUT" $'folder\t2\tFolder\tRoot
record\t44\tLinux\tRoot/Linux servers
record\ti-2qhyGh2UB0V\tGeneric Account\tRoot/Linux servers
folder\t3\tFolder\tRoot
record\t42\tDatabase\tRoot/Databases
record\t43\tDatabase\tRoot/Databases' "walk: opts.folders reports folders too, with the path holding them"

run "$PAMSH" -e '
  local seen = {}
  local n = pam.walk(1, function(e) seen[#seen + 1] = e.id; if #seen == 2 then return false end end)
  print(n, #seen)
  print(pam.walk(1, function() return nil end))'
is "$OUT" $'2\t2\n4' "walk: fn returning false stops early; nil does not"

# a deeper tree for the depth limit: Root > Databases > deep > deeper > rec
run "$PAMSH" -e '
  local deep = pam.create_folder(3, "deep", "walk test")
  local deeper = pam.create_folder(deep.id, "deeper")
  local r = pam.create_record(deeper.id, 3, "deep-host", {Host = "deep.corp.example"})
  print(deep.id, deeper.id, r.id)'
is "$RC" 0 "walk: nested folders created"
read -r deep_id deeper_id deep_rec <<<"$OUT"
run "$PAMSH" -e '
  local function count(d) return pam.walk(1, function() end, {depth = d}) end
  print(count(0), count(1), count(2), count(3), count(nil))
  pam.walk(1, function(e, p) if e.name == "deep-host" then print(p) end end, {name = "Root"})'
is "$OUT" $'0\t4\t4\t5\t5\nRoot/Databases/deep/deeper' "walk: opts.depth limits the levels listed (0 = the start folder only)"
simctl reset-log
run "$PAMSH" -e 'pam.walk(1, function() end, {depth = 1})'
is "$(simctl count pam /xtam/rest/folder/list/)" 3 "walk: depth 1 lists the start folder and its sub-folders only"
is "$(simctl count pam "/xtam/rest/folder/list/$deep_id")" 0 "walk: folders below the limit are not listed"

# a server whose folders form a cycle: Databases lists Root as a sub-folder
simctl fault pam '/xtam/rest/folder/list/3$' status status=200 \
  body='[{"id":1,"name":"Root","recordType":{"name":"Folder"},"folder":true},{"id":42,"name":"db-prod","recordType":{"name":"Database"}}]'
simctl reset-log
run "$PAMSH" -e 'print(pam.walk(1, function(e, p) print(e.id, p) end, {name = "Root"}))'
is "$RC" 0 "walk: a folder cycle does not loop"
is "$OUT" $'44\tRoot/Linux servers\ni-2qhyGh2UB0V\tRoot/Linux servers\n42\tRoot/Databases\n3' "walk: a folder seen twice is skipped"
is "$(simctl count pam /xtam/rest/folder/list/1)" 1 "walk: the start folder is listed once"
simctl clear pam

run "$PAMSH" -e 'pam.walk(999, function() end)'
is "$RC" 4 "walk: a missing folder is an HTTP error, exit 4"
like "$ERR" "^pamsh: GET /rest/folder/list/999: HTTP 404" "walk: the failed listing named"

# ------------------------------------------------- create_folder, create_record
simctl reset-log
run "$PAMSH" -e '
  local f = pam.create_folder(3, "ops, team", "made by pam_module.t")
  print(math.type(f.id), f.name, f.description)
  local r = pam.create_record(f.id, 5, "app-db", {
    Host = "app.corp.example", Port = 5433, User = "app",
    Password = pam.secret("S3cr3t-created-pw"), ["API Token"] = "S3cr3t-plain-token",
  }, "created by a test")
  print(math.type(r.id), r.name, r.description, r.custom == nil and "no custom" or "custom")
  local u = pam.unlock(r.id)
  print(u.name, u.fields.Host, math.type(u.fields.Port), u.fields.Port, u.fields.User)
  print(tostring(u.fields.Password), u.fields.Password:reveal(), u.fields["API Token"]:reveal())
  local n = pam.walk(f.id, function(e, p) print(e.id == r.id, e.name, e.recordType.name, p) end, {name = f.name})
  print(n)'
is "$RC" 0 "create: exit 0"
is "$(sed -n 1p <<<"$OUT")" $'integer\tops, team\tmade by pam_module.t' "create_folder: the new folder, decoded"
like "$(sed -n 2p <<<"$OUT")" $'^integer\tapp-db\tcreated by a test\t' "create_record: the new record, decoded"
is "$(sed -n 3p <<<"$OUT")" $'app-db\tapp.corp.example\tinteger\t5433\tapp' "unlock of the new record: its fields (numbers stay integers)"
is "$(sed -n 4p <<<"$OUT")" $'[REDACTED]\tS3cr3t-created-pw\tS3cr3t-plain-token' "unlock of the new record: secrets wrapped, the values sent revealed"
is "$(sed -n 5,6p <<<"$OUT")" $'true\tapp-db\tDatabase\tops, team\n1' "walk of the new folder: the new record"
new=$(simctl log pam | grep '/rest/record/new/')
like "$new" 'application/x-www-form-urlencoded' "create_record: sent as a form"
like "$new" '"x-xsrf-token": "[^"]+"' "create_record: XSRF token echoed"
like "$(simctl log pam | grep '/rest/folder/create/3')" 'application/json' "create_folder: sent as JSON"
data=$(simctl data)
custom=$("$PYTHON" -c '
import json, sys
d = json.loads(sys.stdin.read())
r = [r for r in d["records"] if r["name"] == "app-db"][0]
print(json.dumps(r["fields"], sort_keys=True))' <<<"$data")
is "$custom" '{"API Token": "S3cr3t-plain-token", "Host": "app.corp.example", "Password": "S3cr3t-created-pw", "Port": 5433, "User": "app"}' \
  "create_record: the server stored the fields, the secret revealed as custom JSON"

run "$PAMSH" -e 'local r = pam.create_record(3, 5, "bare") print(r.name, next(pam.unlock(r.id).fields))'
is "$OUT" $'bare\tnil' "create_record: fields may be omitted (an empty custom object)"

# ---------------------------------------------------------------- ids
run "$PAMSH" -e '
  print(pam.unlock("42").name, pam.unlock(42).name, pam.unlock(42.0).name, pam.unlock("i-2qhyGh2UB0V").name)
  print(#pam.folder("2"), #pam.folder(2))
  local f = pam.create_folder("3", "by-string-id")
  local r = pam.create_record(tostring(f.id), "3", "string-ids", {Host = "s"})
  print(pam.unlock(tostring(r.id)).fields.Host, pam.unlock(r.id).fields.Host)
  print(pam.walk(tostring(f.id), function() end), pam.walk(f.id, function() end))'
is "$RC" 0 "ids: exit 0"
is "$OUT" $'db-prod\tdb-prod\tdb-prod\tlegacy-app\n2\t2\ns\ts\n1\t1' "ids: strings and integers name the same records and folders"
run "$PAMSH" -e 'pam.walk(2.0, function(e, p) print(e.id, p) end)'
is "$OUT" $'44\t2\ni-2qhyGh2UB0V\t2' "ids: a float id of integral value names the folder by its integer"
simctl reset-log
run "$PAMSH" -e 'pcall(pam.unlock, "a/b?c")'
like "$(simctl log pam | tail -n 1)" '/xtam/rest/record/unlock/a%2Fb%3Fc' "ids: escaped as one path segment"

# ---------------------------------------------------------------- pam.map
run "$PAMSH" -e '
  local results, errors = pam.map({42, 43, 44}, function(id) return pam.unlock(id).name end, {concurrency = 2})
  print(results[1], results[2], results[3])
  print(errors[1], errors[2].status, errors[2].kind, errors[3])'
is "$RC" 0 "map: exit 0"
is "$OUT" $'db-prod\tnil\tweb-01\nnil\t401\thttp\tnil' "map: results in order, errors by index"

# ---------------------------------------------------- pam.put, pam.delete
simctl reset-log
run "$PAMSH" -e '
  local f = pam.create_folder(3, "to-rename", "before")
  local u = pam.put("/rest/folder/update/" .. f.id, {name = "renamed", description = "after"})
  print(u.id == f.id, u.name, u.description)
  local r = pam.create_record(3, 5, "to-delete", {Host = "h"})
  print(pam.delete("/rest/record/delete/" .. r.id))
  local ok, e = pcall(pam.unlock, r.id)
  print(ok, e.status)
  print(f.id, r.id)'
is "$RC" 0 "put/delete: exit 0"
is "$(sed -n 1,3p <<<"$OUT")" $'true\trenamed\tafter\nnil\nfalse\t404' \
  "pam.put returns the decoded answer; pam.delete's empty answer is nil; the record is gone"
read -r put_folder del_rec < <(sed -n 4p <<<"$OUT")
sent=$(simctl log pam | "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if "/update/" in e["path"] or "/delete/" in e["path"]:
        h = e["headers"]
        body = json.dumps(json.loads(e["body"]), sort_keys=True) if e["body"] else "-"
        print(e["method"], e["path"], e["status"], h.get("content-type", "-"),
              "xsrf" if h.get("x-xsrf-token") else "no-xsrf", body)')
is "$sent" "PUT /xtam/rest/folder/update/$put_folder 200 application/json xsrf {\"description\": \"after\", \"name\": \"renamed\"}
DELETE /xtam/rest/record/delete/$del_rec 204 - xsrf -" \
  "put/delete reach the server: method, JSON body (none for DELETE), X-XSRF-TOKEN accepted"
is "$(simctl data | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
f = [f for f in d["folders"] if str(f["id"]) == sys.argv[1]][0]
print(f["name"], f["description"], any(str(r["id"]) == sys.argv[2] for r in d["records"]))' "$put_folder" "$del_rec")" \
  "renamed after False" "put/delete: the server's data changed"
run "$PAMSH" -e 'pam.delete("/rest/record/delete/43")'
is "$RC" 4 "pam.delete refused: exit 4"
is "$ERR" "pamsh: DELETE /rest/record/delete/43: HTTP 401 Unauthorized" "pam.delete refused: one line naming method and path"
run "$PAMSH" -e 'pam.put("/rest/folder/update/3", {name = ""})'
is "$RC:$ERR" "4:pamsh: PUT /rest/folder/update/3: HTTP 400 Bad Request: name must be a non-empty string" \
  "pam.put refused by the server: exit 4, one line with the reason"

# ---------------------------------------------------------------- pam.logout
simctl reset-log
run "$PAMSH" -v -e '
  pam.folder(3)
  print(pam.core.logged_in())
  pam.logout()
  print(pam.core.logged_in())
  pam.logout()
  pam.folder(3)
  print(pam.core.logged_in())'
is "$RC" 0 "logout: exit 0"
is "$OUT" $'true\nfalse\ntrue' "logout: the session is dropped; the next request logs in"
is "$(simctl count pam /xtam/landing POST)" 2 "logout: the request after it logged in again (a second landing)"
is "$(grep -c 'pamsh: debug: logged out of PAM$' <<<"$ERR")" 1 "logout: -v says so, once (the second logout had no session)"
cookies=$(simctl log pam | "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e["path"].startswith("/xtam/rest/folder/list/"):
        c = e["headers"].get("cookie", "")
        print(c.split("JSESSIONID=")[1].split(";")[0] if "JSESSIONID=" in c else "none")')
is "$(wc -l <<<"$cookies")" 2 "logout: two listings sent"
ok $([ "$(sort -u <<<"$cookies" | wc -l)" = 2 ] && ! grep -qx none <<<"$cookies"; echo $?) \
  "logout: the listing after it carries the new session's cookie, not the old one"
unlike "$ERR" "$(head -n 1 <<<"$cookies")" "logout: no session cookie in the -v trace"

# ------------------------------------------- secrets and the JSON encoders
simctl reset-log
run "$PAMSH" -e 'print(cjson.encode({name = "x", p = pam.secret("S3cr3t-cjson")}))'
errs=$ERR
is "$RC" 2 "cjson.encode of a pam.secret: a usage error, exit 2 (as pam.json)"
is "$ERR" "pamsh: cjson.encode: .p is a pam.secret and cannot be encoded as JSON; call :reveal() on it (or use pam.json(v, {reveal = true})) if you mean to write it out" \
  "cjson.encode of a pam.secret: one line that says so and what to do"
run "$PAMSH" -e 'local json = require "cjson"
  print(json.encode({rec = {fields = {Password = pam.unlock(42).fields.Password}}}))'
errs+=$ERR
is "$RC" 2 "require \"cjson\": the same refusal"
like "$ERR" "^pamsh: cjson.encode: .rec.fields.Password is a pam.secret and cannot be encoded" "cjson.encode: the message names where the secret is"
run "$PAMSH" -e 'print(cjson.encode(pam.secret("S3cr3t-top")))'
errs+=$ERR
like "$ERR" "^pamsh: cjson.encode: the value is a pam.secret" "cjson.encode of a bare pam.secret"
run "$PAMSH" -e 'local safe = require "cjson.safe" print(safe.encode({pam.secret("S3cr3t-safe")}))'
errs+=$ERR$OUT
is "$RC:$OUT" $'0:nil\tcjson.encode: [1] is a pam.secret and cannot be encoded as JSON; call :reveal() on it (or use pam.json(v, {reveal = true})) if you mean to write it out' \
  "cjson.safe.encode: nil and the same message"
run "$PAMSH" -e 'print(cjson.encode({p = pam.secret("S3cr3t-ok"):reveal()}), cjson.encode({1, "a"}))'
is "$OUT" $'{"p":"S3cr3t-ok"}\t[1,"a"]' "cjson.encode: revealed secrets and plain values encode as before"
run "$PAMSH" -e 'print(cjson.encode({f = print}))'
is "$RC" 1 "cjson.encode of a function: cjson's own error, a script error"
like "$ERR" "Cannot serialise function" "cjson.encode of a function: cjson's message, unchanged"
run "$PAMSH" -e 'pam.post("/rest/folder/create/1", {name = "x", fields = {password = pam.secret("S3cr3t-post")}})'
errs+=$ERR
is "$RC" 2 "pam.post with a pam.secret in the body: exit 2"
is "$ERR" "pamsh: pam_request: the body cannot be sent as JSON: .fields.password is a pam.secret; call :reveal() on it (or send pam.json(body, {reveal = true})) if you mean to send it" \
  "pam.post with a pam.secret in the body: one line that says so and what to do"
run "$PAMSH" -e 'pam.put("/rest/folder/update/3", pam.unlock(42).fields)'
errs+=$ERR$OUT
like "$ERR" "^pamsh: pam_request: the body cannot be sent as JSON: .Password is a pam.secret" "pam.put with an unlocked record's fields: refused"
is "$(simctl count pam /xtam/rest/folder/create)$(simctl count pam /xtam/rest/folder/update)" "00" "a body with a secret is not sent"
unlike "$errs" "S3cr3t" "no secret value in any of these messages"
unlike "$(simctl log pam)" "S3cr3t-(post|cjson|top|safe)" "no refused secret reached the server"
run "$PAMSH" -e 'pam.post("/rest/folder/create/1", {name = "x", f = print})'
is "$RC:$ERR" "2:pamsh: pam_request: the body cannot be sent as JSON: Cannot serialise function: type not supported" \
  "pam.post with a function in the body: cjson's reason"

# ---------------------------------------------------------------- usage errors
usage_case() {
  local chunk=$1 want=$2 desc=$3
  run "$PAMSH" -e "$chunk"
  is "$RC" 2 "usage: $desc: exit 2"
  like "$ERR" "^pamsh: .*$want" "usage: $desc: one line naming the mistake"
}
usage_case 'pam.walk(1)' "must be a function" "walk without a function"
usage_case 'pam.walk(nil, print)' "folder id" "walk without a folder"
usage_case 'pam.walk(1, print, {depth = -1})' "depth" "walk with a negative depth"
usage_case 'pam.walk(1, print, {depth = 1.5})' "depth" "walk with a fractional depth"
usage_case 'pam.walk(1, print, "deep")' "options must be a table" "walk with non-table options"
usage_case 'pam.create_folder(3, "")' "name" "create_folder with an empty name"
usage_case 'pam.create_folder({}, "x")' "parent folder id" "create_folder with a table id"
usage_case 'pam.create_folder(3, "x", 5)' "description" "create_folder with a numeric description"
usage_case 'pam.create_record(3, 5, nil, {})' "name" "create_record without a name"
usage_case 'pam.create_record(3, nil, "x", {})' "record type id" "create_record without a type"
usage_case 'pam.create_record(3, 5, "x", "Host=h")' "fields must be a table" "create_record with string fields"
usage_case 'pam.create_record(3, 5, "x", {"h"})' "keyed by field name" "create_record with an array of fields"
usage_case 'pam.create_record(3, 5, "x", {f = print})' "cannot encode a function" "create_record with a function field"
usage_case 'pam.map(nil, print)' "list must be a table" "map without a list"
usage_case 'pam.map({}, print, {concurrency = 0})' "concurrency" "map with concurrency 0"
usage_case 'pam.unlock(true)' "record id" "unlock with a boolean id"

run "$PAMSH" -e 'pam.create_record(999, 5, "x", {})'
is "$RC" 4 "create_record in a missing folder: exit 4"
like "$ERR" "^pamsh: POST /rest/record/new/999/5: HTTP 404" "create_record in a missing folder: one line"
unlike "$OUT$ERR" "S3cr3t" "no secret in the last outputs"

done_testing
