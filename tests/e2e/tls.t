#!/usr/bin/env bash
# TLS to the PAM server: verification on by default, --cacert, --insecure.
. "$(dirname "$0")/../setup"
sim_start
printf 'print(pam.unlock(42).name)\n' > "$TMP/unlock.lua"

run "$PAMSH" "$TMP/unlock.lua"
is "$RC" 0 "PAMSH_CACERT trusts the simulator"
run env -u PAMSH_CACERT "$PAMSH" --cacert "$SIM_CA" "$TMP/unlock.lua"
is "$RC" 0 "--cacert trusts the simulator"
is "$OUT" "db-prod" "--cacert: the record"

simctl reset-log
run env -u PAMSH_CACERT "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "untrusted certificate: exit 5"
like "$ERR" "^pamsh: POST https://127.0.0.1:[0-9]+/xtam/landing: .*(certificate|SSL)" "untrusted certificate: TLS named"
like "$ERR" "--cacert" "untrusted certificate: says how to fix it"
is "$(simctl count pam /xtam/landing)" 0 "untrusted certificate: no token was sent"

run env -u PAMSH_CACERT "$PAMSH" --insecure "$TMP/unlock.lua"
is "$RC" 0 "--insecure: works"
like "$ERR" "warning: --insecure" "--insecure: warns"

# a CA that did not sign the server's certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=other CA" -keyout "$TMP/other.key" -out "$TMP/other.pem" 2>/dev/null
run "$PAMSH" --cacert "$TMP/other.pem" "$TMP/unlock.lua"
is "$RC" 5 "wrong CA: exit 5"

done_testing
