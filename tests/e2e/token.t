#!/usr/bin/env bash
# pamsh token: metadata and claims, never the raw token unless --raw.
. "$(dirname "$0")/../setup"
sim_start

run "$PAMSH" token
is "$RC" 0 "token: exit 0"
like "$OUT" "^source +imds \(Azure IMDS: no other identity source" "token: source and why"
like "$OUT" "audience +$SIM_RESOURCE" "token: audience"
like "$OUT" "issuer +https://sts.windows.net/3c9d2f4e-6b1a-4d8e-b7f0-1a2b3c4d5e6f/" "token: issuer"
like "$OUT" "tenant +3c9d2f4e-6b1a-4d8e-b7f0-1a2b3c4d5e6f" "token: tenant"
like "$OUT" "object id +0d9e8f7a-6b5c-4d3e-a2f1-e0d1c2b3a401" "token: object id"
like "$OUT" "app id +6a1f3c2e-9b47-4d0a-8e5f-1c2b3a4d5e01" "token: app id"
like "$OUT" "identity +/subscriptions/.*/virtualMachines/vm-pamsh-sim" "token: xms_mirid"
like "$OUT" "issued +20[0-9-]+ [0-9:]+Z \([0-9]+ min ago\)" "token: issued, absolute and relative"
like "$OUT" "expires +20[0-9-]+ [0-9:]+Z \(in 23 h [0-9]+ min\)" "token: expiry, absolute and relative"
unlike "$OUT$ERR" "eyJ" "token: no raw token printed"
is "$ERR" "" "token: no warning when the audience matches"

run "$PAMSH" token --raw
is "$RC" 0 "token --raw: exit 0"
like "$OUT" "^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$" "token --raw: only the JWT"
raw=$OUT
aud=$(printf '%s' "$raw" | "$PYTHON" -c '
import base64, json, sys
p = sys.stdin.read().split(".")[1]
print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["aud"])')
is "$aud" "$SIM_RESOURCE" "token --raw: a token for the configured resource"

run "$PAMSH" token --json
is "$RC" 0 "token --json: exit 0"
fields=$(printf '%s' "$OUT" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
print(d["source"], d["resource"], type(d["expires_on"]).__name__, d["claims"]["oid"], d["audience_matches"])')
is "$fields" "imds $SIM_RESOURCE int 0d9e8f7a-6b5c-4d3e-a2f1-e0d1c2b3a401 True" "token --json: metadata as JSON"
unlike "$OUT" "eyJ" "token --json: no raw token"

run "$PAMSH" --client-id 7b2e4d3f-0c58-4e1b-9f60-2d3c4b5e6f02 token
like "$OUT" "object id +1e0f9a8b-7c6d-4e4f-b302-f1e2d3c4b502" "token --client-id: the user-assigned identity"

# the identity endpoint hands out a token for another audience: shown, with
# a warning on stderr (exit 0: the token was obtained; doctor and the
# landing are where it fails)
simctl set imds_aud=api://some-other-app
run "$PAMSH" token
is "$RC" 0 "audience mismatch: exit 0 (the token is still shown)"
like "$OUT" "audience +api://some-other-app" "audience mismatch: the token's audience shown"
is "$ERR" "pamsh: warning: the token's audience api://some-other-app differs from the configured resource $SIM_RESOURCE" \
  "audience mismatch: one warning line naming both"
run "$PAMSH" token --raw
is "$RC" 0 "audience mismatch, --raw: exit 0"
like "$OUT" "^eyJ[A-Za-z0-9_.-]+$" "audience mismatch, --raw: stdout still only the token"
like "$ERR" "warning: the token's audience api://some-other-app differs" "audience mismatch, --raw: warned on stderr"
run "$PAMSH" token --json
is "$RC" 0 "audience mismatch, --json: exit 0"
like "$OUT" '"audience_matches": ?false' "audience mismatch, --json: audience_matches false"
like "$ERR" "warning: the token's audience" "audience mismatch, --json: warned"
run "$PAMSH" --log-format json token
like "$ERR" '"level": ?"warn".*differs from the configured resource' "audience mismatch: the warning follows --log-format json"
simctl set imds_aud=api://$SIM_RESOURCE
run "$PAMSH" token
is "$RC:$ERR" "0:" "api://<resource> counts as the configured resource: no warning"
simctl set imds_aud=

run "$PAMSH" token --raw --json
is "$RC" 2 "token --raw --json: usage error"
run "$PAMSH" token --frob
is "$RC" 2 "token with an unknown argument: exit 2"
run env -u PAMSH_RESOURCE "$PAMSH" token
is "$RC" 2 "token without a resource: exit 2"
run env PAMSH_IMDS_URL=http://127.0.0.1:9 "$PAMSH" token
is "$RC" 3 "token with no identity endpoint: exit 3"

done_testing
