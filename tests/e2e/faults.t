#!/usr/bin/env bash
# What the simulator can throw at pamsh: each fault gives a clear message,
# the documented exit code, in bounded time.
. "$(dirname "$0")/../setup"
sim_start
printf 'print(pam.unlock(arg[1] or 42).name)\n' > "$TMP/unlock.lua"

# PAM side
simctl fault pam /xtam/rest/record/unlock/42 slow delay=10 count=1
t0=$(now)
run "$PAMSH" --timeout 1 "$TMP/unlock.lua"
is "$RC" 5 "slow response past --timeout: exit 5"
like "$ERR" "GET https://127.0.0.1:[0-9]+/xtam/rest/record/unlock/42: Timeout" "slow response: timeout named"
ok $(took_under "$t0" 4; echo $?) "slow response: bounded by the timeout"

simctl fault pam /xtam/rest/record/unlock/42 slow_body delay=10 count=1
t0=$(now)
run env PAMSH_TIMEOUT=1 "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "slow body past PAMSH_TIMEOUT: exit 5"
ok $(took_under "$t0" 4; echo $?) "slow body: bounded by the timeout"

simctl fault pam /xtam/rest/record/unlock/42 garbage count=1
run "$PAMSH" "$TMP/unlock.lua"
is "$RC" 4 "garbage JSON: exit 4"
like "$ERR" "GET /rest/record/unlock/42: HTTP 200 response is not valid JSON" "garbage JSON: says JSON"

simctl fault pam /xtam/rest/record/unlock/42 html status=502 count=1
run "$PAMSH" "$TMP/unlock.lua"
is "$RC" 4 "HTML error page: exit 4"
is "$ERR" "pamsh: GET /rest/record/unlock/42: 502 Bad Gateway" "HTML error page: its title"

simctl fault pam /xtam/rest/record/unlock/42 truncated count=1
run "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "truncated body: exit 5"

simctl fault pam /xtam/rest/record/unlock/42 huge size=70000000 count=1
run "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "body over the 64 MiB cap: exit 5"
like "$ERR" "exceeds the 64 MiB cap" "body over the cap: says so"

simctl fault pam /xtam/rest/record/unlock/42 huge size=2000000 count=1
run "$PAMSH" -e 'local d = pam_request("GET", "/rest/record/unlock/42") print(type(d))'
is "$RC" 0 "a large body under the cap: exit 0"

simctl fault pam /xtam/landing nocookie count=1
run "$PAMSH" "$TMP/unlock.lua"
is "$RC" 3 "landing without a session cookie: exit 3"
like "$ERR" "without a session cookie.*azure_auth" "landing without a cookie: says why"

simctl fault pam /xtam/landing status status=500 count=1
run "$PAMSH" "$TMP/unlock.lua"
is "$RC" 3 "landing answering 500: exit 3"

# IMDS side
simctl reset-log
simctl fault imds /metadata status status=429 retry_after=1 count=1
run "$PAMSH" "$TMP/unlock.lua"
is "$RC" 0 "IMDS 429 with Retry-After: retried, exit 0"
is "$(simctl count imds /metadata)" 2 "IMDS 429: two requests"

simctl reset-log
simctl fault imds /metadata status status=503 count=1
run "$PAMSH" "$TMP/unlock.lua"
is "$RC" 0 "IMDS 503 once: retried, exit 0"
is "$(simctl count imds /metadata)" 2 "IMDS 503: two requests"

simctl reset-log
simctl fault imds /metadata status status=400 'body={"error":"invalid_request","error_description":"Identity not found"}' count=1
run "$PAMSH" "$TMP/unlock.lua"
is "$RC" 3 "IMDS 400: exit 3"
like "$ERR" "imds: HTTP 400 .*Identity not found \(no managed identity matches" "IMDS 400: server text and a hint"
is "$(simctl count imds /metadata)" 1 "IMDS 400: never retried"

run "$PAMSH" --client-id 00000000-0000-0000-0000-000000000000 "$TMP/unlock.lua"
is "$RC" 3 "unknown user-assigned identity: exit 3"
like "$ERR" "Identity not found" "unknown user-assigned identity: IMDS's reason"

simctl fault imds /metadata nonjson200 count=1
run "$PAMSH" "$TMP/unlock.lua"
is "$RC" 3 "IMDS 200 that is not JSON: exit 3"
like "$ERR" "identity endpoint unavailable" "IMDS 200 not JSON: identity endpoint unavailable"

t0=$(now)
run env PAMSH_IMDS_URL=http://127.0.0.1:9 "$PAMSH" "$TMP/unlock.lua"
is "$RC" 3 "nothing listening for IMDS: exit 3"
like "$ERR" "is this an Azure VM" "nothing listening: a hint"
ok $(took_under "$t0" 3; echo $?) "nothing listening: fails fast"

# a hanging identity endpoint: each try gets --timeout, all of them 4 x --timeout
simctl reset-log
simctl fault imds /metadata slow delay=10
t0=$(now)
run "$PAMSH" --timeout 1 "$TMP/unlock.lua"
is "$RC" 3 "IMDS hanging: exit 3"
like "$ERR" "imds: no token from .*Timeout" "IMDS hanging: a timeout, named"
ok $(took_under "$t0" 6; echo $?) "IMDS hanging: bounded by 4 x --timeout"
ok $([ "$(simctl count imds /metadata)" -ge 2 ]; echo $?) "IMDS hanging: the timeout was retried"
simctl clear

# the whole acquisition is also bounded by --deadline: a hanging IMDS and a
# 1 s deadline end the run with 124, promptly, whatever --timeout says
simctl fault imds /metadata slow delay=10
for i in 1 2 3; do
  t0=$(now)
  run "$PAMSH" --deadline 1 "$TMP/unlock.lua"
  is "$RC" 124 "IMDS hanging, --deadline 1 (run $i): exit 124" || diag_run
  is "$ERR" "pamsh: the deadline of 1 s passed (--deadline)" "IMDS hanging, --deadline 1 (run $i): says the deadline passed"
  ok $(took_under "$t0" 3; echo $?) "IMDS hanging, --deadline 1 (run $i): ends within the deadline's second"
done
t0=$(now)
run "$PAMSH" --deadline 1.5 -e 'local ok, err = pcall(imds_token) print(ok, err) os.exit(0)'
is "$RC" 124 "--deadline during imds_token, the error caught: still exit 124" || diag_run
is "$OUT" "" "--deadline: nothing of the script runs after it"
ok $(took_under "$t0" 3.5; echo $?) "--deadline 1.5: bounded"
simctl clear

simctl reset-log
# (the timeout covers the PAM requests too: x TEST_SLOWDOWN, with the delay)
simctl fault imds /metadata slow delay=$((3 * TEST_SLOWDOWN)) count=1
run "$PAMSH" --timeout "$TEST_SLOWDOWN" "$TMP/unlock.lua"
is "$RC" 0 "IMDS slow once: retried after the timeout, exit 0"
is "$(simctl count imds /metadata)" 2 "IMDS slow once: two requests"

done_testing
