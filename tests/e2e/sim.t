#!/usr/bin/env bash
# TAP test of the test simulator itself (tests/sim/sim.py, tests/sim/simctl).
# Talks to 127.0.0.1 only (and, inside an isolated network namespace made by
# in_netns, to 169.254.169.254 on that namespace's own lo).
. "$(dirname "$0")/../setup"

# http METHOD URL [-H 'Name: value']... [-d BODY] [--ca FILE] [--pin SHA1]
# (--pin: no CA check; the server certificate's SHA-1 must be SHA1, checked
# before the request is sent)
# Sets HTTP (status, or "ERROR <exception>"), HDRS (header lines), BODY and
# the associative array J: the JSON body flattened ("recordType.name",
# "0.name"); string values that hold JSON (custom) or a JWT (access_token)
# are flattened too ("custom.Password", "access_token.aud").
_http_py='
import base64, hashlib, http.client, json, shlex, ssl, sys, urllib.parse
method, url, args = sys.argv[1], sys.argv[2], sys.argv[3:]
hdrs, data, ca, pin = {}, None, None, None
while args:
    o, v = args.pop(0), args.pop(0)
    if o == "-H":
        k, _, val = v.partition(":"); hdrs[k.strip()] = val.strip()
    elif o == "-d":
        data = v.encode()
    elif o == "--ca":
        ca = v
    elif o == "--pin":
        pin = v
u = urllib.parse.urlsplit(url)
if u.hostname != "127.0.0.1":
    sys.exit("loopback only: " + url)
flat = {}
def walk(v, key):
    if isinstance(v, dict):
        for k, x in v.items(): walk(x, key + "." + k if key else k)
    elif isinstance(v, list):
        for i, x in enumerate(v): walk(x, "%s.%d" % (key, i) if key else str(i))
    else:
        flat[key] = v if isinstance(v, str) else json.dumps(v)
        if isinstance(v, str) and v.count(".") == 2 and v.startswith("eyJ"):
            p = v.split(".")[1]
            walk(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))), key)
        elif isinstance(v, str) and v[:1] in "{[":
            try: walk(json.loads(v), key)
            except ValueError: pass
try:
    if u.scheme == "https" and pin:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=20)
        c.connect()
        got = hashlib.sha1(c.sock.getpeercert(binary_form=True)).hexdigest().upper()
        if got != pin.upper():
            raise ssl.SSLError("pinned thumbprint mismatch: " + got)
    elif u.scheme == "https":
        ctx = ssl.create_default_context(cafile=ca)
        c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=20)
    else:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    c.request(method, u.path + ("?" + u.query if u.query else ""), body=data, headers=hdrs)
    r = c.getresponse()
    status, body = str(r.status), r.read().decode("utf-8", "replace")
    head = "\n".join("%s: %s" % kv for kv in r.getheaders())
except Exception as e:
    status, body, head = "ERROR %s: %s" % (type(e).__name__, e), "", ""
try: walk(json.loads(body), "")
except ValueError: pass
print("HTTP=%s HDRS=%s BODY=%s" % tuple(map(shlex.quote, (status, head, body))))
print("J=(%s)" % " ".join("[%s]=%s" % (shlex.quote(k), shlex.quote(v)) for k, v in flat.items() if k))
'
declare -A J=()
http() { local s; s=$("$PYTHON" -c "$_http_py" "$@") && eval "$s"; }
# jfield KEY JSON: one field (dotted path) of a JSON text, "-" when absent
jfield() {
  "$PYTHON" -c '
import json, sys
v = json.loads(sys.argv[2])
for p in sys.argv[1].split("."):
    v = v[int(p)] if isinstance(v, list) else v.get(p, "-")
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

SYS_CLIENT=6a1f3c2e-9b47-4d0a-8e5f-1c2b3a4d5e01
SYS_OID=0d9e8f7a-6b5c-4d3e-a2f1-e0d1c2b3a401
U1_CLIENT=7b2e4d3f-0c58-4e1b-9f60-2d3c4b5e6f02
TOKEN_PATH=/metadata/identity/oauth2/token
FORM='Content-Type: application/x-www-form-urlencoded'

t0=$(date +%s%N)
sim_start
diag "simulator up in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
IMDS="$SIM_IMDS_URL$TOKEN_PATH?api-version=2018-02-01"

like "$SIM_IMDS_URL $SIM_PAM_URL $SIM_CONTROL_URL" \
  '^http://127\.0\.0\.1:[0-9]+ https://127\.0\.0\.1:[0-9]+/xtam http://127\.0\.0\.1:[0-9]+$' \
  'state file: loopback URLs on ephemeral ports'
is "$PAMSH_IMDS_URL|$PAMSH_URL|$PAMSH_CACERT|$PAMSH_RESOURCE" \
   "$SIM_IMDS_URL|$SIM_PAM_URL|$SIM_CA|5f0c1b3e-8a1d-4c7e-9a55-2d1f7b0c9e11" \
   'sim_start points pamsh at the simulator'

# ---------------------------------------------------------------- IMDS
http GET "$IMDS&resource=$SIM_RESOURCE" -H 'Metadata: true'
TOKEN=${J[access_token]-}
is "$HTTP ${J[token_type]-} ${J[resource]-} ${J[expires_in]-} ${J[client_id]-}" \
   "200 Bearer $SIM_RESOURCE 86399 $SYS_CLIENT" 'IMDS issues a token to the system identity'
like "$BODY" '^\{("[a-z_]+":"[^"]*",?){8}\}$' 'IMDS: eight fields, all strings'
is "${J[access_token.aud]-} ${J[access_token.appid]-} ${J[access_token.oid]-} ${J[access_token.sub]-} ${J[access_token.idtyp]-} ${J[access_token.exp]-}" \
   "$SIM_RESOURCE $SYS_CLIENT $SYS_OID $SYS_OID app ${J[expires_on]-}" \
   'JWT claims: aud appid oid sub idtyp exp'

http GET "$IMDS&resource=$SIM_RESOURCE"
is "$HTTP ${J[error_description]-}" '400 Required metadata header not specified' \
   'IMDS: Metadata header required'

# Requests IMDS refuses with 400: QUERY (after api-version) | HEADERS (';'-separated)
got= want=
while IFS='|' read -r query headers; do
  args=()
  IFS=';' read -ra hs <<<"$headers"
  for h in ${hs[@]+"${hs[@]}"}; do args+=(-H "$h"); done
  http GET "$IMDS$query" "${args[@]}"
  got+="$HTTP $query|$headers"$'\n' want+="400 $query|$headers"$'\n'
done <<EOF2
&resource=$SIM_RESOURCE|Metadata: True
&resource=$SIM_RESOURCE|Metadata: true;X-Forwarded-For: 10.0.0.1
&resource=$SIM_RESOURCE&resource=$SIM_RESOURCE|Metadata: true
&resource=|Metadata: true
&resource=$SIM_RESOURCE&api-version=2019-08-01|Metadata: true
&resource=$SIM_RESOURCE&client_id=00000000-0000-0000-0000-000000000000|Metadata: true
&resource=$SIM_RESOURCE&client_id=$U1_CLIENT&object_id=$SYS_OID|Metadata: true
EOF2
is "$got" "$want" 'IMDS: bad header, X-Forwarded-For, duplicates, no resource, bad api-version, unknown or two identities -> 400'

http GET "$IMDS&resource=api://other&client_id=$U1_CLIENT" -H 'Metadata: true'
is "$HTTP ${J[access_token.appid]-} ${J[access_token.aud]-}" "200 $U1_CLIENT api://other" \
   'IMDS: client_id selects a user-assigned identity; aud = requested resource'
simctl set system_assigned=false
http GET "$IMDS&resource=$SIM_RESOURCE" -H 'Metadata: true'
like "$HTTP ${J[error_description]-}" '^400 Multiple user assigned identities exist' \
  'IMDS: no system identity, several user-assigned, none chosen'
simctl set system_assigned=true

# ---------------------------------------------------------------- PAM
http POST "$SIM_PAM_URL/landing" --ca "$SIM_CA" -H "$FORM" -d "azure=$TOKEN"
[[ $HDRS =~ JSESSIONID=([0-9A-F]+)\;\ Path=/xtam\;\ Secure\;\ HttpOnly ]] && SID=${BASH_REMATCH[1]} || SID=
[[ $HDRS =~ XSRF-TOKEN=([^;[:space:]]+)\;\ Path=/xtam ]] && XSRF=${BASH_REMATCH[1]} || XSRF=
like "$HTTP $SID $XSRF" '^302 [0-9A-F]{32} [0-9a-f-]{36}$' \
  'landing: 302 with JSESSIONID (Secure, HttpOnly) and XSRF-TOKEN cookies'

# Landing with tokens minted by the simulator: MINT ARGS | expected result
got= want=
while IFS='|' read -r mint result; do
  http POST "$SIM_PAM_URL/landing" --ca "$SIM_CA" -H "$FORM" -d "azure=$(simctl mint $mint)"
  [[ $HTTP == 302 ]] && r=OK || r="$HTTP ${J[error]-}"
  got+="$mint: $r"$'\n' want+="$mint: $result"$'\n'
done <<'EOF2'
resource=https://wrong.example|401 Azure authentication failed: token audience 'https://wrong.example' is not accepted
bad_signature=true|401 Azure authentication failed: bad signature
lifetime=-60|401 Azure authentication failed: token expired
aud=api://5f0c1b3e-8a1d-4c7e-9a55-2d1f7b0c9e11|OK
identity=user1|OK
EOF2
is "$got" "$want" 'landing: wrong audience, bad signature, expired refused; api:// audience accepted'
http POST "$SIM_PAM_URL/landing" --ca "$SIM_CA" -H "$FORM" -d 'x=1'
is "$HTTP $BODY" '401 {"error":"Azure authentication failed: missing azure parameter"}' \
   'landing: missing azure parameter'
http GET "$SIM_PAM_URL/" --ca "$SIM_WRONG_CA"
like "$HTTP" '^ERROR SSLCertVerificationError' 'TLS: the wrong CA does not verify the server'

CK="Cookie: JSESSIONID=$SID; XSRF-TOKEN=$XSRF"
http GET "$SIM_PAM_URL/rest/record/unlock/42" --ca "$SIM_CA" -H "$CK"
is "$HTTP ${J[name]-} ${J[custom.Password]-} ${J[recordType.name]-} ${J[folderId]-}" \
   '200 db-prod S3cr3t-db-pass! Database 3' 'unlock 42: permitted; custom is a JSON string'
like "${J[custom]-}" '^\{"Host":' 'unlock: custom is a string'
http GET "$SIM_PAM_URL/rest/record/unlock/i-2qhyGh2UB0V" --ca "$SIM_CA" -H "$CK"
is "$HTTP ${J[id]-} ${J[custom.API Token]-}" '200 i-2qhyGh2UB0V S3cr3t-api-token-7f3a9c' \
   'unlock an encoded id'
http GET "$SIM_PAM_URL/rest/record/unlock/43" --ca "$SIM_CA" -H "$CK"
is "$HTTP $BODY" '401 {"error": "HTTP 401 Unauthorized"}' 'unlock 43: not permitted for this identity'
http GET "$SIM_PAM_URL/rest/record/unlock/999" --ca "$SIM_CA" -H "$CK"
is "$HTTP $BODY" '404 {"error":"HTTP 404 Not Found"}' 'unlock: unknown id'
http GET "$SIM_PAM_URL/rest/record/unlock/42" --ca "$SIM_CA"
is "$HTTP $BODY" '401 {"error": "HTTP 401 Unauthorized"}' 'REST without a session'
http GET "$SIM_PAM_URL/rest/folder/list/1" --ca "$SIM_CA" -H "$CK"
is "$HTTP ${J[0.name]-} ${J[0.folder]-} ${J[1.recordType.name]-}" '200 Linux servers true Folder' \
   'folder list: sub-folders'

http POST "$SIM_PAM_URL/rest/folder/create/1" --ca "$SIM_CA" -H "$CK" \
  -H 'Content-Type: application/json' -d '{"name":"New","description":"d"}'
is "$HTTP $BODY" '403 {"error":"HTTP 403 Forbidden","message":"CSRF token missing or invalid"}' \
   'POST without X-XSRF-TOKEN refused'
http POST "$SIM_PAM_URL/rest/record/new/3/5" --ca "$SIM_CA" -H "$CK" -H "X-XSRF-TOKEN: $XSRF" \
  -H "$FORM" -d 'name=db-new&description=x&custom=%7B%22Password%22%3A%22S3cr3t-new%22%7D'
NEW=${J[id]-}
http GET "$SIM_PAM_URL/rest/record/unlock/$NEW" --ca "$SIM_CA" -H "$CK"
is "$HTTP $NEW ${J[custom.Password]-}" '200 45 S3cr3t-new' \
   'record/new with X-XSRF-TOKEN; the creator may unlock it'

# ---------------------------------------------------------------- faults
simctl fault pam /xtam/rest/record/unlock/42 status status=503 retry_after=7 count=1
http GET "$SIM_PAM_URL/rest/record/unlock/42" --ca "$SIM_CA" -H "$CK"
r1="$HTTP ${J[error]-}"; [[ $HDRS == *$'\n'Retry-After:\ 7* ]] && r1+=" RA"
http GET "$SIM_PAM_URL/rest/record/unlock/42" --ca "$SIM_CA" -H "$CK"
is "$r1 / $HTTP" '503 HTTP 503 Service Unavailable RA / 200' 'fault status: count=1 fires once, with Retry-After'

simctl fault imds /metadata slow delay=1 count=1
t0=$(date +%s%N)
http GET "$IMDS&resource=$SIM_RESOURCE" -H 'Metadata: true'
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok $(( HTTP == 200 && ms >= 1000 ? 0 : 1 )) "fault slow: answered after ${ms} ms"

simctl fault imds /metadata garbage count=1
simctl fault imds / html count=1
simctl fault pam /xtam/rest truncated count=1
http GET "$IMDS&resource=$SIM_RESOURCE" -H 'Metadata: true'
r="$HTTP ${#J[@]}"
http GET "$IMDS&resource=$SIM_RESOURCE" -H 'Metadata: true'
[[ $BODY == *'<title>502 Bad Gateway</title>'* ]] && r+=" / $HTTP html"
http GET "$SIM_PAM_URL/rest/folder/list/2" --ca "$SIM_CA" -H "$CK"
r+=" / ${HTTP%%:*}"
is "$r" '200 0 / 502 html / ERROR IncompleteRead' 'faults garbage, html, truncated'
run simctl fault pam / bogus
like "$RC $ERR" '^1 simctl: .*fault mode must be one of' 'simctl: a bad fault is an error'

# ---------------------------------------------------------------- expire, log
simctl expire
http GET "$SIM_PAM_URL/rest/record/unlock/42" --ca "$SIM_CA" -H "$CK"
is "$HTTP" 401 'expire: the session is gone'

run simctl count imds "$TOKEN_PATH" GET
n=$RC:$OUT
run simctl log imds
first=${OUT%%$'\n'*}
is "$n $(jfield headers.metadata "$first") $(jfield status "$first") $(jfield path "$first")" \
   "0:14 true 200 $TOKEN_PATH" 'log and count: IMDS requests recorded with headers and status'
simctl reset-log
run simctl count any /
is "$OUT" 0 'reset-log empties the log'

# ---------------------------------------------------------------- CAS
# The CAS REST ticket flow (Federated Sign-In module) on the PAM server.
PAM_ORIGIN=${SIM_PAM_URL%/xtam}
TICKETS=$PAM_ORIGIN/cas/v1/tickets
enc() { "$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
SERVICE_ENC=$(enc "$SIM_PAM_URL/")
loc_re=$'(^|\n)Location: ([^\n]*)'
# tgt FORM: POST FORM to /cas/v1/tickets; TGT = the Location header
tgt() {
  http POST "$TICKETS" --ca "$SIM_CA" -H "$FORM" -d "$1"
  [[ $HDRS =~ $loc_re ]] && TGT=${BASH_REMATCH[2]} || TGT=
}
# st TGT_URL [SERVICE (encoded)]: ask for a service ticket; ST = the body of a 200
st() {
  http POST "$1" --ca "$SIM_CA" -H "$FORM" -d "service=${2-$SERVICE_ENC}"
  [[ $HTTP == 200 ]] && ST=$BODY || ST=
}
# redeem URL: GET URL (?ticket=ST); LOC = Location; COOKIES = yes|no;
# CASCK = a Cookie header for the session it opened (empty: none)
redeem() {
  local sid= xsrf=
  http GET "$1" --ca "$SIM_CA"
  [[ $HDRS =~ $loc_re ]] && LOC=${BASH_REMATCH[2]} || LOC=
  [[ $HDRS == *Set-Cookie* ]] && COOKIES=yes || COOKIES=no
  [[ $HDRS =~ JSESSIONID=([0-9A-F]{32})\;\ Path=/xtam\;\ Secure\;\ HttpOnly ]] && sid=${BASH_REMATCH[1]}
  [[ $HDRS =~ XSRF-TOKEN=([0-9a-f-]{36})\;\ Path=/xtam ]] && xsrf=${BASH_REMATCH[1]}
  CASCK=
  [[ -n $sid && -n $xsrf ]] && CASCK="Cookie: JSESSIONID=$sid; XSRF-TOKEN=$xsrf"
}
# unlocks COOKIE_HEADER: "42:STATUS 43:STATUS"
unlocks() {
  local r= id
  for id in 42 43; do
    http GET "$SIM_PAM_URL/rest/record/unlock/$id" --ca "$SIM_CA" -H "$1"; r+="$id:$HTTP "
  done
  echo "${r% }"
}
CAS_PW="username=$SIM_CAS_USER&password=$SIM_CAS_PASSWORD"

is "$SIM_CAS_USER $SIM_CAS_PASSWORD $SIM_CAS_API_TOKEN" \
   'operator S3cr3t-cas-operator-pw S3cr3t-cas-api-token-0042' 'state file: CAS user, password, API token'
tgt "$CAS_PW"
like "$HTTP $TGT" "^201 ${TICKETS//./\\.}/TGT-[0-9]+-[A-Za-z0-9]{40}-cas01\$" \
  'CAS: user and password -> 201, Location = the absolute TGT URL on the PAM server'
st "$TGT"
r=$HTTP; [[ $HDRS == *'Content-Type: text/plain'* ]] && r+=" text/plain"
like "$r $ST" '^200 text/plain ST-[0-9]+-[A-Za-z0-9]{30}-cas01$' \
  'CAS: POST service= to the TGT URL -> 200 text/plain service ticket'
redeem "$SIM_PAM_URL/?ticket=$ST"
is "$HTTP $LOC ${CASCK:+session} $(unlocks "$CASCK")" '302 /xtam/ session 42:200 43:401' \
   'CAS: GET /xtam/?ticket=ST -> 302 /xtam/ + session cookies; operator acts as system (42 yes, 43 no)'
redeem "$SIM_PAM_URL/?ticket=$ST"
is "$HTTP $LOC $COOKIES" "302 $PAM_ORIGIN/cas/login?service=$SERVICE_ENC no" \
   'CAS: the service ticket is single-use: again -> 302 to /cas/login, no cookie'

tgt "token=$SIM_CAS_API_TOKEN"
r=$HTTP
st "$TGT" "$(enc "$SIM_PAM_URL")"
redeem "$SIM_PAM_URL?ticket=$ST"
is "$r $HTTP $LOC ${CASCK:+session} $(unlocks "$CASCK")" '201 302 /xtam/ session 42:401 43:200' \
   'CAS: API token (form token=) acts as user1; service without the slash, /xtam?ticket='

# Refused logins: WHAT | status error (Location: yes|no)
got= want=
while IFS='|' read -r what result; do
  case $what in
    badpw)    tgt "username=$SIM_CAS_USER&password=S3cr3t-wrong" ;;
    nouser)   tgt "username=nobody&password=$SIM_CAS_PASSWORD" ;;
    badtoken) tgt 'token=S3cr3t-cas-api-token-0000' ;;
    nopw)     tgt "username=$SIM_CAS_USER" ;;
    both)     tgt "$CAS_PW&token=$SIM_CAS_API_TOKEN" ;;
    json)     http POST "$TICKETS" --ca "$SIM_CA" -H 'Content-Type: application/json' \
                -d "{\"username\":\"$SIM_CAS_USER\",\"password\":\"$SIM_CAS_PASSWORD\"}" ;;
    get)      http GET "$TICKETS" --ca "$SIM_CA" ;;
  esac
  [[ $HDRS =~ $loc_re ]] && l=yes || l=no
  got+="$what $HTTP $BODY $l"$'\n' want+="$what $result"$'\n'
done <<'EOF2'
badpw|401 {"error":"authentication failed"} no
nouser|401 {"error":"authentication failed"} no
badtoken|401 {"error":"authentication failed"} no
nopw|400 {"error":"HTTP 400 Bad Request","message":"password is required"} no
both|400 {"error":"HTTP 400 Bad Request","message":"send either username and password, or token"} no
json|415 {"error":"HTTP 415 Unsupported Media Type"} no
get|405 {"error":"HTTP 405 Method Not Allowed"} no
EOF2
is "$got" "$want" 'CAS: bad password, unknown user, bad token 401; missing field, user and token 400; JSON 415; GET 405'

tgt "$CAS_PW"
http POST "${TGT%??????????-cas01}0000000000-cas01" --ca "$SIM_CA" -H "$FORM" -d "service=$SERVICE_ENC"
r=$HTTP
http POST "$TGT" --ca "$SIM_CA" -H "$FORM" -d 'x=1'
r+=" $HTTP"
st "$TGT" "$(enc https://other.example/xtam/)"
redeem "$SIM_PAM_URL/?ticket=$ST"
r+=" / $HTTP $COOKIES"
simctl set cas_st_ttl=0
st "$TGT"
redeem "$SIM_PAM_URL/?ticket=$ST"
r+=" / $HTTP $COOKIES"
simctl set cas_st_ttl=60
http DELETE "$TGT" --ca "$SIM_CA"
r+=" / $HTTP"
st "$TGT"
is "$r $HTTP" '404 400 / 302 no / 302 no / 200 404' \
   'CAS: unknown TGT 404, no service 400; ST for another service or expired: no session; DELETE TGT, then 404'

simctl reset-log
simctl fault pam '/cas/v1/tickets$' status status=503 count=1
tgt "$CAS_PW"
r=$HTTP
tgt "$CAS_PW"
run simctl count pam /cas/v1/tickets POST
is "$r $HTTP $OUT" '503 201 2' 'CAS: target pam: faults fire on /cas paths; count pam /cas/v1/tickets'

st "$TGT"
simctl set cas=false
tgt "$CAS_PW"
r=$HTTP
http GET "$PAM_ORIGIN/cas/login" --ca "$SIM_CA"
r+=" $HTTP"
redeem "$SIM_PAM_URL/?ticket=$ST"
r+=" $HTTP $COOKIES"
simctl set cas=true
http GET "$PAM_ORIGIN/cas/login?service=$SERVICE_ENC" --ca "$SIM_CA"
r+=" / $HTTP"
redeem "$SIM_PAM_URL/?ticket=$ST"
is "$r $HTTP ${CASCK:+session}" '404 404 200 no / 200 302 session' \
   'set cas=false: /cas/ paths 404 and ?ticket= ignored (not used up); cas=true: back'

# With --pam-http the TGT URL is http:// and the cookie is not Secure.
cat >"$TMP/cas-http.t" <<'EOF2'
#!/usr/bin/env bash
. "$TOP/tests/setup"
sim_start --pam-http
r=$("$PYTHON" -c '
import http.client, sys, urllib.parse
base, user, pw = sys.argv[1:4]
u = urllib.parse.urlsplit(base)
assert u.hostname == "127.0.0.1" and u.scheme == "http"
def call(method, path, body=None):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    h = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    return r, r.read().decode()
r, _ = call("POST", "/cas/v1/tickets", "username=%s&password=%s" % (user, pw))
loc = r.getheader("Location")
r, st = call("POST", urllib.parse.urlsplit(loc).path,
             "service=" + urllib.parse.quote(base + "/", safe=""))
r, _ = call("GET", "/xtam/?ticket=" + st)
print(loc.split("/TGT-")[0], r.status, r.getheader("Set-Cookie"))' \
  "$SIM_PAM_URL" "$SIM_CAS_USER" "$SIM_CAS_PASSWORD" 2>&1)
like "$r" "^${SIM_PAM_URL%/xtam}/cas/v1/tickets 302 JSESSIONID=[0-9A-F]{32}; Path=/xtam; HttpOnly, XSRF-TOKEN=[0-9a-f-]{36}; Path=/xtam\$" \
  'http TGT URL; cookie without Secure'
done_testing
EOF2
chmod +x "$TMP/cas-http.t"
if "$TMP/cas-http.t" >"$TMP/cas-http.out" 2>&1; then
  pass 'CAS with --pam-http: http:// TGT URL, session cookie without Secure'
else
  fail 'CAS with --pam-http: http:// TGT URL, session cookie without Secure'
  diag "$(<"$TMP/cas-http.out")"
fi

# ---------------------------------------------------------------- other sources
# The fakes of App Service (2019, 2017), Azure Arc, Cloud Shell, Service
# Fabric and the workload-identity authority.  Tokens collected in TOKENS
# must all be accepted at /xtam/landing.
declare -A TOKENS=()
U1_OID=1e0f9a8b-7c6d-4e4f-b302-f1e2d3c4b502
U1_RES=/subscriptions/0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e/resourceGroups/rg-pamsh-sim/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-pamsh-payroll
JWT_BEARER=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
# claim NAME JWT: one claim of a JWT's payload
claim() {
  "$PYTHON" -c '
import base64, json, sys
p = sys.argv[2].split(".")[1]
v = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))).get(sys.argv[1], "-")
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

like "$SIM_APPSERVICE_URL $SIM_APPSERVICE2017_URL $SIM_ARC_URL $SIM_CLOUDSHELL_URL $SIM_SF_URL $SIM_AUTHORITY_URL" \
  '^http://127\.0\.0\.1:[0-9]+/msi/token http://127\.0\.0\.1:[0-9]+/MSI/token/ http://127\.0\.0\.1:[0-9]+/metadata/identity/oauth2/token http://127\.0\.0\.1:[0-9]+/oauth2/token https://127\.0\.0\.1:[0-9]+/metadata/identity/oauth2/token https://127\.0\.0\.1:[0-9]+$' \
  'state file: loopback URLs of the other sources'
is "${#SIM_APPSERVICE_HEADER} ${#SIM_MSI_SECRET} $((${#SIM_SF_SECRET} > 20)) $SIM_TENANT $SIM_ARC_KEY_DIR $SIM_FEDERATED_TOKEN_FILE" \
   "36 36 1 3c9d2f4e-6b1a-4d8e-b7f0-1a2b3c4d5e6f $SIM_DIR/arc-tokens $SIM_DIR/federated-token" \
   'state file: secrets, tenant, Arc key directory, federated token file'

# -- App Service 2019
AS="$SIM_APPSERVICE_URL?api-version=2019-08-01&resource=$SIM_RESOURCE"
http GET "$AS" -H "X-IDENTITY-HEADER: $SIM_APPSERVICE_HEADER"
TOKENS[appservice]=${J[access_token]-}
is "$HTTP ${J[token_type]-} ${J[resource]-} ${J[client_id]-} ${J[access_token.aud]-} ${J[access_token.appid]-} ${J[access_token.exp]-}" \
   "200 Bearer $SIM_RESOURCE $SYS_CLIENT $SIM_RESOURCE $SYS_CLIENT ${J[expires_on]-}" \
   'appservice: token for the system identity; aud = resource'
like "$BODY" '^\{"access_token":"[^"]+","expires_on":"[0-9]+","resource":"[^"]+","token_type":"Bearer","client_id":"[^"]+"\}$' \
  'appservice: five fields, expires_on an epoch string'
got=
for sel in "client_id=$U1_CLIENT" "principal_id=$U1_OID" "mi_res_id=$U1_RES"; do
  http GET "$AS&$sel" -H "X-IDENTITY-HEADER: $SIM_APPSERVICE_HEADER"
  got+="$HTTP ${J[access_token.appid]-};"
done
is "$got" "200 $U1_CLIENT;200 $U1_CLIENT;200 $U1_CLIENT;" \
   'appservice: client_id, principal_id and mi_res_id select a user-assigned identity'
http GET "$AS"
r="$HTTP ${J[statusCode]-} ${J[message]:+msg}"
http GET "$SIM_APPSERVICE_URL?api-version=2018-02-01&resource=$SIM_RESOURCE" \
  -H "X-IDENTITY-HEADER: $SIM_APPSERVICE_HEADER"
r+=" / $HTTP ${J[statusCode]-}"
http GET "$AS&client_id=00000000-0000-0000-0000-000000000000" -H "X-IDENTITY-HEADER: $SIM_APPSERVICE_HEADER"
is "$r / $HTTP" '401 401 msg / 400 400 / 400' \
   'appservice: no header 401, wrong api-version 400, unknown identity 400 ({statusCode, message})'
run simctl rotate appservice
NEW_AS=$OUT
http GET "$AS" -H "X-IDENTITY-HEADER: $SIM_APPSERVICE_HEADER"
r="$HTTP"
http GET "$AS" -H "X-IDENTITY-HEADER: $NEW_AS"
like "$RC $NEW_AS $r $HTTP" "^0 [0-9a-f-]{36} 401 200$" \
  'simctl rotate appservice: prints the new secret; the old one is refused'
isnt "$NEW_AS" "$SIM_APPSERVICE_HEADER" 'rotate: the secret changed'

# -- App Service 2017
A17="$SIM_APPSERVICE2017_URL?api-version=2017-09-01&resource=$SIM_RESOURCE"
http GET "$A17" -H "secret: $SIM_MSI_SECRET"
TOKENS[appservice2017]=${J[access_token]-}
want=$(date -u -d "@${J[access_token.exp]-0}" '+%-m/%-d/%Y %-I:%M:%S %p +00:00')
is "$HTTP ${J[access_token.appid]-}|${J[expires_on]-}" "200 $SYS_CLIENT|$want" \
   'appservice2017: expires_on is "M/d/yyyy h:mm:ss AM/PM +00:00" of the exp claim'
like "${J[expires_on]-}" '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4} [0-9]{1,2}:[0-9]{2}:[0-9]{2} [AP]M \+00:00$' \
  'appservice2017: date format'
http GET "$A17&clientid=$U1_CLIENT" -H "secret: $SIM_MSI_SECRET"
r="$HTTP ${J[access_token.appid]-}"
http GET "$A17" -H "X-IDENTITY-HEADER: $SIM_MSI_SECRET"
is "$r / $HTTP ${J[statusCode]-}" "200 $U1_CLIENT / 401 401" \
   'appservice2017: clientid selects; without the secret header 401'

# -- Azure Arc
ARC="$SIM_ARC_URL?api-version=2020-06-01&resource=$SIM_RESOURCE"
re=$'WWW-Authenticate: Basic realm=([^\n]+)'
http GET "$ARC" -H 'Metadata: true'
[[ $HDRS =~ $re ]] && KEYFILE=${BASH_REMATCH[1]} || KEYFILE=
KEY=$(cat "$KEYFILE" 2>/dev/null)
is "$HTTP ${J[error]-} $(dirname "$KEYFILE") $(stat -c %a "$KEYFILE" 2>&1) $(stat -c %a "$SIM_ARC_KEY_DIR")" \
   "401 unauthorized $SIM_ARC_KEY_DIR 600 700" \
   'arc: 401 challenge names a 0600 key file in the 0700 key directory'
like "$(basename "$KEYFILE") $KEY" '^[0-9a-f-]+\.key [0-9a-f]{64}$' 'arc: <random>.key holding 64 hex chars'
http GET "$ARC" -H 'Metadata: true' -H "Authorization: Basic $KEY"
TOKENS[arc]=${J[access_token]-}
is "$HTTP ${J[access_token.appid]-} ${J[access_token.aud]-} ${J[expires_in]-} ${J[access_token.exp]-}" \
   "200 $SYS_CLIENT $SIM_RESOURCE 86399 ${J[expires_on]-}" 'arc: the key file contents buy a token'
like "$BODY" '"expires_on":"[0-9]+"' 'arc: expires_on an epoch string'
http GET "$ARC" -H 'Metadata: true' -H "Authorization: Basic 0123${KEY:4}"
r="$HTTP ${J[error]-}"
[[ $HDRS == *WWW-Authenticate* ]] && r+=" challenged"
http GET "$ARC&client_id=$U1_CLIENT" -H 'Metadata: true'
r+=" / $HTTP"
http GET "$ARC"
is "$r / $HTTP" '401 unauthorized / 400 / 400' \
   'arc: a wrong key 401 without WWW-Authenticate; a selector 400; no Metadata 400'
simctl set arc_realm=/etc/passwd
http GET "$ARC" -H 'Metadata: true'
r=$HDRS
simctl set arc_realm=
http GET "$ARC" -H 'Metadata: true'
[[ $r =~ $re ]] && r=${BASH_REMATCH[1]}
[[ $HDRS =~ $re ]] && r+=" ${BASH_REMATCH[1]%/*}"
is "$r" "/etc/passwd $SIM_ARC_KEY_DIR" 'set arc_realm: the challenge names that path; empty: back to normal'
simctl rotate arc
http GET "$ARC" -H 'Metadata: true' -H "Authorization: Basic $KEY"
is "$HTTP $([[ -e $KEYFILE ]] && echo kept || echo deleted)" '401 deleted' \
   'simctl rotate arc: issued keys refused, key files deleted'

# -- Cloud Shell
http POST "$SIM_CLOUDSHELL_URL" -H 'Metadata: true' -H "$FORM" -d "resource=$SIM_RESOURCE"
TOKENS[cloudshell]=${J[access_token]-}
is "$HTTP ${J[access_token.aud]-} ${J[access_token.exp]-} ${J[token_type]-}" \
   "200 $SIM_RESOURCE ${J[expires_on]-} Bearer" 'cloudshell: form POST gives a token'
like "$BODY" '"expires_on":"[0-9]+"' 'cloudshell: expires_on an epoch string'
http GET "$SIM_CLOUDSHELL_URL?resource=$SIM_RESOURCE" -H 'Metadata: true'
r=$HTTP
http POST "$SIM_CLOUDSHELL_URL" -H "$FORM" -d "resource=$SIM_RESOURCE"
r+=" $HTTP"
http POST "$SIM_CLOUDSHELL_URL" -H 'Metadata: true' -H "$FORM" -d "resource=$SIM_RESOURCE&client_id=$U1_CLIENT"
is "$r $HTTP" '405 400 400' 'cloudshell: GET 405, no Metadata 400, a selector 400'

# -- Service Fabric
SF="$SIM_SF_URL?api-version=2019-07-01-preview&resource=$SIM_RESOURCE"
http GET "$SF" --pin "$SIM_SF_THUMBPRINT" -H "Secret: $SIM_SF_SECRET"
TOKENS[servicefabric]=${J[access_token]-}
is "$HTTP ${J[access_token.aud]-} ${J[access_token.exp]-}" "200 $SIM_RESOURCE ${J[expires_on]-}" \
   'servicefabric: token over HTTPS with the pinned thumbprint'
like "$BODY" '^\{"token_type":"Bearer","access_token":"[^"]+","expires_on":[0-9]+,"resource":"[^"]+"\}$' \
  'servicefabric: expires_on a JSON number'
served=$("$PYTHON" -c '
import ssl, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
assert u.hostname == "127.0.0.1"
print(ssl.get_server_certificate((u.hostname, u.port)))' "$SIM_SF_URL")
fp=$(openssl x509 -noout -fingerprint -sha1 <<<"$served")
fp=${fp#*=}
is "${fp//:/}" "$SIM_SF_THUMBPRINT" 'servicefabric: SIM_SF_THUMBPRINT = openssl SHA-1 fingerprint of the served certificate'
like "$(openssl x509 -noout -subject -ext subjectAltName <<<"$served" | tr '\n' ' ')" \
  'CN *= *servicefabric-sim.*IP Address:127\.0\.0\.1' 'servicefabric: CN=servicefabric-sim, SAN IP:127.0.0.1'
http GET "$SF" --ca "$SIM_CA" -H "Secret: $SIM_SF_SECRET"
like "$HTTP" '^ERROR SSLCertVerificationError' 'servicefabric: certificate not from the test CA'
http GET "$SF" --pin 0000000000000000000000000000000000000000 -H "Secret: $SIM_SF_SECRET"
like "$HTTP" 'pinned thumbprint mismatch' 'servicefabric: a wrong pin fails (client-side check works)'
http GET "$SF" --pin "$SIM_SF_THUMBPRINT"
r="$HTTP ${J[error.code]-}"
run simctl rotate servicefabric
NEW_SF=$OUT
http GET "$SF" --pin "$SIM_SF_THUMBPRINT" -H "Secret: $SIM_SF_SECRET"
r+=" / $HTTP ${J[error.code]-}"
http GET "$SF" --pin "$SIM_SF_THUMBPRINT" -H "Secret: $NEW_SF"
is "$r / $HTTP" '401 SecretHeaderNotFound / 401 SecretHeaderInvalid / 200' \
   'servicefabric: no Secret 401; after rotate the old secret 401, the new one 200'

# -- workload identity authority
FED=$(<"$SIM_FEDERATED_TOKEN_FILE")
is "$(claim iss "$FED") $(claim aud "$FED") $(claim sub "$FED") $(( $(claim exp "$FED") - $(claim iat "$FED") )) $(stat -c %a "$SIM_FEDERATED_TOKEN_FILE")" \
   "https://oidc.prod-aks.azure.com/$SIM_TENANT/ api://AzureADTokenExchange system:serviceaccount:default:pamsh 3600 600" \
   'federated token file: iss, aud, sub, 1 h lifetime'
TOK_URL="$SIM_AUTHORITY_URL/$SIM_TENANT/oauth2/v2.0/token"
# wl [ASSERTION [CLIENT [SCOPE [GRANT [TYPE [URL]]]]]]: POST to the authority
wl() {
  http POST "${6:-$TOK_URL}" --ca "$SIM_CA" -H "$FORM" \
    -d "grant_type=${4:-client_credentials}&client_id=${2:-$SYS_CLIENT}&scope=${3:-$SIM_RESOURCE/.default}&client_assertion_type=${5:-$JWT_BEARER}&client_assertion=${1:-$FED}"
}
wl
TOKENS[authority]=${J[access_token]-}
is "$HTTP ${J[access_token.aud]-} ${J[access_token.appid]-} ${J[expires_in]-}" \
   "200 $SIM_RESOURCE $SYS_CLIENT 3599" 'authority: the federated token buys a token; aud = scope without /.default'
like "$BODY" '^\{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"[^"]+"\}$' \
  'authority: expires_in numbers, no expires_on, no resource'
wl "$FED" "$U1_CLIENT" "api://$SIM_RESOURCE/.default"
is "$HTTP ${J[access_token.appid]-} ${J[access_token.aud]-}" "200 $U1_CLIENT api://$SIM_RESOURCE" \
   'authority: client_id picks the identity'
got= want=
while IFS='|' read -r what status err code; do
  case $what in
    client)  wl "$FED" 00000000-0000-0000-0000-000000000000 ;;
    tenant)  wl "" "" "" "" "" "$SIM_AUTHORITY_URL/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token" ;;
    grant)   wl "" "" "" password ;;
    type)    wl "" "" "" "" urn:bogus ;;
    scope)   wl "" "" "$SIM_RESOURCE" ;;
    expired) wl "$(simctl mint aud=api://AzureADTokenExchange lifetime=-60)" ;;
    wrongaud) wl "$(simctl mint)" ;;
    badsig)  wl "${FED:0:${#FED}-4}AAAA" ;;
  esac
  d=${J[error_description]-}
  got+="$what $HTTP ${J[error]-} ${d%%:*}"$'\n' want+="$what $status $err $code"$'\n'
done <<'EOF2'
client|400|unauthorized_client|AADSTS700016
tenant|400|invalid_request|AADSTS90002
grant|400|unsupported_grant_type|AADSTS70003
type|400|invalid_request|AADSTS50027
scope|400|invalid_scope|AADSTS1002012
expired|401|invalid_client|AADSTS700211
wrongaud|401|invalid_client|AADSTS700211
badsig|401|invalid_client|AADSTS700211
EOF2
is "$got" "$want" 'authority: unknown client, wrong tenant, grant, assertion type, scope; expired, wrong-aud, forged assertion'
wl "$FED" 00000000-0000-0000-0000-000000000000
like "${J[error_description]-}" "^AADSTS700016: Application with identifier '0{8}-0{4}-0{4}-0{4}-0{12}' was not found in the directory" \
  'authority: AADSTS700016 text'
run simctl rotate authority
NEWFED=$(<"$SIM_FEDERATED_TOKEN_FILE")
wl "$FED"
r="$HTTP ${J[error]-}"
wl "$NEWFED"
is "$RC $([[ $OUT == "$NEWFED" ]] && echo printed) $([[ $NEWFED != "$FED" ]] && echo new) $r / $HTTP" \
   '0 printed new 401 invalid_client / 200' \
   'simctl rotate authority: a new token in the same file; the old assertion refused'
http POST "$TOK_URL" --ca "$SIM_WRONG_CA" -H "$FORM" -d 'grant_type=client_credentials'
like "$HTTP" '^ERROR SSLCertVerificationError' 'authority: served with the test CA certificate'

# -- every source's token at the PAM landing
got= want=
for src in appservice appservice2017 arc cloudshell servicefabric authority; do
  http POST "$SIM_PAM_URL/landing" --ca "$SIM_CA" -H "$FORM" -d "azure=${TOKENS[$src]-}"
  got+="$src $HTTP;" want+="$src 302;"
done
is "$got" "$want" 'landing accepts the tokens of every source'

# -- IMDS audience override
simctl set imds_aud=https://wrong.example
http GET "$IMDS&resource=$SIM_RESOURCE" -H 'Metadata: true'
r="${J[resource]-} ${J[access_token.aud]-}"
http POST "$SIM_PAM_URL/landing" --ca "$SIM_CA" -H "$FORM" -d "azure=${J[access_token]-}"
r+=" $HTTP"
simctl set imds_aud=
http GET "$IMDS&resource=$SIM_RESOURCE" -H 'Metadata: true'
is "$r / ${J[access_token.aud]-}" "$SIM_RESOURCE https://wrong.example 401 / $SIM_RESOURCE" \
   'set imds_aud: IMDS tokens carry that aud (landing refuses); empty: back to normal'

# -- faults, log and count on the new targets
simctl reset-log
simctl fault appservice /msi/token status status=503 retry_after=3 count=1
http GET "$AS" -H "X-IDENTITY-HEADER: $NEW_AS"
r="$HTTP ${J[statusCode]-}"; [[ $HDRS == *$'\n'Retry-After:\ 3* ]] && r+=" RA"
http GET "$AS" -H "X-IDENTITY-HEADER: $NEW_AS"
is "$r / $HTTP" '503 503 RA / 200' 'appservice fault status: 503 with Retry-After, once'
simctl fault servicefabric / nonjson200 count=1
simctl fault authority / close count=1
simctl fault cloudshell '/oauth2/token$' slow delay=1 count=1
http GET "$SF" --pin "$SIM_SF_THUMBPRINT" -H "Secret: $NEW_SF"
r="$HTTP ${BODY:0:6}"
wl "$NEWFED"
r+=" / ${HTTP%%:*}"
t0=$(date +%s%N)
http POST "$SIM_CLOUDSHELL_URL" -H 'Metadata: true' -H "$FORM" -d "resource=$SIM_RESOURCE"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
r+=" / $HTTP $(( ms >= 1000 ))"
is "$r" '200 <html> / ERROR RemoteDisconnected / 200 1' 'faults nonjson200 (servicefabric), close (authority), slow (cloudshell)'
simctl fault arc /metadata status status=500 count=1
http GET "$ARC" -H 'Metadata: true'
r="$HTTP ${J[error]-}"
simctl fault servicefabric / status status=503 count=1
simctl fault authority / status status=503 count=1
simctl fault appservice2017 / status status=429 retry_after=2 count=1
http GET "$SF" --pin "$SIM_SF_THUMBPRINT" -H "Secret: $NEW_SF"
r+=" / $HTTP ${J[error.code]-}"
wl "$NEWFED"
d=${J[error_description]-}
r+=" / $HTTP ${J[error]-} ${d%%:*}"
http GET "$A17" -H "secret: $SIM_MSI_SECRET"
r+=" / $HTTP ${J[statusCode]-}"; [[ $HDRS == *$'\n'Retry-After:\ 2* ]] && r+=" RA"
is "$r" '500 internal_server_error / 503 ServiceUnavailable / 503 temporarily_unavailable AADSTS50000 / 429 429 RA' \
   'fault status bodies in each source format (arc, servicefabric, authority, appservice2017)'
run simctl fault bogus / close
like "$RC $ERR" '^1 simctl: .*fault target must be one of' 'simctl: an unknown fault target is an error'
c=
for t in appservice servicefabric authority cloudshell arc; do
  run simctl count "$t" /; c+="$OUT "
done
run simctl log authority
is "$c$(jfield status "${OUT%%$'\n'*}") $(jfield target "${OUT%%$'\n'*}")" '2 2 2 1 1 0 authority' \
   'count and log per target (a closed connection logs status 0)'

# ---------------------------------------------------------------- netns
# Inside an isolated network namespace the simulator may take IMDS's real
# address; nothing there can leave the machine.
cat >"$TMP/netns.t" <<'EOF2'
#!/usr/bin/env bash
. "$TOP/tests/setup"
sim_start --imds-bind 169.254.169.254:80
is "$SIM_IMDS_URL" http://169.254.169.254:80 'IMDS bound to 169.254.169.254:80'
r=$("$PYTHON" -c '
import json, sys, urllib.request
o = urllib.request.build_opener(urllib.request.ProxyHandler({}))
q = urllib.request.Request(sys.argv[1], headers={"Metadata": "true"})
print(json.load(o.open(q, timeout=10))["token_type"])' \
  "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=$SIM_RESOURCE")
is "$r" Bearer 'token from the default IMDS address'
done_testing
EOF2
chmod +x "$TMP/netns.t"
in_netns "$TMP/netns.t" >"$TMP/netns.out" 2>&1
case $? in
  77) skip 'in_netns: simulator on 169.254.169.254:80' 'no network namespaces' ;;
  0)  pass 'in_netns: simulator on 169.254.169.254:80 in an isolated namespace' ;;
  *)  fail 'in_netns: simulator on 169.254.169.254:80 in an isolated namespace'
      diag "$(<"$TMP/netns.out")" ;;
esac

pid=$SIM_PID
sim_stop
kill -0 "$pid" 2>/dev/null
is "$?:$([[ -e $SIM_STATE ]] && echo state || echo gone)" '1:gone' 'sim_stop: process ended, state file removed'

done_testing
