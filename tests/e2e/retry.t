#!/usr/bin/env bash
# The Azure SDKs' retry rules for identity endpoints, through the binary.
# Waits are scaled down 100x with the test build's PAMSH_TEST_TIME_SCALE;
# one case runs the production binary at full scale (Retry-After).
. "$(dirname "$0")/../setup"
sim_start
HOOKS=${PAMSH_HOOKS_BIN:-$TOP/build/hooks/pamsh}
[ -x "$HOOKS" ] || bail_out "no test-hook build at $HOOKS (make build/hooks/pamsh)"
export PAMSH_TEST_TIME_SCALE=0.01
tok='print(select(2, imds_token()).source)'

# retried statuses, each failing once
for status in 404 408 410 429 500 502 503 504; do
  simctl reset-log
  simctl fault imds /metadata status status=$status count=1
  run "$HOOKS" -e "$tok"
  is "$RC" 0 "IMDS $status once: retried, exit 0"
  is "$(simctl count imds /metadata)" 2 "IMDS $status once: two requests"
done

# never retried
for status in 400 401 403; do
  simctl reset-log
  simctl fault imds /metadata status status=$status count=1
  run "$HOOKS" -e "$tok"
  is "$RC" 3 "IMDS $status: exit 3"
  is "$(simctl count imds /metadata)" 1 "IMDS $status: not retried"
  like "$ERR" "imds: HTTP $status from http://127.0.0.1:[0-9]+/metadata/identity/oauth2/token" \
    "IMDS $status: source, endpoint and status named"
done

# a lasting 5xx: five attempts, then the last error
simctl reset-log
simctl fault imds /metadata status status=500
run "$HOOKS" -e "$tok"
is "$RC" 3 "IMDS 500 for good: exit 3"
is "$(simctl count imds /metadata)" 5 "IMDS 500 for good: five attempts"
simctl clear

# 410: kept up for 70 s (0.7 s scaled), past the five attempts
simctl reset-log
simctl fault imds /metadata status status=410 count=6
run "$HOOKS" -e "$tok"
is "$RC" 0 "IMDS 410 six times: still tried, exit 0"
is "$(simctl count imds /metadata)" 7 "IMDS 410 six times: seven requests"
simctl reset-log
simctl fault imds /metadata status status=410
t0=$(now)
run "$HOOKS" -e "$tok"
is "$RC" 3 "IMDS 410 for good: exit 3"
n=$(simctl count imds /metadata)
ok $([ "$n" -ge 6 ]; echo $?) "IMDS 410 for good: kept trying ($n requests)"
ok $(took_under "$t0" 5; echo $?) "IMDS 410 for good: gave up after ~70 s scaled"
like "$ERR" "HTTP 410.*updating" "IMDS 410: says the endpoint is updating"
simctl clear

# Retry-After is honoured (real seconds; under ASan the binary has hooks,
# so the scale is dropped explicitly)
simctl reset-log
simctl fault imds /metadata status status=429 retry_after=2 count=1
t0=$(now)
run env -u PAMSH_TEST_TIME_SCALE "$PAMSH" -e "$tok"
is "$RC" 0 "IMDS 429 Retry-After 2: exit 0"
ok $(took_over "$t0" 2; echo $?) "IMDS 429 Retry-After 2: waited 2 s"
ok $(took_under "$t0" 5; echo $?) "IMDS 429 Retry-After 2: and not much longer"

# a failed refresh keeps the valid token and waits 30 s before trying again
simctl set token_lifetime=200
simctl reset-log
cat > "$TMP/refresh.lua" <<'LUA'
local a = imds_token()                        -- fetched; under 5 min left
os.execute(os.getenv("TOP") .. "/tests/sim/simctl fault imds /metadata status status=500")
local b = imds_token()                        -- refresh fails: keep a
local c = imds_token()                        -- within 30 s: no new try
print(a == b, b == c, pam.core.identity_fetches())
LUA
run "$HOOKS" "$TMP/refresh.lua"
is "$RC" 0 "failed refresh: the script goes on"
is "$OUT" $'true\ttrue\t6' "failed refresh: the same token, one failed refresh of 5 tries, then none"
simctl clear
simctl set token_lifetime=86399

done_testing
