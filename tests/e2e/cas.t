#!/usr/bin/env bash
# Logins for hosts without a managed identity: the CAS REST ticket flow,
# with a user and password (from PAMSH_PASSWORD or a no-echo prompt, never
# argv) or an API token.
. "$(dirname "$0")/../setup"
sim_start
export TOP
printf 'print(pam.unlock(arg[1] or 42).name)\n' > "$TMP/unlock.lua"

# user + password from the environment
simctl reset-log
run env PAMSH_PASSWORD="$SIM_CAS_PASSWORD" "$PAMSH" --login cas --user "$SIM_CAS_USER" "$TMP/unlock.lua"
is "$RC" 0 "cas user: exit 0"
is "$OUT" "db-prod" "cas user: the record"
is "$(simctl count pam /cas/v1/tickets POST)" 2 "cas user: ticket-granting ticket, then service ticket"
is "$(simctl count pam /xtam/landing)" 0 "cas user: no Azure landing"
is "$(simctl count imds /)" 0 "cas user: no managed identity asked"
like "$(simctl log pam | grep -m1 '"/cas/v1/tickets"')" "username=$SIM_CAS_USER" "cas user: the user name sent"
like "$(simctl log pam | grep 'ticket=ST-' | head -n 1)" '"path": "/xtam/' "cas user: the service ticket redeemed at the PAM URL"

# the API token
run env PAMSH_API_TOKEN="$SIM_CAS_API_TOKEN" "$PAMSH" --login cas "$TMP/unlock.lua" 43
is "$RC" 0 "cas API token: exit 0"
is "$OUT" "hr-payroll" "cas API token: the token's permissions"
run env PAMSH_API_TOKEN="$SIM_CAS_API_TOKEN" PAMSH_LOGIN=cas "$PAMSH" "$TMP/unlock.lua" 42
is "$RC" 4 "cas API token (PAMSH_LOGIN): other records refused"

# failures
run env PAMSH_PASSWORD=wrong-password "$PAMSH" --login cas --user "$SIM_CAS_USER" "$TMP/unlock.lua"
is "$RC" 3 "cas wrong password: exit 3"
like "$ERR" "login refused by https://127.0.0.1:[0-9]+/cas/v1/tickets: HTTP 401" "cas wrong password: says where"
unlike "$ERR" "wrong-password" "cas wrong password: the password is not echoed"
run "$PAMSH" --login cas --user "$SIM_CAS_USER" "$TMP/unlock.lua"
is "$RC" 2 "cas without a password and no terminal: exit 2"
like "$ERR" "needs a password: set PAMSH_PASSWORD" "cas without a password: how to give one"
run "$PAMSH" --login cas "$TMP/unlock.lua"
is "$RC" 2 "cas without a user or API token: exit 2"
run "$PAMSH" --login cas --user "$SIM_CAS_USER" --password x -e ''
is "$RC" 2 "no --password option: passwords never come from argv"
run "$PAMSH" --user "$SIM_CAS_USER" -e ''
is "$RC" 2 "--user without --login cas: exit 2"
run "$PAMSH" --login kerberos -e ''
is "$RC" 2 "--login with an unknown method: exit 2"
simctl set cas=false
run env PAMSH_PASSWORD="$SIM_CAS_PASSWORD" "$PAMSH" --login cas --user "$SIM_CAS_USER" "$TMP/unlock.lua"
is "$RC" 3 "server without CAS: exit 3"
like "$ERR" "Federated Sign-In" "server without CAS: a hint"
simctl set cas=true

# secrets stay out of traces and child processes
run env PAMSH_PASSWORD="$SIM_CAS_PASSWORD" "$PAMSH" -v --login cas --user "$SIM_CAS_USER" -e '
  pam.unlock(42)
  os.execute("env > " .. os.getenv("TMP") .. "/child-env")'
is "$RC" 0 "cas -v: exit 0"
unlike "$ERR" "$SIM_CAS_PASSWORD" "cas -v: no password in the trace"
unlike "$ERR" "TGT-[0-9]+-[A-Za-z0-9]{8}|ST-[0-9]+-[A-Za-z0-9]{8}" "cas -v: no ticket in the trace"
like "$ERR" "password=\[REDACTED\]" "cas -v: the form shown redacted"
unlike "$(cat "$TMP/child-env")" "PAMSH_PASSWORD|$SIM_CAS_PASSWORD" "cas: child processes do not inherit the password"

# expiry: one re-login through CAS
simctl reset-log
run env PAMSH_PASSWORD="$SIM_CAS_PASSWORD" "$PAMSH" --login cas --user "$SIM_CAS_USER" -e '
  print(pam.unlock(42).name)
  assert(os.execute(os.getenv("TOP") .. "/tests/sim/simctl expire"))
  print(pam.unlock(44).name)'
is "$OUT" $'db-prod\nweb-01' "cas expiry: both records"
is "$(simctl count pam /cas/v1/tickets POST)" 4 "cas expiry: logged in again once"

# the Lua API, with the default (Azure) configuration
run "$PAMSH" -e "
  local info = pam_login{method = 'cas', username = '$SIM_CAS_USER', password = pam.secret('$SIM_CAS_PASSWORD')}
  print(info.source, pam.unlock(42).name)
  info = pam_login{method = 'cas', api_token = '$SIM_CAS_API_TOKEN'}
  print(info.source, pam.unlock(43).name)
  print(pcall(pam_login, {method = 'cas', username = 'x'}))"
is "$RC" 0 "pam_login{method = 'cas'}: exit 0"
like "$OUT" $'^cas\tdb-prod\ncas\thr-payroll\nfalse\t.*needs a password' "pam_login{method = 'cas'}: user, API token, and a usage error"

# the no-echo prompt on a terminal
"$PYTHON" - "$PAMSH" "$SIM_CAS_USER" "$SIM_CAS_PASSWORD" "$TMP/unlock.lua" > "$TMP/pty.out" 2>&1 <<'PY'
import os, pty, select, sys, time
pamsh, user, password, script = sys.argv[1:5]
pid, fd = pty.fork()
if pid == 0:
    os.execv(pamsh, [pamsh, "--login", "cas", "--user", user, script])
out, sent, deadline = b"", False, time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    if not sent and b"password for" in out:
        os.write(fd, password.encode() + b"\n")
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
print("\nEXIT", os.waitstatus_to_exitcode(status))
PY
pty_out=$(cat "$TMP/pty.out")
like "$pty_out" "PAM password for $SIM_CAS_USER:" "prompt: asks on the terminal"
like "$pty_out" "db-prod" "prompt: logs in with the typed password"
like "$pty_out" "EXIT 0" "prompt: exit 0"
unlike "$pty_out" "$SIM_CAS_PASSWORD" "prompt: the password is not echoed"

done_testing
