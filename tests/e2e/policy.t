#!/usr/bin/env bash
# Transport and secret policy: plain http refused off loopback, public-key
# pinning, the identity token only to the configured PAM origin, no core
# dumps or ptrace of a process that holds secrets.
. "$(dirname "$0")/../setup"
sim_start
printf 'print(pam.unlock(42).name)\n' > "$TMP/unlock.lua"

# --pin: the simulator's public key, and another one
pin=$(openssl x509 -in "$SIM_DIR/server.pem" -pubkey -noout 2>/dev/null \
  | openssl pkey -pubin -outform der 2>/dev/null | openssl dgst -sha256 -binary | base64)
run "$PAMSH" --pin "sha256//$pin" "$TMP/unlock.lua"
is "$RC" 0 "--pin with the server's key: exit 0"
run env PAMSH_PIN="sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" "$PAMSH" "$TMP/unlock.lua"
is "$RC" 5 "PAMSH_PIN with another key: exit 5"
like "$ERR" "does not match --pin" "a pin mismatch says so"
run "$PAMSH" --pin md5//x -e ''
is "$RC" 2 "--pin in another form: exit 2"

# the identity token goes only to the configured PAM origin
other=${SIM_PAM_URL/127.0.0.1/127.0.0.2}
simctl reset-log
run "$PAMSH" -e "pam_login{url = '$other'}"
is "$RC" 2 "managed-identity login to another origin: refused, exit 2"
like "$ERR" "refusing to send this machine's identity token to https://127.0.0.2" "says why"
is "$(simctl count imds /)" 0 "no token was even fetched"

# plain http off loopback, inside an empty network namespace so that even a
# bug could not send anything
if unshare -n true 2>/dev/null; then
  run unshare -n "$PAMSH" --url http://pam.example.test:8080/xtam --resource r -e 'pam_login{token = "x"}'
  is "$RC" 2 "http:// to a non-loopback host: refused, exit 2"
  like "$ERR" "refusing plain http:// to pam.example.test" "says why"
  run unshare -n "$PAMSH" --allow-http --url http://192.0.2.1:8080/xtam --resource r --timeout 2 -e 'pam_login{token = "x"}'
  is "$RC" 5 "--allow-http: tried (and, with no network at all, failed: exit 5)"
else
  skip "http refusal" "no network namespaces"; skip "http refusal message" "no network namespaces"
  skip "--allow-http" "no network namespaces"
fi
sim_stop
sim_start --pam-http
run "$PAMSH" "$TMP/unlock.lua"
is "$RC" 0 "plain http:// to a loopback PAM: allowed"

# not dumpable: /proc entries of the process belong to root even when it
# runs as another user (so no ptrace, no core file with secrets)
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  owner=$(cd / && env -u PAMSH_CACERT setpriv --reuid=65534 --regid=65534 --clear-groups "$PAMSH" -e '
    local pid = io.open("/proc/self/stat"):read("n")
    io.write(io.popen("stat -c %U /proc/" .. pid .. "/environ"):read("a"))' 2>&1)
  is "$owner" "root" "pamsh is not dumpable (its /proc files stay root's under another user)"
else
  skip "not dumpable" "needs root and setpriv"
fi

done_testing
