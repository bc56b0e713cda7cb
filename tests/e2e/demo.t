#!/usr/bin/env bash
# make demo: installs what is missing (vendor/install-deps: quick when all
# is there), builds, and runs scripts/demo.lua through tests/sim/with-sim;
# and with-sim itself, which must give the same demo whatever the caller's
# environment says.
. "$(dirname "$0")/../setup"

# a make run from a test is a make of its own, not a job of the one that
# runs the suite
unset MAKEFLAGS MAKELEVEL MFLAGS

# the steps of scripts/demo.lua, as the simulator's data makes them
check_demo() {
  local what=$1
  is "$RC" 0 "$what: exit 0" || diag_run
  like "$OUT" "1\. token from imds for audience $SIM_RESOURCE_RE" "$what: the token's metadata"
  like "$OUT" "2\. logged in to https://127\.0\.0\.1:[0-9]+/xtam" "$what: logged in"
  like "$OUT" "3\. folder 3:"$'\n'" +42 +Database +db-prod" "$what: the folder's entries"
  like "$OUT" "4\. record 42 \"db-prod\":" "$what: the permitted record"
  like "$OUT" $'\n'" +Host +db\.corp\.example"$'\n' "$what: its non-secret fields"
  like "$OUT" $'\n'" +Password +\[REDACTED\]"$'\n' "$what: its secret redacted"
  like "$OUT" "5\. record 43 refused: GET /rest/record/unlock/43: HTTP 401 Unauthorized \(kind http, status 401\)" \
    "$what: the 401 for the unpermitted record"
  like "$ERR" "with-sim: IMDS at http://127\.0\.0\.1:[0-9]+, PAM at https://127\.0\.0\.1:[0-9]+/xtam" \
    "$what: the simulator on loopback"
  unlike "$OUT$ERR" "S3cr3t|eyJ[A-Za-z0-9_-]{20}" "$what: no secret value, no token"
}
# the simulator's default resource (tests/sim/sim.py DEFAULT_RESOURCE)
SIM_RESOURCE_RE=5f0c1b3e-8a1d-4c7e-9a55-2d1f7b0c9e11

# --- make demo ---------------------------------------------------------------
export TMPDIR=$TMP/tmp
mkdir -p "$TMPDIR"
run --timeout $((600 * TEST_SLOWDOWN)) make -C "$TOP" --no-print-directory demo
check_demo "make demo"
is "$(ls -A "$TMPDIR")" "" "make demo: the simulator's directory is gone afterwards"

# --- with-sim in a hostile environment ------------------------------------------
# a user's config file that would send pamsh elsewhere...
mkdir -p "$HOME/.config/pamsh"
printf '[default]\nurl = https://127.0.0.1:9/xtam\nresource = wrong\nclient-id = x\n' \
  > "$HOME/.config/pamsh/config"
# ...one named by PAMSH_CONFIG with a malformed profile...
printf '[profile broken\nurl = \n' > "$TMP/bad-config"
hostile=(env PAMSH_CONFIG="$TMP/bad-config" PAMSH_PROFILE=nope
         PAMSH_CLIENT_ID=x PAMSH_OBJECT_ID=y PAMSH_URL=https://127.0.0.1:9/xtam
         PAMSH_RESOURCE=wrong PAMSH_IMDS_URL=http://127.0.0.1:9 PAMSH_TIMEOUT=abc
         PAMSH_LOGIN=cas PAMSH_LOG_FORMAT=xml PAMSH_CACERT=/nonexistent
         http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
         HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9
         IDENTITY_ENDPOINT=http://127.0.0.1:9/msi/token IDENTITY_HEADER=x
         IMDS_ENDPOINT=http://127.0.0.1:9 MSI_ENDPOINT=http://127.0.0.1:9
         AZURE_FEDERATED_TOKEN_FILE=/nonexistent AZURE_CLIENT_ID=x
         SSL_CERT_FILE=/nonexistent CURL_CA_BUNDLE=/nonexistent
         LUA_INIT='error("LUA_INIT ran")')
# (the same settings break pamsh when it runs without with-sim)
run "${hostile[@]}" "$PAMSH" -e 'print(1)'
is "$RC" 2 "the hostile environment does break a bare pamsh (exit 2)"
run "${hostile[@]}" "$TOP/tests/sim/with-sim" "$PAMSH" "$TOP/scripts/demo.lua"
check_demo "with-sim, hostile environment"
is "$(ls -A "$TMPDIR")" "" "with-sim: the simulator's directory is gone afterwards"

# with-sim hands back the command's status
run "$TOP/tests/sim/with-sim" sh -c 'exit 7'
is "$RC" 7 "with-sim: exits with the command's status"

done_testing
