#!/usr/bin/env bash
# The Azure SDKs' retry rules for identity endpoints, through the binary.
# Waits are scaled down 100x with the test build's PAMSH_TEST_TIME_SCALE;
# one case runs the production binary at full scale (Retry-After).
. "$(dirname "$0")/../setup"
sim_start
HOOKS=${PAMSH_HOOKS_BIN:-$TOP/build/hooks/pamsh}
[ -x "$HOOKS" ] || bail_out "no test-hook build at $HOOKS (make build/hooks/pamsh)"
# (x TEST_SLOWDOWN under check-valgrind, where each request itself is
# slower: the retry windows must still hold several of them)
export PAMSH_TEST_TIME_SCALE=$(awk -v s="$TEST_SLOWDOWN" 'BEGIN { print 0.01 * s }')
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

# ... and tries again once 30 s have passed (the test build's
# PAMSH_TEST_CLOCK_OFFSET moves the clock the cache reads; margins of 5 s
# either side of each boundary keep a second ticking over harmless)
simctl reset-log
cat > "$TMP/refresh30.lua" <<'LUA'
local clock = function(s) pam.core._test_setenv("PAMSH_TEST_CLOCK_OFFSET", tostring(s)) end
local simctl = os.getenv("TOP") .. "/tests/sim/simctl "
local a = imds_token()                        -- 1 fetch; under 5 min left
os.execute(simctl .. "fault imds /metadata status status=500")
local b = imds_token()                        -- refresh fails (5 tries): keep a
clock(25)
local c = imds_token()                        -- 25 s later: no new try
local n1 = pam.core.identity_fetches()
clock(35)
local d = imds_token()                        -- 35 s: tries again, fails, keeps a
local n2 = pam.core.identity_fetches()
os.execute(simctl .. "clear")
clock(70)
local e = imds_token()                        -- 70 s: tries again, succeeds
print(a == b and b == c and c == d, n1, n2, e ~= a, pam.core.identity_fetches())
LUA
run "$HOOKS" "$TMP/refresh30.lua"
is "$RC" 0 "failed refresh, 30 s on: the script goes on" || diag_run
is "$OUT" $'true\t6\t11\ttrue\t12' \
  "failed refresh: no try within 30 s, another after 30 s, a new token once IMDS is back"
simctl clear

# half-life: a token living over 2 h is renewed once half its lifetime has
# passed, long before the last 5 minutes
simctl set token_lifetime=10800
cat > "$TMP/halflife.lua" <<'LUA'
local clock = function(s) pam.core._test_setenv("PAMSH_TEST_CLOCK_OFFSET", tostring(s)) end
local a = imds_token()                        -- a 3 h token
clock(5300)
local b = imds_token()                        -- 88 min on: before half-life
clock(5500)
local c = imds_token()                        -- 92 min on: past half-life
print(a == b, c ~= a, pam.core.identity_fetches())
LUA
run "$HOOKS" "$TMP/halflife.lua"
is "$RC" 0 "half-life: exit 0" || diag_run
is "$OUT" $'true\ttrue\t2' "half-life: a 3 h token is kept before 1 h 30 min and renewed after"

# a token of exactly 2 h is not "over 2 h": only the 5-minute rule renews it
simctl set token_lifetime=7200
cat > "$TMP/twohours.lua" <<'LUA'
local clock = function(s) pam.core._test_setenv("PAMSH_TEST_CLOCK_OFFSET", tostring(s)) end
local a = imds_token()
clock(4000)
local b = imds_token()                        -- past half-life: kept
clock(6850)
local c = imds_token()                        -- 350 s left: kept
clock(6950)
local d = imds_token()                        -- 250 s left: renewed
print(a == b, b == c, d ~= c, pam.core.identity_fetches())
LUA
run "$HOOKS" "$TMP/twohours.lua"
is "$RC" 0 "2 h token: exit 0" || diag_run
is "$OUT" $'true\ttrue\ttrue\t2' "2 h token: kept past half-life, renewed under 5 minutes left"

# the production binary ignores the test clock (no such switch in it)
if [ "$PAMSH" != "$HOOKS" ]; then
  run env PAMSH_TEST_CLOCK_OFFSET=6950 "$PAMSH" -e 'local a = imds_token(); local b = imds_token()
    print(a == b, pam.core.identity_fetches())'
  is "$OUT" $'true\t1' "production binary: PAMSH_TEST_CLOCK_OFFSET has no effect"
else
  skip "production binary ignores PAMSH_TEST_CLOCK_OFFSET" "PAMSH_BIN is the hook build"
fi
simctl set token_lifetime=86399

done_testing
