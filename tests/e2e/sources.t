#!/usr/bin/env bash
# Every managed-identity source through the binary, against the
# simulator's fake of each: detection, the request each makes, user-assigned
# selectors (and refusals), rotation of what the platform rotates.
. "$(dirname "$0")/../setup"
sim_start
HOOKS=${PAMSH_HOOKS_BIN:-$TOP/build/hooks/pamsh}
USER1=7b2e4d3f-0c58-4e1b-9f60-2d3c4b5e6f02
USER2=8c3f5e4a-1d69-4f2c-a071-3e4d5c6f7a03
USER1_OID=1e0f9a8b-7c6d-4e4f-b302-f1e2d3c4b502
USER1_MIRID=$(simctl data | "$PYTHON" -c 'import json,sys; print([i for i in json.load(sys.stdin)["identities"] if i["name"]=="user1"][0]["msi_res_id"])')
src='local _, i = imds_token(); print(i.source, i.claims.oid, math.type(i.expires_on), i.expires_on > os.time() + 600)'
unlock='print(pam.unlock(arg[1] or 42).name)'
printf '%s\n' "$unlock" > "$TMP/unlock.lua"

# --- App Service (2019) ------------------------------------------------------
as_env=(env IDENTITY_ENDPOINT="$SIM_APPSERVICE_URL" IDENTITY_HEADER="$SIM_APPSERVICE_HEADER")
run "${as_env[@]}" "$PAMSH" -e "$src"
is "$OUT" "appservice	0d9e8f7a-6b5c-4d3e-a2f1-e0d1c2b3a401	integer	true" "appservice: detected, system identity, expires_on parsed"
last=$(simctl log appservice | tail -n 1)
like "$last" '"x-identity-header": "'"$SIM_APPSERVICE_HEADER"'"' "appservice: X-IDENTITY-HEADER sent"
like "$last" 'api-version=2019-08-01' "appservice: api-version 2019-08-01"
run "${as_env[@]}" "$PAMSH" "$TMP/unlock.lua"
is "$OUT" "db-prod" "appservice: its token logs in to PAM"
run "${as_env[@]}" "$PAMSH" --client-id "$USER1" -e "$src"
like "$(simctl log appservice | tail -n 1)" "client_id=$USER1" "appservice: --client-id as client_id"
run "${as_env[@]}" "$PAMSH" --object-id "$USER1_OID" -e "$src"
like "$(simctl log appservice | tail -n 1)" "principal_id=$USER1_OID" "appservice: --object-id as principal_id"
like "$OUT" "^appservice	$USER1_OID" "appservice: the user-assigned identity's token"
run "${as_env[@]}" "$PAMSH" --msi-res-id "$USER1_MIRID" -e "$src"
like "$(simctl log appservice | tail -n 1)" "mi_res_id=" "appservice: --msi-res-id as mi_res_id"
run env IDENTITY_ENDPOINT="$SIM_APPSERVICE_URL" IDENTITY_HEADER=wrong "$PAMSH" -e "$src"
is "$RC" 3 "appservice: a wrong header is refused, exit 3"
like "$ERR" "appservice: HTTP 401 from http://127.0.0.1:[0-9]+" "appservice: source, endpoint, status named"
unlike "$ERR" "wrong" "appservice: the header value is not echoed"
# the header is re-read at every request (test build: setenv from Lua)
cat > "$TMP/rotate.lua" <<'LUA'
local a = imds_token("res-a")
local h = io.popen(os.getenv("TOP") .. "/tests/sim/simctl rotate appservice"):read("l")
pam.core._test_setenv("IDENTITY_HEADER", h)
local b = imds_token("res-b")
print(a ~= b)
LUA
run "${as_env[@]}" "$HOOKS" "$TMP/rotate.lua"
is "$RC" 0 "appservice: after rotation the new header is used"
is "$OUT" "true" "appservice: a second token with the rotated header"
SIM_APPSERVICE_HEADER=$(simctl rotate appservice)
as_env=(env IDENTITY_ENDPOINT="$SIM_APPSERVICE_URL" IDENTITY_HEADER="$SIM_APPSERVICE_HEADER")

# --- App Service (2017: MSI_ENDPOINT + MSI_SECRET) ---------------------------
old_env=(env MSI_ENDPOINT="$SIM_APPSERVICE2017_URL" MSI_SECRET="$SIM_MSI_SECRET")
run "${old_env[@]}" "$PAMSH" -e "$src"
is "$OUT" "appservice	0d9e8f7a-6b5c-4d3e-a2f1-e0d1c2b3a401	integer	true" "appservice 2017: detected, date-string expires_on parsed"
like "$(simctl log appservice2017 | tail -n 1)" '"secret": "' "appservice 2017: secret header"
run "${old_env[@]}" "$PAMSH" --client-id "$USER1" -e "$src"
like "$(simctl log appservice2017 | tail -n 1)" "clientid=$USER1" "appservice 2017: --client-id as clientid"
run "${old_env[@]}" "$PAMSH" --object-id "$USER1_OID" -e "$src"
is "$RC" 2 "appservice 2017: --object-id refused, exit 2"

# --- Cloud Shell ----------------------------------------------------------------
cs_env=(env MSI_ENDPOINT="$SIM_CLOUDSHELL_URL")
run "${cs_env[@]}" "$PAMSH" -e "$src"
like "$OUT" "^cloudshell	" "cloudshell: detected"
last=$(simctl log cloudshell | tail -n 1)
like "$last" '"method": "POST"' "cloudshell: a POST"
like "$last" '"body": "resource=' "cloudshell: resource in a form"
run "${cs_env[@]}" "$PAMSH" "$TMP/unlock.lua"
is "$OUT" "db-prod" "cloudshell: its token logs in to PAM"
run "${cs_env[@]}" "$PAMSH" --client-id "$USER1" -e "$src"
is "$RC" 2 "cloudshell: --client-id refused, exit 2"
like "$ERR" "cloudshell: Cloud Shell offers only" "cloudshell: says why"

# --- Service Fabric ---------------------------------------------------------------
sf_env=(env IDENTITY_ENDPOINT="$SIM_SF_URL" IDENTITY_HEADER="$SIM_SF_SECRET" IDENTITY_SERVER_THUMBPRINT="$SIM_SF_THUMBPRINT")
run "${sf_env[@]}" "$PAMSH" -e "$src"
is "$OUT" "servicefabric	0d9e8f7a-6b5c-4d3e-a2f1-e0d1c2b3a401	integer	true" "servicefabric: detected, numeric expires_on"
like "$(simctl log servicefabric | tail -n 1)" '"secret": "'"$SIM_SF_SECRET"'"' "servicefabric: Secret header"
like "$(simctl log servicefabric | tail -n 1)" 'api-version=2019-07-01-preview' "servicefabric: api-version"
colons=$(sed 's/../&:/g; s/:$//' <<<"$SIM_SF_THUMBPRINT" | tr 'A-F' 'a-f')
run env IDENTITY_ENDPOINT="$SIM_SF_URL" IDENTITY_HEADER="$SIM_SF_SECRET" IDENTITY_SERVER_THUMBPRINT="$colons" "$PAMSH" -e "$src"
like "$OUT" "^servicefabric" "servicefabric: thumbprint with colons, lower case"
simctl reset-log
run env IDENTITY_ENDPOINT="$SIM_SF_URL" IDENTITY_HEADER="$SIM_SF_SECRET" IDENTITY_SERVER_THUMBPRINT=0000000000000000000000000000000000000000 "$PAMSH" -e "$src"
is "$RC" 3 "servicefabric: a certificate with another thumbprint is refused, exit 3"
is "$(simctl count servicefabric /)" 0 "servicefabric: the secret never left (handshake refused)"
run "${sf_env[@]}" "$PAMSH" --client-id "$USER1" -e "$src"
is "$RC" 2 "servicefabric: --client-id refused"

# --- workload identity ---------------------------------------------------------------
wl_env=(env AZURE_FEDERATED_TOKEN_FILE="$SIM_FEDERATED_TOKEN_FILE" AZURE_CLIENT_ID="$USER2"
        AZURE_TENANT_ID="$SIM_TENANT" AZURE_AUTHORITY_HOST="$SIM_AUTHORITY_URL" SSL_CERT_FILE="$SIM_CA")
run "${wl_env[@]}" "$PAMSH" -e "$src"
is "$OUT" "workload	2f1a0b9c-8d7e-4f50-9413-a2f3e4d5c603	integer	true" "workload: detected, expires_in counted"
last=$(simctl log authority | tail -n 1)
like "$last" "\"path\": \"/$SIM_TENANT/oauth2/v2.0/token\"" "workload: the tenant's token endpoint"
like "$last" "grant_type=client_credentials" "workload: client credentials"
like "$last" "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer" "workload: assertion type"
like "$last" "scope=$SIM_RESOURCE%2F.default" "workload: scope <resource>/.default"
run "${wl_env[@]}" "$PAMSH" "$TMP/unlock.lua" 44
is "$OUT" "web-01" "workload: its token logs in to PAM"
run "${wl_env[@]}" "$PAMSH" -v -e "$src"
unlike "$ERR" "$(head -c 40 "$SIM_FEDERATED_TOKEN_FILE")" "workload: -v trace holds no assertion"
cat > "$TMP/rotate-wl.lua" <<'LUA'
local a = imds_token("res-a")
assert(os.execute(os.getenv("TOP") .. "/tests/sim/simctl rotate authority >/dev/null"))
local b = imds_token("res-b")
print(a ~= b)
LUA
run "${wl_env[@]}" "$PAMSH" "$TMP/rotate-wl.lua"
is "$RC" 0 "workload: the token file is re-read after rotation"
run "${wl_env[@]}" "$PAMSH" --client-id "$USER1" -e "$src"
like "$OUT" "^workload	$USER1_OID" "workload: --client-id replaces AZURE_CLIENT_ID"
run "${wl_env[@]}" "$PAMSH" --object-id "$USER1_OID" -e "$src"
is "$RC" 2 "workload: --object-id refused"
run env AZURE_FEDERATED_TOKEN_FILE="$SIM_FEDERATED_TOKEN_FILE" AZURE_CLIENT_ID="$USER2" AZURE_AUTHORITY_HOST="$SIM_AUTHORITY_URL" SSL_CERT_FILE="$SIM_CA" "$PAMSH" -e "$src"
is "$RC" 2 "workload: no AZURE_TENANT_ID, exit 2"
like "$ERR" "AZURE_TENANT_ID" "workload: names the missing variable"
run env AZURE_FEDERATED_TOKEN_FILE="$SIM_FEDERATED_TOKEN_FILE" AZURE_CLIENT_ID=00000000-0000-0000-0000-000000000000 AZURE_TENANT_ID="$SIM_TENANT" AZURE_AUTHORITY_HOST="$SIM_AUTHORITY_URL" SSL_CERT_FILE="$SIM_CA" "$PAMSH" -e "$src"
is "$RC" 3 "workload: unknown client, exit 3"
like "$ERR" "AADSTS700016.*\(Entra ID refused the client assertion" "workload: AAD's reason and a hint"
run env AZURE_FEDERATED_TOKEN_FILE="$TMP/nope" AZURE_CLIENT_ID="$USER2" AZURE_TENANT_ID="$SIM_TENANT" AZURE_AUTHORITY_HOST="$SIM_AUTHORITY_URL" SSL_CERT_FILE="$SIM_CA" "$PAMSH" -e "$src"
is "$RC" 3 "workload: missing token file, exit 3"
like "$ERR" "cannot read the federated token file" "workload: names the file problem"
run env AZURE_FEDERATED_TOKEN_FILE="$SIM_FEDERATED_TOKEN_FILE" AZURE_CLIENT_ID="$USER2" AZURE_TENANT_ID="$SIM_TENANT" AZURE_AUTHORITY_HOST="$SIM_AUTHORITY_URL" "$PAMSH" -e "$src"
is "$RC" 3 "workload: an authority with an untrusted certificate, exit 3"

# --- detection order -------------------------------------------------------------------
run env IDENTITY_ENDPOINT="$SIM_APPSERVICE_URL" IDENTITY_HEADER="$SIM_APPSERVICE_HEADER" MSI_ENDPOINT="$SIM_CLOUDSHELL_URL" "$PAMSH" -e "$src"
like "$OUT" "^appservice" "order: App Service before Cloud Shell"
simctl reset-log
run env IDENTITY_ENDPOINT="$SIM_APPSERVICE_URL" IDENTITY_HEADER="$SIM_APPSERVICE_HEADER" IMDS_ENDPOINT="$SIM_IMDS_URL" "$PAMSH" -e "$src"
like "$OUT" "^appservice	" "order: App Service before Azure Arc (IDENTITY_HEADER with IMDS_ENDPOINT)"
is "$(simctl count appservice /) $(simctl count arc /) $(simctl count imds /)" "1 0 0" "order: App Service before Azure Arc: only App Service asked"
run env MSI_ENDPOINT="$SIM_CLOUDSHELL_URL" AZURE_FEDERATED_TOKEN_FILE="$SIM_FEDERATED_TOKEN_FILE" "$PAMSH" -e "$src"
like "$OUT" "^cloudshell" "order: Cloud Shell before workload identity"
run env -u PAMSH_IMDS_URL AZURE_POD_IDENTITY_AUTHORITY_HOST="$SIM_IMDS_URL" "$PAMSH" -e "$src"
like "$OUT" "^imds" "AZURE_POD_IDENTITY_AUTHORITY_HOST is the IMDS address when PAMSH_IMDS_URL is unset"
run env AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9 "$PAMSH" -e "$src"
like "$OUT" "^imds" "PAMSH_IMDS_URL wins over AZURE_POD_IDENTITY_AUTHORITY_HOST"
run env IDENTITY_ENDPOINT="$SIM_APPSERVICE_URL" IDENTITY_HEADER="$SIM_APPSERVICE_HEADER" "$PAMSH" token
like "$OUT" "source +appservice \(App Service: IDENTITY_ENDPOINT and IDENTITY_HEADER are set\)" "pamsh token names the source and why"

# --- retries apply to every source -------------------------------------------------------
simctl reset-log
simctl fault cloudshell / status status=503 count=1
run "${cs_env[@]}" "$PAMSH" -e "$src"
is "$RC" 0 "cloudshell 503 once: retried"
is "$(simctl count cloudshell /)" 2 "cloudshell 503 once: two requests"

done_testing
