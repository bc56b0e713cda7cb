#!/usr/bin/env bash
# TAP test of the test simulator itself (tests/sim/sim.py, tests/sim/simctl).
# Talks to 127.0.0.1 only (and, inside an isolated network namespace made by
# in_netns, to 169.254.169.254 on that namespace's own lo).
. "$(dirname "$0")/../setup"

# http METHOD URL [-H 'Name: value']... [-d BODY] [--ca FILE]
# Sets HTTP (status, or "ERROR <exception>"), HDRS (header lines), BODY and
# the associative array J: the JSON body flattened ("recordType.name",
# "0.name"); string values that hold JSON (custom) or a JWT (access_token)
# are flattened too ("custom.Password", "access_token.aud").
_http_py='
import base64, http.client, json, shlex, ssl, sys, urllib.parse
method, url, args = sys.argv[1], sys.argv[2], sys.argv[3:]
hdrs, data, ca = {}, None, None
while args:
    o, v = args.pop(0), args.pop(0)
    if o == "-H":
        k, _, val = v.partition(":"); hdrs[k.strip()] = val.strip()
    elif o == "-d":
        data = v.encode()
    elif o == "--ca":
        ca = v
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
    if u.scheme == "https":
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
