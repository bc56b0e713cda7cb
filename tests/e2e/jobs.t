#!/usr/bin/env bash
# Scheduled jobs: --lock, --lock-wait, --deadline, SIGTERM/SIGINT, log
# formats, --metrics, the systemd units.
. "$(dirname "$0")/../setup"
sim_start
export TOP
LOCK=$TMP/job.lock

# --- --lock ---------------------------------------------------------------------
"$PAMSH" --lock "$LOCK" -e 'os.execute("sleep 3")' 2>/dev/null &
first=$!
for _ in $(seq 50); do [ -s "$LOCK" ] && break; sleep 0.05; done
t0=$(now)
run "$PAMSH" --lock "$LOCK" -e 'io.open(os.getenv("TMP") .. "/second-ran", "w"):close()'
is "$RC" 75 "a second run while the lock is held: exit 75"
like "$ERR" "another run holds the lock $LOCK \(pid $first\)" "the message names the holder's pid"
ok $([ ! -e "$TMP/second-ran" ]; echo $?) "the second run did not run its script"
ok $(took_under "$t0" 1; echo $?) "the second run gave up at once"
is "$(stat -c %a "$LOCK")" 600 "the lock file is created 0600"
t0=$(now)
run "$PAMSH" --lock "$LOCK" --lock-wait 0.5 -e ''
is "$RC" 75 "--lock-wait shorter than the holder: exit 75"
ok $(took_over "$t0" 0.5; echo $?) "--lock-wait 0.5 waited"
t0=$(now)
run "$PAMSH" --lock "$LOCK" --lock-wait 10 -e 'print("got it")'
is "$RC" 0 "--lock-wait longer than the holder: exit 0"
is "$OUT" "got it" "--lock-wait: ran once the lock was free"
ok $(took_over "$t0" 1; echo $?) "--lock-wait: it did wait for the first run"
wait "$first"
ok $([ -e "$LOCK" ]; echo $?) "the lock file is not deleted"
run "$PAMSH" --lock-wait 1 -e ''
is "$RC" 2 "--lock-wait without --lock: exit 2"
run "$PAMSH" --lock /nonexistent-dir/x.lock -e ''
is "$RC" 2 "an unusable lock file: exit 2"

# --- --deadline ---------------------------------------------------------------------
simctl fault pam /xtam/rest/record/unlock/42 slow delay=10 count=1
t0=$(now)
run "$PAMSH" --deadline 1 --metrics "$TMP/deadline.prom" -e 'pam.unlock(42)'
is "$RC" 124 "deadline during a slow request: exit 124"
like "$ERR" "the deadline of 1 s passed" "deadline: says so"
ok $(took_under "$t0" 3; echo $?) "deadline: the request was aborted promptly"
like "$(cat "$TMP/deadline.prom")" "pamsh_last_run_exit_code 124" "deadline: metrics written"
run "$PAMSH" --deadline 0.5 -e 'local ok, e = pcall(function() while true do end end) print(ok, e.kind) while true do end'
is "$RC" 124 "deadline in a busy loop that catches the first error: still exit 124"
run "$PAMSH" --deadline x -e ''
is "$RC" 2 "a bad --deadline: exit 2"

# --- signals during a slow request -----------------------------------------------------
signal_run() {  # SIG NAME
  simctl fault pam /xtam/rest/record/unlock/42 slow delay=10 count=1
  rm -f "$TMP/closed-$2" "$TMP/$2.prom"
  "$PAMSH" --metrics "$TMP/$2.prom" -e "
    local guard <close> = setmetatable({}, {__close = function()
      io.open(os.getenv('TMP') .. '/closed-$2', 'w'):close() end})
    pam.unlock(42)" 2>"$TMP/$2.err" &
  local pid=$!
  sleep 1.5
  local t=$(now)
  kill -"$1" "$pid"
  wait "$pid"
  RC=$?
  T_SIG=$t
}
signal_run TERM term
is "$RC" 143 "SIGTERM during a request: exit 143"
ok $(took_under "$T_SIG" 1; echo $?) "SIGTERM: out within a second"
ok $([ -e "$TMP/closed-term" ]; echo $?) "SIGTERM: to-be-closed variables were closed"
like "$(cat "$TMP/term.err")" "terminated \(SIGTERM\)" "SIGTERM: says so"
like "$(cat "$TMP/term.prom")" "pamsh_last_run_exit_code 143" "SIGTERM: metrics written"
signal_run INT int
is "$RC" 130 "SIGINT during a request: exit 130"
ok $(took_under "$T_SIG" 1; echo $?) "SIGINT: out within a second"
ok $([ -e "$TMP/closed-int" ]; echo $?) "SIGINT: to-be-closed variables were closed"
like "$(cat "$TMP/int.prom")" "pamsh_last_run_exit_code 130" "SIGINT: metrics written"

# --- logs ------------------------------------------------------------------------------------
run "$PAMSH" --log-format json -e 'log.info("unlocked", {id = 42, name = "db prod", password = "S3cr3t-x"})
  log.debug("not shown") error(pam.core.error{kind = "http", status = 401, message = "denied"})'
is "$RC" 4 "json logs: the run's exit code"
parsed=$(printf '%s\n' "$ERR_RAW" | "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(d["level"], d["msg"], d.get("id"), d.get("password"), d.get("kind"), d.get("status"), d.get("exit"), "T" in d["ts"])')
is "$parsed" "info unlocked 42 [REDACTED] None None None True
error denied None None http 401 4 True" "json logs: one object a line, fields, secrets redacted, the final error too"
run env PAMSH_LOG_FORMAT=json "$PAMSH" -v -e 'log.debug("shown")'
like "$ERR_RAW" '"level":"debug","msg":"shown"' "PAMSH_LOG_FORMAT=json and -v: debug lines"
run "$PAMSH" -e 'log.warn("careful", {n = 1})'
like "$ERR_RAW" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z pamsh: warning: careful n=1$' "text logs: ISO-8601 time stamps when stderr is not a terminal"
run "$PAMSH" --quiet -e 'log.info("hidden") log.warn("kept")'
is "$ERR" "pamsh: warning: kept" "--quiet: warnings and errors only"
run "$PAMSH" --log-format xml -e ''
is "$RC" 2 "an unknown --log-format: exit 2"

# --- metrics ------------------------------------------------------------------------------------
run "$PAMSH" --metrics "$TMP/ok.prom" -e 'pam.unlock(42) pam.unlock(44) pam.folder(3)'
is "$RC" 0 "metrics: a good run"
m=$(cat "$TMP/ok.prom")
like "$m" "pamsh_last_run_exit_code 0" "metrics: exit code 0"
like "$m" "pamsh_last_run_duration_seconds [0-9]+\.[0-9]+" "metrics: duration"
like "$m" "pamsh_last_run_timestamp_seconds 1[0-9]{9}\.[0-9]+" "metrics: timestamp"
like "$m" 'pamsh_requests_total\{method="GET",status="200"\} 3' "metrics: three GETs answered 200"
like "$m" 'pamsh_requests_total\{method="POST",status="302"\} 1' "metrics: the landing"
like "$m" "# TYPE pamsh_requests_total counter" "metrics: Prometheus type lines"
is "$(ls "$TMP" | grep -c 'prom.tmp')" 0 "metrics: no temporary files left"
run "$PAMSH" --metrics "$TMP/fail.prom" -e 'pam.unlock(43)'
is "$RC" 4 "metrics: a failed run"
like "$(cat "$TMP/fail.prom")" "pamsh_last_run_exit_code 4" "metrics: exit code 4"
like "$(cat "$TMP/fail.prom")" 'pamsh_requests_total\{method="GET",status="401"\} 2' "metrics: the 401s (first try and the retry)"
simctl fault pam /xtam/rest/record/unlock/42 slow delay=5 count=1
run "$PAMSH" --timeout 1 --metrics "$TMP/err.prom" -e 'pam.unlock(42)'
like "$(cat "$TMP/err.prom")" 'pamsh_requests_total\{method="GET",status="error"\} 1' "metrics: transport failures as status=\"error\""
run "$PAMSH" --metrics "$TMP/exit.prom" -e 'os.exit(7)'
is "$RC" 7 "metrics: os.exit(7)"
like "$(cat "$TMP/exit.prom")" "pamsh_last_run_exit_code 7" "metrics: written on os.exit too"

# --- systemd units ----------------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -p "$TMP/units"
  sed "s|/usr/local/bin/pamsh|$PAMSH|" "$TOP/scripts/systemd/pamsh-job@.service" > "$TMP/units/pamsh-job@.service"
  cp "$TOP/scripts/systemd/pamsh-job@.timer" "$TMP/units/"
  run env SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$TMP/units/pamsh-job@demo.service" "$TMP/units/pamsh-job@demo.timer"
  is "$RC" 0 "systemd-analyze verify accepts the service and timer"
  is "$ERR" "" "systemd-analyze verify: no warnings"
else
  skip "systemd-analyze verify" "systemd-analyze is not installed"
fi
for key in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes ReadWritePaths= "--lock " "--deadline " "--metrics "; do
  like "$(cat "$TOP/scripts/systemd/pamsh-job@.service")" "$key" "the service sets $key"
done

done_testing
