#!/usr/bin/env bash
# The fault matrix (issue 8): every row driven through $PAMSH against the
# simulator, checking the exit code, the message and that it ends in bounded
# time.  The README's "Failure behaviour" section is the same table for users.
#
# row                                   tested here     also / deeper in
# connection refused                    yes
# DNS failure (unshare -n)              yes             policy.t (--allow-http)
# untrusted certificate                 yes             tls.t
# hostname mismatch (unshare -m, hosts) yes (+ sim --pam-cert otherhost)
# expired certificate                   yes (sim --pam-cert expired)
# slow headers / slow body              yes             faults.t
# connection reset mid-body             yes (sim fault reset)
# truncated body (Content-Length)       yes             faults.t
# truncated chunked body                yes (sim fault truncated_chunked)
# 2xx claiming JSON that does not parse yes             faults.t
# HTML error page                       yes             faults.t
# body over the 64 MiB cap              yes             faults.t
# 429/503 + Retry-After (GET/DELETE, POST) yes
# redirect loops                        yes
# redirect to another host              yes
# session expiry mid-run                yes             flow.t
# IMDS faults                           one row         retry.t, faults.t, sources.t
# syntax error in a script              yes             cli.t
# missing script                        yes             cli.t
# malformed config file                 yes             config.t
#
# Loopback only: other names resolve inside a private mount namespace (a
# hosts file bind-mounted over /etc/hosts) or fail inside an empty network
# namespace.
. "$(dirname "$0")/../setup"
sim_start
printf 'print(pam.unlock(42).name)\n' > "$TMP/unlock.lua"
U=/xtam/rest/record/unlock/42

# timed CMD...: run, and set ELAPSED_MS to its wall time
timed() {
  local t0=${EPOCHREALTIME/./}
  run "$@"
  ELAPSED_MS=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
}
# under SEC DESC / over SEC DESC: the last timed run took < / >= SEC (the
# upper bound times TEST_SLOWDOWN: check-valgrind)
under() {
  local x=
  ((TEST_SLOWDOWN > 1)) && x=" x $TEST_SLOWDOWN"
  ((ELAPSED_MS < $1 * 1000 * TEST_SLOWDOWN))
  ok $? "$2: bounded (${ELAPSED_MS} ms < $1 s$x)" || diag_run
}
over() {
  ((ELAPSED_MS >= $1 * 1000))
  ok $? "$2: waited (${ELAPSED_MS} ms >= $1 s)"
}
free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
sim_port() { local p=${SIM_PAM_URL##*:}; echo "${p%%/*}"; }
# netns CMD...: CMD in an empty network namespace (77: not available)
netns() {
  if ((EUID == 0)) && unshare -n true 2>/dev/null; then unshare -n "$@"
  elif unshare -rn true 2>/dev/null; then unshare -rn "$@"
  else return 77
  fi
}
# with_hosts FILE CMD...: CMD in a private mount namespace where FILE is
# /etc/hosts (77: not available)
_with_hosts='mount --bind "$1" /etc/hosts || exit 77; shift; exec "$@"'
with_hosts() {
  local u
  if ((EUID == 0)) && unshare -m --propagation private true 2>/dev/null; then
    u=(unshare -m --propagation private)
  elif unshare -rm --propagation private true 2>/dev/null; then
    u=(unshare -rm --propagation private)
  else return 77
  fi
  "${u[@]}" bash -c "$_with_hosts" with_hosts "$@"
}

# ------------------------------------------------------------ connection refused
port=$(free_port)
timed "$PAMSH" --url "https://127.0.0.1:$port/xtam" "$TMP/unlock.lua"
is "$RC" 5 "connection refused: exit 5"
like "$ERR" "^pamsh: POST https://127.0.0.1:$port/xtam/landing: Couldn't connect to server" \
  "connection refused: method, URL and libcurl's reason"
under 3 "connection refused"

# ------------------------------------------------------------ DNS failure
if netns true 2>/dev/null; then
  timed netns timeout 20 "$PAMSH" --timeout 5 --url https://pam.unresolvable.test:6443/xtam -e 'pam_login{token = "x"}'
  is "$RC" 5 "DNS failure: exit 5"
  like "$ERR" "^pamsh: POST https://pam.unresolvable.test:6443/xtam/landing: Couldn't resolve host name" \
    "DNS failure: the name that did not resolve"
  under 6 "DNS failure"
else
  for d in "DNS failure: exit 5" "DNS failure: message" "DNS failure: bounded"; do
    skip "$d" "no network namespaces"
  done
fi

# ------------------------------------------------------------ untrusted certificate
simctl reset-log
timed env -u PAMSH_CACERT "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "untrusted certificate: exit 5"
like "$ERR" "^pamsh: POST https://127.0.0.1:[0-9]+/xtam/landing: SSL peer certificate .*unable to get local issuer certificate \(pass the server's CA with --cacert FILE\)$" \
  "untrusted certificate: TLS reason and the --cacert hint"
is "$(simctl count pam /)" 0 "untrusted certificate: nothing (no token) sent to PAM"
under 3 "untrusted certificate"

# ------------------------------------------------------------ hostname mismatch
# pam.mismatch.test -> 127.0.0.1 in a private /etc/hosts; the simulator's
# certificate names only localhost and 127.0.0.1
printf '127.0.0.1 localhost\n127.0.0.1 pam.mismatch.test\n' > "$TMP/hosts"
mm_url="https://pam.mismatch.test:$(sim_port)/xtam"
if with_hosts "$TMP/hosts" true 2>/dev/null; then
  simctl reset-log
  timed with_hosts "$TMP/hosts" timeout 20 "$PAMSH" --url "$mm_url" --cacert "$SIM_CA" "$TMP/unlock.lua"
  is "$RC" 5 "hostname mismatch: exit 5"
  like "$ERR" "^pamsh: POST $mm_url/landing: SSL peer certificate .*no alternative certificate subject name matches target host name 'pam.mismatch.test'" \
    "hostname mismatch: the name is named"
  is "$(simctl count pam /)" 0 "hostname mismatch: nothing (no token) sent"
  under 3 "hostname mismatch"
  run with_hosts "$TMP/hosts" timeout 20 "$PAMSH" --url "$mm_url" --insecure "$TMP/unlock.lua"
  is "$RC:$OUT" "0:db-prod" "hostname mismatch: (control) the name does reach the simulator"
else
  for d in exit message "nothing sent" bounded control; do
    skip "hostname mismatch: $d" "no mount namespaces"
  done
fi

# ------------------------------------------------------------ slow headers, slow body
simctl fault pam "$U" slow delay=10 count=1
timed "$PAMSH" --timeout 1 "$TMP/unlock.lua"
is "$RC" 5 "slow headers: exit 5"
like "$ERR" "^pamsh: GET https://127.0.0.1:[0-9]+$U: Timeout was reached: .* with 0 bytes received" \
  "slow headers: a timeout, nothing received"
under 4 "slow headers (--timeout 1)"

simctl fault pam "$U" slow_body delay=10 count=1
timed env PAMSH_TIMEOUT=1 "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "slow body: exit 5"
like "$ERR" "^pamsh: GET https://127.0.0.1:[0-9]+$U: Timeout was reached: .* with [1-9][0-9]* out of [0-9]+ bytes received" \
  "slow body: a timeout, part of the body received"
under 4 "slow body (PAMSH_TIMEOUT=1)"

# ------------------------------------------------------------ reset, truncated
simctl reset-log
simctl fault pam "$U" reset count=1
timed "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "connection reset mid-body: exit 5"
like "$ERR" "^pamsh: GET https://127.0.0.1:[0-9]+$U: Failure when receiving data from the peer: .*Connection reset by peer" \
  "connection reset mid-body: says so"
is "$(simctl count pam "$U")" 1 "connection reset mid-body: not retried"
under 3 "connection reset mid-body"

simctl fault pam "$U" truncated count=1
timed "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "truncated body (Content-Length): exit 5"
like "$ERR" "^pamsh: GET https://127.0.0.1:[0-9]+$U: Transferred a partial file: transfer closed with [0-9]+ bytes remaining to read" \
  "truncated body: bytes missing"
under 3 "truncated body"

simctl fault pam "$U" truncated_chunked count=1
timed "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "truncated chunked body: exit 5"
like "$ERR" "^pamsh: GET https://127.0.0.1:[0-9]+$U: Transferred a partial file: transfer closed with outstanding read data remaining" \
  "truncated chunked body: says so"
under 3 "truncated chunked body"

# ------------------------------------------------------------ bodies
simctl fault pam "$U" garbage count=1
timed "$PAMSH" "$TMP/unlock.lua"
is "$RC" 4 "2xx claiming JSON that does not parse: exit 4"
like "$ERR" "^pamsh: GET /rest/record/unlock/42: HTTP 200 response is not valid JSON \(.+\)$" \
  "2xx claiming JSON: the message says JSON"
under 3 "2xx claiming JSON"
simctl fault pam "$U" garbage count=1
run "$PAMSH" request GET /rest/record/unlock/42
is "$RC" 4 "2xx claiming JSON, pamsh request: exit 4 too"

simctl fault pam "$U" html status=500 count=1
timed "$PAMSH" "$TMP/unlock.lua"
is "$RC" 4 "HTML error page: exit 4"
is "$ERR" "pamsh: GET /rest/record/unlock/42: 500 Internal Server Error" "HTML error page: its <title>, the status"
under 3 "HTML error page"
simctl fault pam "$U" status status=502 'body=<html><body>upstream down</body></html>' content_type=text/html count=1
run "$PAMSH" "$TMP/unlock.lua"
is "$RC:$ERR" "4:pamsh: GET /rest/record/unlock/42: HTTP 502" "HTML error page without a title: HTTP status"

simctl fault pam "$U" huge size=70000000 count=1
timed "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "body over the cap: exit 5"
like "$ERR" "^pamsh: GET https://127.0.0.1:[0-9]+$U: response body exceeds the 64 MiB cap$" \
  "body over the cap: says so"
under 15 "body over the cap"

# ------------------------------------------------------------ 429 / 503
simctl reset-log
simctl fault pam "$U" status status=429 retry_after=1
timed "$PAMSH" "$TMP/unlock.lua"
simctl clear pam
is "$RC" 4 "GET 429 for good: exit 4"
is "$ERR" "pamsh: GET /rest/record/unlock/42: HTTP 429 Too Many Requests" "GET 429 for good: the status"
is "$(simctl count pam "$U" GET)" 3 "GET 429 for good: tried 3 times (2 retries)"
over 2 "GET 429 for good: Retry-After 1 honoured twice"
under 5 "GET 429 for good"

simctl reset-log
simctl fault pam "$U" status status=503 retry_after=1 count=1
timed "$PAMSH" "$TMP/unlock.lua"
is "$RC:$OUT" "0:db-prod" "GET 503 once: retried, exit 0"
is "$(simctl count pam "$U" GET)" 2 "GET 503 once: two requests"
over 1 "GET 503 once: Retry-After 1 honoured"

simctl reset-log
simctl fault pam /xtam/rest/record/42 status status=503 retry_after=0 method=DELETE
timed "$PAMSH" -e 'pam.delete("/rest/record/42")'
simctl clear pam
is "$RC" 4 "DELETE 503 for good: exit 4"
is "$(simctl count pam /xtam/rest/record/42 DELETE)" 3 "DELETE 503 for good: tried 3 times"
under 3 "DELETE 503 for good (Retry-After 0)"

simctl reset-log
simctl fault pam /xtam/rest/folder/create status status=429 retry_after=3
timed "$PAMSH" -e 'pam.create_folder(1, "x")'
simctl clear pam
is "$RC" 4 "POST 429: exit 4"
is "$ERR" "pamsh: POST /rest/folder/create/1: HTTP 429 Too Many Requests" "POST 429: the status"
is "$(simctl count pam /xtam/rest/folder/create POST)" 1 "POST 429: not retried"
under 2 "POST 429: no wait (Retry-After 3)"

# ------------------------------------------------------------ redirects
simctl reset-log
simctl fault pam "$U" redirect status=301 location="$U"
timed "$PAMSH" "$TMP/unlock.lua"
simctl clear pam
is "$RC" 4 "redirect loop: exit 4"
is "$ERR" "pamsh: GET /rest/record/unlock/42: HTTP 301 redirect to $U, not followed" "redirect loop: not followed"
is "$(simctl count pam "$U")" 1 "redirect loop: one request"
under 3 "redirect loop"

simctl reset-log
simctl fault pam "$U" redirect location=/xtam/login
timed "$PAMSH" "$TMP/unlock.lua"
simctl clear pam
is "$RC" 4 "redirect loop to the login page: exit 4"
is "$ERR" "pamsh: GET /rest/record/unlock/42: HTTP 302 redirect to /xtam/login, not followed" \
  "redirect loop to the login page: not followed"
is "$(simctl count pam /xtam/landing):$(simctl count pam "$U")" "2:2" \
  "redirect loop to the login page: one re-login, one retry, then stop"
under 3 "redirect loop to the login page"

# another origin that the simulator can see: its IMDS port
other="$SIM_IMDS_URL/collect"
simctl reset-log
simctl fault pam "$U" redirect location="$other?next=/xtam" count=1
timed "$PAMSH" "$TMP/unlock.lua"
is "$RC" 4 "redirect to another host: exit 4"
is "$ERR" "pamsh: GET /rest/record/unlock/42: HTTP 302 redirect to $other?next=/xtam, not followed" \
  "redirect to another host: not followed, Location shown"
is "$(simctl count any /collect)" 0 "redirect to another host: nothing requested there"
is "$(simctl log any | "$PYTHON" -c 'import json, sys
print(" ".join("%s:%s:%s" % (e["target"], e["method"], e["path"]) for e in map(json.loads, sys.stdin)))')" \
  "imds:GET:/metadata/identity/oauth2/token pam:POST:/xtam/landing pam:GET:$U" \
  "redirect to another host: no other request at all (no cookie, no token followed)"
under 3 "redirect to another host"

# ------------------------------------------------------------ session expiry
simctl reset-log
timed "$PAMSH" -e '
  print(pam.unlock(42).name)
  assert(os.execute(os.getenv("TOP") .. "/tests/sim/simctl expire"))
  print(pam.unlock(44).name)'
is "$RC:$OUT" $'0:db-prod\nweb-01' "session expiry mid-run: exit 0, both records"
is "$(simctl count pam /xtam/landing)" 2 "session expiry mid-run: exactly one re-login"
is "$(simctl count pam /xtam/rest/record/unlock/44)" 2 "session expiry mid-run: the 401, then one retry"
under 5 "session expiry mid-run"

simctl reset-log
simctl fault pam "$U" redirect location="/cas/login?service=x" count=1
run "$PAMSH" "$TMP/unlock.lua"
is "$RC:$OUT" "0:db-prod" "expiry as a redirect to the CAS login: re-login, exit 0"
is "$(simctl count pam /xtam/landing)" 2 "expiry as a redirect to the CAS login: one re-login"

simctl reset-log
timed "$PAMSH" -e 'print(pam.unlock(43).name)'
is "$RC" 4 "a 401 that persists: exit 4"
is "$ERR" "pamsh: GET /rest/record/unlock/43: HTTP 401 Unauthorized" "a 401 that persists: the server's text"
is "$(simctl count pam /xtam/landing)" 2 "a 401 that persists: one re-login only"
under 3 "a 401 that persists"

# ------------------------------------------------------------ IMDS faults
# (retry.t: every retried and non-retried status, 410, Retry-After, refresh;
# faults.t: 400, not JSON, nothing listening, hanging)
simctl reset-log
simctl fault imds /metadata status status=500
timed "$PAMSH" --timeout 1 "$TMP/unlock.lua"
simctl clear imds
is "$RC" 3 "IMDS 500 for good: exit 3"
like "$ERR" "^pamsh: imds: HTTP 500 from http://127.0.0.1:[0-9]+/metadata/identity/oauth2/token: " \
  "IMDS 500 for good: source, endpoint, status"
n=$(simctl count imds /metadata)
ok $( ((n >= 2 && n <= 5)); echo $?) "IMDS 500 for good: retried, a bounded number of times ($n)"
is "$(simctl count pam /)" 0 "IMDS 500 for good: PAM never contacted"
under 6 "IMDS 500 for good (4 x --timeout)"

# ------------------------------------------------------------ scripts
simctl reset-log
printf 'local a = 1\nlocal b = = 2\nprint(a)\n' > "$TMP/syntax.lua"
timed "$PAMSH" "$TMP/syntax.lua"
is "$RC" 1 "syntax error: exit 1"
is "$ERR" "pamsh: $TMP/syntax.lua:2: unexpected symbol near '='" "syntax error: file:line and Lua's reason"
is "$(simctl count any /)" 0 "syntax error: nothing sent"
under 2 "syntax error"

timed "$PAMSH" "$TMP/missing.lua"
is "$RC" 2 "missing script: exit 2"
is "$ERR" "pamsh: cannot open script $TMP/missing.lua: No such file or directory" "missing script: named"
under 2 "missing script"

# ------------------------------------------------------------ malformed config file
printf '[default]\nurl = %s\n' "$SIM_PAM_URL" > "$TMP/good.conf"
printf '[default]\nurl = %s\nthis line is not a setting\n' "$SIM_PAM_URL" > "$TMP/bad.conf"
printf '[default]\nresource = %s\nbogus-key = 1\n' "$SIM_RESOURCE" > "$TMP/unknown.conf"
run "$PAMSH" --config "$TMP/good.conf" -e ''
if [[ $RC == 2 && $ERR == *"unknown option '--config'"* ]]; then
  for d in "exit 2" "file:line" "nothing sent" bounded "unknown key: exit 2" \
           "unknown key: file:line" "default path: exit 2" "default path: file:line"; do
    skip "malformed config file: $d" "--config is not built yet"
  done
else
  simctl reset-log
  timed "$PAMSH" --config "$TMP/bad.conf" "$TMP/unlock.lua"
  is "$RC" 2 "malformed config file: exit 2"
  like "$ERR" "^pamsh: $TMP/bad\.conf:3: " "malformed config file: file:line"
  is "$(simctl count any /)" 0 "malformed config file: nothing sent"
  under 2 "malformed config file"
  run env PAMSH_CONFIG="$TMP/unknown.conf" "$PAMSH" "$TMP/unlock.lua"
  is "$RC" 2 "malformed config file: unknown key: exit 2"
  like "$ERR" "^pamsh: $TMP/unknown\.conf:3: .*bogus-key" "malformed config file: unknown key: file:line, the key"
  # the file every run reads by default
  mkdir -p "$XDG_CONFIG_HOME/pamsh" && cp "$TMP/bad.conf" "$XDG_CONFIG_HOME/pamsh/config"
  run "$PAMSH" "$TMP/unlock.lua"
  rm -f "$XDG_CONFIG_HOME/pamsh/config"
  is "$RC" 2 "malformed config file: default path: exit 2"
  like "$ERR" "^pamsh: $XDG_CONFIG_HOME/pamsh/config:3: " "malformed config file: default path: file:line"
fi

# ------------------------------------------------------------ certificates
# (last: each needs the simulator restarted with another certificate)
sim_stop
sim_start --pam-cert expired
simctl reset-log
timed "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "expired certificate: exit 5"
like "$ERR" "^pamsh: POST https://127.0.0.1:[0-9]+/xtam/landing: SSL peer certificate .*certificate has expired" \
  "expired certificate: says expired"
is "$(simctl count pam /)" 0 "expired certificate: nothing (no token) sent"
under 3 "expired certificate"

sim_stop
sim_start --pam-cert otherhost
timed "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "certificate for another name: exit 5"
like "$ERR" "^pamsh: POST https://127.0.0.1:[0-9]+/xtam/landing: SSL peer certificate .*no alternative certificate subject name matches target host name '127.0.0.1'" \
  "certificate for another name: the name is named"
under 3 "certificate for another name"

done_testing
