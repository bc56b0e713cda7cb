#!/usr/bin/env bash
# Secrets stay out of traces, errors and the disk.
. "$(dirname "$0")/../setup"
sim_start
printf 'local r = pam.unlock(42)\nprint(r.name, r.fields.Password)\npam.post("/rest/folder/create/1", {name = "x"})\n' > "$TMP/job.lua"

mkdir -p "$TMP/work"
before_home=$(cd "$HOME" && find . | sort)
cd "$TMP/work"
run "$PAMSH" -v "$TMP/job.lua"
cd "$TMP"
is "$RC" 0 "-v run: exit 0"
is "$OUT" $'db-prod\t[REDACTED]' "-v run: stdout unchanged, secret redacted"
like "$ERR" "> POST /xtam/landing" "trace shows the landing request"
like "$ERR" "< HTTP/1.1 302" "trace shows the landing answer"
like "$ERR" "> GET /xtam/rest/record/unlock/42" "trace shows the REST request"
like "$ERR" "Set-Cookie: JSESSIONID=\[REDACTED\]" "trace keeps cookie names, not values"
like "$ERR" "X-XSRF-TOKEN: \[REDACTED\]" "trace redacts the XSRF header"
like "$ERR" "azure=\[REDACTED\]" "trace redacts the form's token"

# the actual secrets of this run, from the simulator's log
token=$(simctl log pam | python3 -c '
import json, sys, urllib.parse
for line in sys.stdin:
    r = json.loads(line)
    if r["path"] == "/xtam/landing":
        print(urllib.parse.parse_qs(r["body"])["azure"][0]); break')
cookie=$(simctl log pam | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    for k, v in r["headers"].items():
        if k.lower() == "cookie":
            print(v.split("JSESSIONID=")[1].split(";")[0]); sys.exit()')
ok $([ ${#token} -gt 100 ]; echo $?) "found the token of this run"
ok $([ ${#cookie} -gt 8 ]; echo $?) "found the session cookie of this run"
unlike "$ERR" "${token:0:40}" "trace holds no token"
unlike "$ERR" "${token: -40}" "trace holds no token signature"
unlike "$ERR" "$cookie" "trace holds no session cookie value"
unlike "$ERR" "S3cr3t" "trace holds no record secret"
unlike "$ERR" "eyJ[A-Za-z0-9_-]{20,}\." "trace holds nothing JWT-like"

is "$(cd "$HOME" && find . | sort)" "$before_home" "nothing written to \$HOME"
is "$(ls -A "$TMP/work")" "" "nothing written to the working directory"

# a record created with a form: the secret inside `custom` stays hidden
run "$PAMSH" -v -e 'pam_request("POST", "/rest/record/new/3/5", nil,
  {form = {name = "n", custom = pam.json({Host = "h", Password = "S3cr3t-in-form"}, {compact = true})}})'
is "$RC" 0 "-v form post: exit 0"
like "$ERR" 'custom=\{"Host":"h","Password":"\[REDACTED\]"\}' "-v form post: the form shown decoded, redacted"
unlike "$ERR" "S3cr3t" "-v form post: no secret in the trace"

# error messages carry no secrets either
simctl fault pam /xtam/rest/record/unlock/42 html status=500 count=1
run "$PAMSH" -v "$TMP/job.lua"
is "$RC" 4 "HTML error page: exit 4"
unlike "$ERR" "S3cr3t|eyJ[A-Za-z0-9_-]{20,}\." "HTML error: no secrets in trace or message"

done_testing
