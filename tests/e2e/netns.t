#!/usr/bin/env bash
# The default IMDS address, for real, but only inside a fresh network
# namespace whose only interface is lo, where 169.254.169.254 is put on lo.
# Skipped when namespaces are unavailable; never reaches the real address.
. "$(dirname "$0")/../setup"

if [ -z "${IN_PAMSH_NETNS:-}" ]; then
  if ! unshare -n true 2>/dev/null; then
    skip_all "cannot create a network namespace (unshare -n)"
  fi
  rm -rf "$TMP"
  IN_PAMSH_NETNS=1 exec unshare -n "$BASH" "$0"
fi

# inside the namespace: prove it is empty before touching anything
links=$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
if [ "$links" != "lo " ]; then
  echo "Bail out! not an empty namespace: $links"
  exit 1
fi
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
is "$(ip route show default)" "" "no default route in the namespace"

sim_start --imds-bind 169.254.169.254:80
unset PAMSH_IMDS_URL
printf 'local t, info = imds_token()\nprint(info.source, info.claims.aud == os.getenv("PAMSH_RESOURCE"))\nprint(pam.unlock(42).name)\n' > "$TMP/job.lua"
run "$PAMSH" "$TMP/job.lua"
is "$RC" 0 "default IMDS address: exit 0"
is "$OUT" $'imds\ttrue\ndb-prod' "default IMDS address: token and record"
is "$(simctl count imds /metadata)" 1 "the simulator on 169.254.169.254 answered"

# a proxy in the environment must not be used for IMDS
run env http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 "$PAMSH" -e 'print((imds_token()) ~= nil)'
is "$RC" 0 "IMDS bypasses a configured proxy"

done_testing
