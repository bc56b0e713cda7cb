#!/usr/bin/env bash
# pamsh doctor: every step of the chain, a fix for each failure, exit 0
# only when all pass.
. "$(dirname "$0")/../setup"
sim_start

run "$PAMSH" doctor
is "$RC" 0 "doctor: all good, exit 0"
is "$(grep -c '^✓' <<<"$OUT")" 7 "doctor: seven passing steps"
for step in "identity source: imds" "token obtained" "token audience" "token expiry" \
            "TLS to the PAM server: certificate CN = localhost, issued by CN = pamsh-sim test CA" \
            "login: the landing accepted" "read call: GET /rest/folder/list/1 answered 200"; do
  like "$OUT" "✓ $step" "doctor: ✓ $step"
done
like "$OUT" "all checks passed" "doctor: says so"
unlike "$OUT$ERR" "eyJ|S3cr3t" "doctor: no secrets"

# wrong audience: the landing refuses
run "$PAMSH" --resource api://wrong doctor
is "$RC" 3 "wrong resource: exit 3"
like "$OUT" "✗ login: login refused" "wrong resource: login fails"
like "$OUT" "fix: most often the audience is wrong: --resource must be" "wrong resource: the fix names --resource"
like "$OUT" "xtam.landing.azure_auth=true" "wrong resource: and the server settings"
like "$OUT" "MFA is set to None" "wrong resource: and MFA"
like "$OUT" "AAD: directory" "wrong resource: and the AAD: directory"
like "$OUT" "- read call: skipped" "wrong resource: read call skipped"

# the identity endpoint hands out a token for another audience than
# --resource: the audience step fails, with its fix, and sets the exit code
simctl set imds_aud=api://some-other-app
run "$PAMSH" doctor
is "$RC" 3 "audience mismatch: exit 3"
like "$OUT" "✓ token obtained" "audience mismatch: the token was obtained"
like "$OUT" "✗ token audience: api://some-other-app, but --resource is $SIM_RESOURCE" "audience mismatch: ✗ naming both"
like "$OUT" "✗ token audience: [^"$'
'"]*"$'
'"    fix: the PAM server accepts tokens for its App Registration: pass --resource <its client ID>" \
  "audience mismatch: the fix, under the step"
like "$OUT" "✓ token expiry" "audience mismatch: the other steps still run"
like "$OUT" "some checks failed" "audience mismatch: says so"
simctl set imds_aud=

# clock skew: the issuer's clock far from this machine's
simctl set imds_skew=-90000
run "$PAMSH" doctor
is "$RC" 3 "expired token (clock ahead): exit 3"
like "$OUT" "✗ token expiry: expired at 20[0-9-]+ [0-9:]+Z"$'
'"    fix: check this machine's clock \(timedatectl\), then try again" \
  "expired token: ✗ with its fix"
like "$OUT" "✓ token audience" "expired token: the audience still checked"
simctl set imds_skew=7200
run "$PAMSH" doctor
is "$RC" 3 "token not yet valid (clock behind): exit 3"
like "$OUT" "✗ token expiry: not valid before 20[0-9-]+ [0-9:]+Z"$'
'"    fix: this machine's clock is behind: check it \(timedatectl\)" \
  "token not yet valid: ✗ with its fix"
like "$OUT" "✗ login: .*not yet valid" "token not yet valid: and the landing refuses it"
simctl set imds_skew=0 token_lifetime=100000
run "$PAMSH" doctor
is "$RC" 3 "token expiring over 25 h ahead: exit 3"
like "$OUT" "✗ token expiry: expires more than 25 h ahead"$'
'"    fix: this machine's clock is behind" \
  "token expiring over 25 h ahead: ✗ with its fix"
simctl set token_lifetime=86399

# untrusted certificate
run env -u PAMSH_CACERT "$PAMSH" doctor
is "$RC" 5 "untrusted certificate: exit 5"
like "$OUT" "✗ TLS to the PAM server: .*certificate.*CN = localhost" "untrusted certificate: shows the certificate"
like "$OUT" "fix: pass --cacert FILE .*CN = pamsh-sim test CA" "untrusted certificate: how to pass --cacert"
like "$OUT" "✓ token obtained" "untrusted certificate: the token steps still run"

# no identity on the VM
simctl fault imds /metadata status status=400 'body={"error":"invalid_request","error_description":"Identity not found"}'
run "$PAMSH" doctor
is "$RC" 3 "no identity: exit 3"
like "$OUT" "✗ token obtained: .*Identity not found" "no identity: token step fails"
like "$OUT" "fix: assign a managed identity to this machine" "no identity: the fix"
like "$OUT" "- token audience: skipped" "no identity: dependent steps skipped"
simctl clear

# several user-assigned identities and none chosen
simctl set system_assigned=false
run "$PAMSH" doctor
is "$RC" 3 "several identities: exit 3"
like "$OUT" "fix: pass --client-id" "several identities: the fix"
simctl set system_assigned=true

# landing without a session cookie (Azure login disabled on the server)
simctl fault pam /xtam/landing nocookie
run "$PAMSH" doctor
is "$RC" 3 "landing without a cookie: exit 3"
like "$OUT" "✗ login: .*without a session cookie" "landing without a cookie: login fails"
simctl clear

# signed in but no permission for the path
run "$PAMSH" doctor /rest/record/unlock/43
is "$RC" 4 "no permission: exit 4"
like "$OUT" "✗ read call: GET /rest/record/unlock/43: HTTP 401 Unauthorized" "no permission: read call fails"
like "$OUT" "grant it permissions through the AAD: directory" "no permission: the fix"

# no PAM URL
run env -u PAMSH_URL "$PAMSH" doctor
is "$RC" 2 "no URL: exit 2"
like "$OUT" "✗ PAM URL: not set" "no URL: says so"

run "$PAMSH" doctor /a /b
is "$RC" 2 "doctor with two paths: usage error"

done_testing
