#!/usr/bin/env bash
# Scheduled jobs: --lock, --lock-wait, --deadline, SIGTERM/SIGINT, log
# formats, --metrics, the systemd units.
. "$(dirname "$0")/../setup"
sim_start
export TOP
LOCK=$TMP/job.lock
# waits that let a process get somewhere, longer when every process is
# slower (TEST_SLOWDOWN: check-valgrind)
S=$TEST_SLOWDOWN

# --- --lock ---------------------------------------------------------------------
"$PAMSH" --lock "$LOCK" -e "os.execute('sleep $((3 * S))')" 2>/dev/null &
first=$!
for _ in $(seq $((50 * S))); do [ -s "$LOCK" ] && break; sleep 0.05; done
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
run "$PAMSH" --lock "$LOCK" --lock-wait $((10 * S)) -e 'print("got it")'
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
run "$PAMSH" -v --deadline "$S" --metrics "$TMP/deadline.prom" -e 'pam.unlock(42)'
is "$RC" 124 "deadline during a slow request: exit 124"
like "$ERR" "the deadline of $S s passed" "deadline: says so"
ok $(took_under "$t0" 3; echo $?) "deadline: the request was aborted promptly"
like "$(cat "$TMP/deadline.prom")" "pamsh_last_run_exit_code 124" "deadline: metrics written"
like "$ERR" $'the deadline of [^\n]*\npamsh: debug: logged out of PAM$' "deadline: logged out of PAM at the end (-v)"
run "$PAMSH" -v --deadline 0.5 -e 'local ok, e = pcall(function() while true do end end) print(ok, e.kind) while true do end'
is "$RC" 124 "deadline in a busy loop that catches the first error: still exit 124"
unlike "$ERR" "logged out" "deadline before any login: no session to log out of"
run "$PAMSH" --deadline x -e ''
is "$RC" 2 "a bad --deadline: exit 2"

# --- signals during a slow request -----------------------------------------------------
signal_run() {  # SIG NAME
  simctl fault pam /xtam/rest/record/unlock/42 slow delay=10 count=1
  rm -f "$TMP/closed-$2" "$TMP/$2.prom"
  "$PAMSH" -v --metrics "$TMP/$2.prom" -e "
    local guard <close> = setmetatable({}, {__close = function()
      io.open(os.getenv('TMP') .. '/closed-$2', 'w'):close() end})
    pam.unlock(42)" 2>"$TMP/$2.err" &
  local pid=$!
  sleep "$(awk -v s="$S" 'BEGIN { print 1.5 * s }')"
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
like "$(cat "$TMP/term.err")" $'terminated \\(SIGTERM\\)[^\n]*\n[^\n]*pamsh: debug: logged out of PAM$' \
  "SIGTERM: logged out of PAM after the cleanup, the run's last line (-v)"
signal_run INT int
is "$RC" 130 "SIGINT during a request: exit 130"
ok $(took_under "$T_SIG" 1; echo $?) "SIGINT: out within a second"
ok $([ -e "$TMP/closed-int" ]; echo $?) "SIGINT: to-be-closed variables were closed"
like "$(cat "$TMP/int.prom")" "pamsh_last_run_exit_code 130" "SIGINT: metrics written"
like "$(cat "$TMP/int.err")" "interrupted \(SIGINT\)" "SIGINT: says so"
like "$(cat "$TMP/int.err")" "pamsh: debug: logged out of PAM$" "SIGINT: logged out of PAM (-v)"

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
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
run "$PAMSH" -e 'log.error("rotation failed", {id = 7, password = "S3cr3t-e"}) print("went on")'
is "$RC" 0 "log.error from a script: the run goes on"
like "$ERR_RAW" "^$TS pamsh: rotation failed id=7 password=\[REDACTED\]\$" "log.error, text: time stamp, message, fields, secret redacted"
run "$PAMSH" --log-format json -e 'log.error("rotation failed", {id = 7})'
is "$(printf '%s\n' "$ERR_RAW" | "$PYTHON" -c '
import json, sys
d = json.loads(sys.stdin.read())
print(d["level"], d["msg"], d["id"], sorted(d))')" "error rotation failed 7 ['id', 'level', 'msg', 'ts']" "log.error, JSON: one object, level error"
run "$PAMSH" -e 'pam.unlock(43)'
is "$RC" 4 "a run ending on an API error: exit 4"
like "$ERR_RAW" "^$TS pamsh: GET /rest/record/unlock/43: HTTP 401 Unauthorized\$" "the run-ending error, text: one time-stamped line"
run "$PAMSH" -e 'error("boom")'
like "$ERR_RAW" "^$TS pamsh: \(command line\):1: boom"$'\n'"stack traceback:" "a script error, text: time-stamped message, then the traceback"
# on a terminal, text lines carry no time stamp (the reader has a clock)
mkdir -p "$TMP/pty-log"
printf 'wait\n' | TERM=dumb timeout -k 5 60 "$PYTHON" "$TOP/tests/ptydrive.py" "$TMP/pty-log" "$PAMSH" \
  -e 'log.warn("careful", {n = 1}) log.error("gave up", {id = 7})
      error(pam.core.error{kind = "http", status = 401, message = "denied"})'
is "$(<"$TMP/pty-log/exit")" 4 "stderr a terminal: the run's exit code"
is "$(<"$TMP/pty-log/log")" $'pamsh: warning: careful n=1\npamsh: gave up id=7\npamsh: denied' \
  "stderr a terminal: text lines without time stamps, the run-ending error too"
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
# where node_exporter is not installed (the unit's ReadWritePaths=-...)
run "$PAMSH" --metrics "$TMP/no-such-dir/job.prom" -e 'print("ran")'
is "$RC:$OUT" "0:ran" "metrics directory missing: the job runs, with its own exit code"
like "$ERR" "^pamsh: cannot write metrics to $TMP/no-such-dir/job.prom.tmp.[0-9]+: No such file or directory\$" "metrics directory missing: logged"

# --- systemd units ----------------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -p "$TMP/units"
  sed "s|/usr/local/bin/pamsh|$PAMSH|" "$TOP/scripts/systemd/pamsh-job@.service" > "$TMP/units/pamsh-job@.service"
  cp "$TOP/scripts/systemd/pamsh-job@.timer" "$TMP/units/"
  # verify runs `man` for Documentation=man:pamsh(1): the page of this tree
  mkdir -p "$TMP/units/man/man1" && ln -s "$TOP/man/pamsh.1" "$TMP/units/man/man1/pamsh.1"
  run env SYSTEMD_LOG_LEVEL=warning MANPATH="$TMP/units/man" systemd-analyze verify "$TMP/units/pamsh-job@demo.service" "$TMP/units/pamsh-job@demo.timer"
  is "$RC" 0 "systemd-analyze verify accepts the service and timer"
  is "$ERR" "" "systemd-analyze verify: no warnings"
else
  skip "systemd-analyze verify" "systemd-analyze is not installed"
fi
unit=$(cat "$TOP/scripts/systemd/pamsh-job@.service")
for key in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes ReadWritePaths= "--lock " "--deadline " "--metrics "; do
  like "$unit" "$key" "the service sets $key"
done
# ProtectSystem=strict fails the unit on a missing ReadWritePaths entry
# unless it starts with '-'; the lock is in RuntimeDirectory (/run/pamsh)
metrics_dir=$(sed -nE 's|.*--metrics (/[^ ]*)/[^/ ]*\.prom.*|\1|p' <<<"$unit")
like "$metrics_dir" "^/var/lib/" "the service writes metrics under /var/lib"
like "$unit" $'\nReadWritePaths=-'"$metrics_dir"$'\n' "ReadWritePaths names the metrics directory with '-': optional"
like "$unit" $'\nRuntimeDirectory=pamsh\n' "the lock's directory is the RuntimeDirectory"
like "$unit" "--lock /run/pamsh/" "the lock is in /run/pamsh"
unlike "$(grep '^ReadWritePaths' <<<"$unit")" "(^|[= ])/" "no ReadWritePaths entry that must exist"

done_testing
