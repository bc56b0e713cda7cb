#!/usr/bin/env bash
# Azure Arc's challenge, with the real key directory /var/opt/azcmagent/tokens
# put on a tmpfs inside a private mount namespace (and a private network
# namespace), so the production binary is tested as it runs on a server.
# Skipped when namespaces are unavailable.
. "$(dirname "$0")/../setup"

if [ -z "${IN_ARC_NS:-}" ]; then
  if ! unshare -m -n --propagation private true 2>/dev/null || [ ! -d /var ]; then
    skip_all "cannot create mount and network namespaces"
  fi
  rm -rf "$TMP"
  IN_ARC_NS=1 exec unshare -m -n --propagation private "$BASH" "$0"
fi
ip link set lo up
mkdir -p /var/opt 2>/dev/null
mount -t tmpfs -o mode=0755 tmpfs /var/opt || bail_out "cannot mount a tmpfs on /var/opt"
mkdir -p /var/opt/azcmagent/tokens && chmod 700 /var/opt/azcmagent/tokens

sim_start --arc-key-dir /var/opt/azcmagent/tokens
arc_env=(env IDENTITY_ENDPOINT="$SIM_ARC_URL" IMDS_ENDPOINT=http://127.0.0.1:9)
src='local _, i = imds_token(); print(i.source, i.claims.oid)'

simctl reset-log
run "${arc_env[@]}" "$PAMSH" -e "$src"
is "$RC" 0 "arc: exit 0"
is "$OUT" "arc	0d9e8f7a-6b5c-4d3e-a2f1-e0d1c2b3a401" "arc: detected, the machine's identity"
is "$(simctl count arc /)" 2 "arc: a challenge, then the answer"
second=$(simctl log arc | tail -n 1)
like "$second" '"authorization": "Basic [0-9a-f]{64}"' "arc: the key file's contents as Basic authorization"
like "$second" '"metadata": "true"' "arc: Metadata: true"
printf 'print(pam.unlock(42).name)\n' > "$TMP/unlock.lua"
run "${arc_env[@]}" "$PAMSH" "$TMP/unlock.lua"
is "$OUT" "db-prod" "arc: its token logs in to PAM"
run "${arc_env[@]}" "$PAMSH" -v -e "$src"
unlike "$ERR" "Basic [0-9a-f]{16}" "arc: -v trace holds no key"

# the key file the agent names is checked before it is read
simctl set arc_realm=/etc/passwd
run "${arc_env[@]}" "$PAMSH" -e "$src"
is "$RC" 3 "arc: a realm outside the token directory is refused"
like "$ERR" "not a .key file in /var/opt/azcmagent/tokens/" "arc: says why"
printf 'x' > "$TMP/outside.key"
simctl set arc_realm="$TMP/outside.key"
run "${arc_env[@]}" "$PAMSH" -e "$src"
is "$RC" 3 "arc: a .key file elsewhere is refused"
printf 'x' > /var/opt/azcmagent/tokens/notakey.txt
simctl set arc_realm=/var/opt/azcmagent/tokens/notakey.txt
run "${arc_env[@]}" "$PAMSH" -e "$src"
is "$RC" 3 "arc: a file that is not .key is refused"
head -c 5000 /dev/zero | tr '\0' a > /var/opt/azcmagent/tokens/big.key
simctl set arc_realm=/var/opt/azcmagent/tokens/big.key
run "${arc_env[@]}" "$PAMSH" -e "$src"
is "$RC" 3 "arc: a key file over 4096 bytes is refused"
like "$ERR" "at most 4096 bytes" "arc: says so"
ln -s /etc/hostname /var/opt/azcmagent/tokens/link.key
simctl set arc_realm=/var/opt/azcmagent/tokens/link.key
run "${arc_env[@]}" "$PAMSH" -e "$src"
is "$RC" 3 "arc: a symbolic link out of the directory is refused"
simctl set arc_realm=/var/opt/azcmagent/tokens/gone.key
run "${arc_env[@]}" "$PAMSH" -e "$src"
is "$RC" 3 "arc: a key file that does not exist: exit 3"
like "$ERR" "arc: cannot read the Azure Arc key file /var/opt/azcmagent/tokens/gone.key: No such file or directory" \
  "arc: names the missing file"
simctl set arc_realm=
run "${arc_env[@]}" "$PAMSH" --client-id 7b2e4d3f-0c58-4e1b-9f60-2d3c4b5e6f02 -e "$src"
is "$RC" 2 "arc: a user-assigned identity is refused, exit 2"

# detection order: Arc (IDENTITY_ENDPOINT + IMDS_ENDPOINT) before Cloud Shell
# and the 2017 MSI protocol (MSI_ENDPOINT)
simctl reset-log
run "${arc_env[@]}" MSI_ENDPOINT="$SIM_CLOUDSHELL_URL" "$PAMSH" -e "$src"
is "$OUT" "arc	0d9e8f7a-6b5c-4d3e-a2f1-e0d1c2b3a401" "order: Azure Arc before Cloud Shell"
run "${arc_env[@]}" MSI_ENDPOINT="$SIM_APPSERVICE2017_URL" MSI_SECRET="$SIM_MSI_SECRET" "$PAMSH" -e "$src"
is "$OUT" "arc	0d9e8f7a-6b5c-4d3e-a2f1-e0d1c2b3a401" "order: Azure Arc before the 2017 MSI protocol"
is "$(simctl count cloudshell /) $(simctl count appservice2017 /)" "0 0" "order: neither MSI_ENDPOINT was asked"

# permission problems: the agent's key files are for root and the himds
# group; anyone else gets an error naming the file and what to do
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  : > /var/opt/empty-config && chmod 644 /var/opt/empty-config
  as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups
             env -u PAMSH_CACERT PAMSH_CONFIG=/var/opt/empty-config)
  # the directory closed (0700 root): the key file cannot even be looked up
  run "${arc_env[@]}" "${as_nobody[@]}" "$PAMSH" -e "$src"
  is "$RC" 3 "arc as nobody, directory closed: exit 3"
  like "$ERR" "^pamsh: arc: cannot read the Azure Arc key file /var/opt/azcmagent/tokens/[0-9a-f-]+\.key: Permission denied \(run as root or a member of the himds group\)$" \
    "arc as nobody, directory closed: names the file and the fix"
  # the directory open to search (0711) but the file root's (0600)
  chmod 711 /var/opt/azcmagent/tokens
  run "${arc_env[@]}" "${as_nobody[@]}" "$PAMSH" -e "$src"
  is "$RC" 3 "arc as nobody, key file unreadable: exit 3"
  like "$ERR" "^pamsh: arc: cannot read the Azure Arc key file /var/opt/azcmagent/tokens/[0-9a-f-]+\.key: Permission denied \(run as root or a member of the himds group\)$" \
    "arc as nobody, key file unreadable: names the file and the fix"
  chmod 700 /var/opt/azcmagent/tokens
else
  skip "arc key file permission errors" "needs root and setpriv"
  skip "arc key file permission errors: the message" "needs root and setpriv"
  skip "arc key file permission errors: unreadable file" "needs root and setpriv"
  skip "arc key file permission errors: unreadable file, the message" "needs root and setpriv"
fi

# the himds agent installed: Arc even without IMDS_ENDPOINT, and before
# MSI_ENDPOINT (a tmpfs on /opt, in this private mount namespace only)
if [ -d /opt ] && mount -t tmpfs -o mode=0755 tmpfs /opt; then
  mkdir -p /opt/azcmagent/bin && printf '#!/bin/sh\n' > /opt/azcmagent/bin/himds &&
    chmod 755 /opt/azcmagent/bin/himds
  run env IDENTITY_ENDPOINT="$SIM_ARC_URL" MSI_ENDPOINT="$SIM_CLOUDSHELL_URL" "$PAMSH" -e "$src"
  is "$RC $OUT" "0 arc	0d9e8f7a-6b5c-4d3e-a2f1-e0d1c2b3a401" "himds installed: Azure Arc, before Cloud Shell"
  run "$PAMSH" -e 'local s = pam.core.identity_source() print(s.source, s.why, s.endpoint)'
  is "$OUT" "arc	the Azure Arc agent /opt/azcmagent/bin/himds is installed	http://localhost:40342/metadata/identity/oauth2/token" \
    "himds installed, no variables: Azure Arc at the agent's default endpoint, and why"
  run "$PAMSH" -e "$src"
  is "$RC" 3 "himds installed, agent not answering: exit 3"
  like "$ERR" "arc: no token from http://localhost:40342/metadata/identity/oauth2/token" \
    "himds installed, agent not answering: names the source and endpoint"
  umount /opt
else
  for i in 1 2 3 4; do skip "himds detection" "cannot mount a tmpfs on /opt"; done
fi

done_testing
