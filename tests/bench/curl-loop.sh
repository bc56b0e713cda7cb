#!/bin/sh
# tests/bench/curl-loop.sh N IMDS_URL PAM_URL RESOURCE CACERT JAR - the
# product description's way, as operators run it today: one curl for the
# token, one for the landing (cookies into a jar), then one curl process a
# record.  bench.py times from "ready" to "done".
set -u
n=$1 imds=$2 pam=$3 resource=$4 ca=$5 jar=$6

token=$(curl -s -H Metadata:true \
  "$imds/metadata/identity/oauth2/token?api-version=2018-02-01&resource=$resource" |
  sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "curl-loop: no token" >&2; exit 3; }
curl -s -c "$jar" --cacert "$ca" -d "azure=$token" "$pam/landing" >/dev/null ||
  { echo "curl-loop: landing failed" >&2; exit 3; }
echo ready

fail=0 i=1
while [ "$i" -le "$n" ]; do
  curl -s -f -b "$jar" --cacert "$ca" "$pam/rest/record/unlock/$i" >/dev/null ||
    fail=$((fail + 1))
  i=$((i + 1))
done
echo "done $((n - fail))"
