#!/usr/bin/env bash
# The seed flow end to end through build/pamsh: IMDS token -> landing ->
# REST with the session cookie, against the simulator over real TLS.
. "$(dirname "$0")/../setup"
sim_start
export TOP

USER1_CLIENT_ID=7b2e4d3f-0c58-4e1b-9f60-2d3c4b5e6f02

# the demo script: folder, permitted record, refused record
run "$PAMSH" "$TOP/scripts/demo.lua"
is "$RC" 0 "demo exits 0"
like "$OUT" "logged in to https://127.0.0.1:[0-9]+/xtam" "demo logs in"
like "$OUT" "db-prod" "demo lists the folder"
like "$OUT" "Host +db.corp.example" "demo prints a non-secret field"
like "$OUT" "Password +\[REDACTED\]" "demo redacts the password"
like "$OUT" "refused: GET /rest/record/unlock/43: HTTP 401 Unauthorized" "demo shows the 401"
unlike "$OUT$ERR" "S3cr3t" "demo prints no secret"

# the operator's one-liner: pamsh unlock.lua 42
cat > "$TMP/unlock.lua" <<'LUA'
local rec = pam.unlock(arg[1])
print(rec.id, rec.name, rec.fields.Host, rec.fields.Password:reveal(), rec.custom)
LUA
run "$PAMSH" "$TMP/unlock.lua" 42
is "$RC" 0 "permitted record: exit 0"
is "$OUT" $'42\tdb-prod\tdb.corp.example\tS3cr3t-db-pass!\tnil' "permitted record: data, revealed on purpose, no raw custom"
run "$PAMSH" "$TMP/unlock.lua" i-2qhyGh2UB0V
is "$RC" 0 "encoded string id: exit 0"
like "$OUT" "^i-2qhyGh2UB0V	legacy-app	legacy.corp.example" "encoded string id: data"

run "$PAMSH" "$TMP/unlock.lua" 43
is "$RC" 4 "unpermitted record: exit 4"
is "$ERR" "pamsh: GET /rest/record/unlock/43: HTTP 401 Unauthorized" "unpermitted record: one clean line"
run "$PAMSH" "$TMP/unlock.lua" 999
is "$RC" 4 "missing record: exit 4"
like "$ERR" "404" "missing record: 404 named"

# the raw primitives
run "$PAMSH" -e '
  local tok, info = imds_token()
  print(#tok > 100, info.source, info.resource == os.getenv("PAMSH_RESOURCE"),
        math.type(info.expires_on), info.claims.aud == info.resource, info.claims.idtyp)
  local login = pam_login()
  print(login.url == os.getenv("PAMSH_URL"), login.source)
  local data, status, headers = pam_request("GET", "/rest/record/unlock/42")
  print(status, math.type(data.id), type(data.custom), headers["content-type"])
  local ok, err = pcall(pam_request, "GET", "/rest/record/unlock/43")
  print(ok, err.kind, err.status, err.method, err.path, err.message, type(err.body), err.body.error)'
is "$RC" 0 "primitives: exit 0"
is "$OUT" "true	imds	true	integer	true	app
true	imds
200	integer	string	application/json
false	http	401	GET	/rest/record/unlock/43	HTTP 401 Unauthorized	table	HTTP 401 Unauthorized" "primitives: values, types and the error object"

# one IMDS call for several logins and tokens (the cache)
simctl reset-log
run "$PAMSH" -e 'imds_token(); pam_login(); pam_login(); imds_token(); pam.unlock(42)'
is "$RC" 0 "cache: exit 0"
is "$(simctl count imds /metadata)" 1 "cache: one IMDS request for two tokens and two logins"
is "$(simctl count pam /xtam/landing)" 2 "cache: two landings"
first=$(simctl log imds | head -n 1)
like "$first" '"metadata": "true"' "IMDS request carries Metadata: true"
like "$first" 'api-version=2018-02-01' "IMDS request names api-version 2018-02-01"
like "$first" "resource=$PAMSH_RESOURCE" "IMDS request names the resource"

# writes echo the XSRF cookie; JSON and form bodies
simctl reset-log
run "$PAMSH" -e '
  local f = pam.post("/rest/folder/create/1", {name = "ops", description = "made by a test"})
  print(f.name, math.type(f.id))
  local r = pam_request("POST", "/rest/record/new/" .. f.id .. "/3", nil,
    {form = {name = "new-host", description = "d", custom = require "cjson".encode({Host = "h1", Password = "S3cr3t-new"})}})
  print(r.name)
  print(pam.unlock(r.id).fields.Host)'
is "$RC" 0 "create folder and record: exit 0"
is "$OUT" $'ops\tinteger\nnew-host\nh1' "create folder and record: results"
like "$(simctl log pam | grep '/rest/folder/create')" '"x-xsrf-token": "[^"]+"' "XSRF token echoed on POST"
like "$(simctl log pam | grep '/rest/record/new')" 'application/x-www-form-urlencoded' "form body sent as a form"

# session expiry in the middle of a run: one re-login, then success
simctl reset-log
run "$PAMSH" -e '
  print(pam.unlock(42).name)
  assert(os.execute(os.getenv("TOP") .. "/tests/sim/simctl expire"))
  print(pam.unlock(44).name)'
is "$RC" 0 "session expiry: exit 0"
is "$OUT" $'db-prod\nweb-01' "session expiry: both records"
is "$(simctl count pam /xtam/landing)" 2 "session expiry: exactly one re-login"
is "$(simctl count imds /metadata)" 1 "session expiry: the cached token is reused"

# a user-assigned identity by client id sees other records
run "$PAMSH" --client-id "$USER1_CLIENT_ID" "$TMP/unlock.lua" 43
is "$RC" 0 "user-assigned identity: its record unlocks"
like "$(simctl log imds | tail -n 1)" "client_id=$USER1_CLIENT_ID" "user-assigned identity: client_id sent to IMDS"
run env PAMSH_CLIENT_ID="$USER1_CLIENT_ID" "$PAMSH" "$TMP/unlock.lua" 42
is "$RC" 4 "user-assigned identity from the environment: other records refused"

# the other IMDS selectors: --object-id as object_id=, --msi-res-id (and
# PAMSH_MSI_RES_ID) as msi_res_id=, each alone in the query
USER1_OID=1e0f9a8b-7c6d-4e4f-b302-f1e2d3c4b502
USER1_MIRID=$(simctl data | "$PYTHON" -c 'import json,sys; print([i for i in json.load(sys.stdin)["identities"] if i["name"]=="user1"][0]["msi_res_id"])')
# the selector parameters of IMDS's last request, decoded: "name=value ..."
last_selectors() {
  simctl log imds | tail -n 1 | "$PYTHON" -c '
import json, sys, urllib.parse
q = urllib.parse.parse_qsl(json.loads(sys.stdin.read())["query"])
print(" ".join("%s=%s" % kv for kv in q if kv[0] in ("client_id", "object_id", "msi_res_id")))'
}
oid='local _, i = imds_token(); print(i.claims.oid, i.claims.xms_mirid)'
run "$PAMSH" --object-id "$USER1_OID" -e "$oid"
is "$RC $OUT" "0 $USER1_OID	$USER1_MIRID" "--object-id: the user-assigned identity's token"
is "$(last_selectors)" "object_id=$USER1_OID" "--object-id: object_id= sent to IMDS, alone"
run "$PAMSH" --msi-res-id "$USER1_MIRID" -e "$oid"
is "$RC $OUT" "0 $USER1_OID	$USER1_MIRID" "--msi-res-id: the user-assigned identity's token"
is "$(last_selectors)" "msi_res_id=$USER1_MIRID" "--msi-res-id: msi_res_id= sent to IMDS, alone"
like "$(simctl log imds | tail -n 1)" "msi_res_id=%2Fsubscriptions%2F" "--msi-res-id: url-encoded"
run env PAMSH_MSI_RES_ID="$USER1_MIRID" "$PAMSH" "$TMP/unlock.lua" 43
is "$RC" 0 "PAMSH_MSI_RES_ID: that identity's record unlocks"
is "$(last_selectors)" "msi_res_id=$USER1_MIRID" "PAMSH_MSI_RES_ID: msi_res_id= sent to IMDS"
run env PAMSH_OBJECT_ID="$USER1_OID" "$PAMSH" -e "$oid"
is "$(last_selectors)" "object_id=$USER1_OID" "PAMSH_OBJECT_ID: object_id= sent to IMDS"
# two selectors at once: a usage error before anything is asked
simctl reset-log
run "$PAMSH" --object-id "$USER1_OID" --msi-res-id "$USER1_MIRID" -e "$oid"
is "$RC" 2 "--object-id with --msi-res-id: exit 2"
like "$ERR" "pick at most one of --client-id, --object-id, --msi-res-id" "two selectors: says so"
run env PAMSH_OBJECT_ID="$USER1_OID" PAMSH_MSI_RES_ID="$USER1_MIRID" "$PAMSH" -e "$oid"
is "$RC" 2 "PAMSH_OBJECT_ID with PAMSH_MSI_RES_ID: exit 2"
run "$PAMSH" -e "imds_token{object_id = '$USER1_OID', msi_res_id = '$USER1_MIRID'}"
is "$RC" 2 "imds_token{object_id=, msi_res_id=}: exit 2"
like "$ERR" "pick at most one of" "imds_token with two selectors: says so"
is "$(simctl count imds /)" 0 "two selectors: IMDS never asked"

# pam_login with a given token, and opts.url
run "$PAMSH" -e '
  local tok = imds_token()
  local info = pam_login{token = tok, url = os.getenv("PAMSH_URL")}
  print(info.source, pam.unlock(42).name)'
is "$RC" 0 "login with a given token: exit 0"
is "$OUT" $'token\tdb-prod' "login with a given token: works"

# one connection for a run: keep-alive and TLS session reuse
simctl reset-log
run "$PAMSH" -e 'for i = 1, 5 do pam.unlock(42) end pam.folder(3)'
is "$RC" 0 "several requests: exit 0"
conns=$(simctl log pam | "$PYTHON" -c 'import json,sys; print(len({json.loads(l)["conn"] for l in sys.stdin}))')
is "$conns" 1 "landing and six requests share one connection"
like "$(simctl log pam | head -n 1)" '"user-agent": "pamsh/[^"]+"' "User-Agent is pamsh/<version>"

# a short-lived token is fetched again before it is used for a login
# (x TEST_SLOWDOWN: the token must outlive one login, however slow)
simctl set token_lifetime=$((2 * TEST_SLOWDOWN))
simctl reset-log
run "$PAMSH" -e 'local _, a = imds_token(); pam_login(); os.execute("sleep '$((3 * TEST_SLOWDOWN))'")
  pam.logout(); pam_login(); local _, b = imds_token(); print(b.expires_on > a.expires_on)'
is "$RC" 0 "expired token: a new one, login works"
is "$OUT" "true" "expired token: the second token expires later"
# under 5 minutes left means "refresh": each of the four calls asks IMDS
is "$(simctl count imds /metadata)" 4 "short-lived token: IMDS asked at every use"
simctl set token_lifetime=86399

# identity endpoints: redirects are not followed
simctl reset-log
simctl fault imds /metadata status status=302 count=1
run "$PAMSH" -e 'imds_token()'
is "$RC" 3 "IMDS redirect: not followed, exit 3"
is "$(simctl count imds /metadata)" 1 "IMDS redirect: no second request"

# wrong audience: the landing refuses, exit 3
run "$PAMSH" --resource api://wrong-app "$TMP/unlock.lua" 42
is "$RC" 3 "wrong audience: exit 3"
like "$ERR" "^pamsh: login refused by https://127.0.0.1:[0-9]+/xtam/landing: HTTP 401" "wrong audience: login refused"
like "$ERR" "audience" "wrong audience: the server's reason"
unlike "$ERR" "eyJ" "wrong audience: no token in the message"

done_testing
