#!/usr/bin/env bash
# The config file: lookup order, [default] and [profile NAME], precedence
# option > environment > file > default, and every way a file can be wrong
# (usage error, exit 2, naming file and line).  No network.
. "$(dirname "$0")/../setup"

# tests/setup points PAMSH_IMDS_URL at a dead port; here the file's
# imds-url must be visible
unset PAMSH_IMDS_URL PAMSH_CONFIG PAMSH_PROFILE
cfgdir=$XDG_CONFIG_HOME/pamsh
mkdir -p "$cfgdir"

# show "FIELD..." [ARGS...]: run pamsh ARGS with the settings it resolved
# printed, one field a line (nil when unset)
SHOW='local s = require("pam.core").settings()
for k in os.getenv("FIELDS"):gmatch("%S+") do print(k .. "=" .. tostring(s[k])) end'
show() { FIELDS="$1"; shift; run env FIELDS="$FIELDS" "$PAMSH" "$@" -e "$SHOW"; }

# ------------------------------------------------------------ no file at all
show "url timeout imds_url log_format login"
is "$RC" 0 "no config file anywhere: fine"
is "$OUT" $'url=nil\ntimeout=30.0\nimds_url=http://169.254.169.254\nlog_format=text\nlogin=azure' \
  "no config file: the defaults"

# ------------------------------------------------------------ the XDG file
cat > "$cfgdir/config" <<'EOF'
# pamsh config for the tests
; both comment styles
[default]
url = https://file.corp/xtam
resource = res-file
client-id = cid-default
timeout = 12
imds-url = http://127.0.0.1:9/file-imds
log-format = json

[profile dr]
url = https://dr.corp/xtam   ; the DR site
object-id = oid-dr

[profile  lab ]
url = https://lab.corp/xtam
client_id =
timeout = 3
login = cas
user = robot

[profile empty]
EOF

show "url resource client_id timeout imds_url log_format"
is "$OUT" $'url=https://file.corp/xtam\nresource=res-file\nclient_id=cid-default\ntimeout=12.0\nimds_url=http://127.0.0.1:9/file-imds\nlog_format=json' \
  "\$XDG_CONFIG_HOME/pamsh/config: [default] applies"

# precedence: option > environment > file > default
show url
is "$OUT" "url=https://file.corp/xtam" "url from the file"
PAMSH_URL=https://env.corp/xtam show url
is "$OUT" "url=https://env.corp/xtam" "PAMSH_URL beats the file"
PAMSH_URL=https://env.corp/xtam show url --url https://opt.corp/xtam
is "$OUT" "url=https://opt.corp/xtam" "--url beats PAMSH_URL and the file"
PAMSH_TIMEOUT=7 show timeout
is "$OUT" "timeout=7.0" "PAMSH_TIMEOUT beats the file's timeout"
show timeout --timeout 5
is "$OUT" "timeout=5.0" "--timeout beats the file's timeout"
PAMSH_LOG_FORMAT=text show log_format
is "$OUT" "log_format=text" "PAMSH_LOG_FORMAT beats the file's log-format"
PAMSH_IMDS_URL=http://127.0.0.1:9/env show imds_url
is "$OUT" "imds_url=http://127.0.0.1:9/env" "PAMSH_IMDS_URL beats the file's imds-url"
AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9/pod show imds_url
is "$OUT" "imds_url=http://127.0.0.1:9/pod" "AZURE_POD_IDENTITY_AUTHORITY_HOST beats the file too"
show imds_url --imds-url http://127.0.0.1:9/opt
is "$OUT" "imds_url=http://127.0.0.1:9/opt" "--imds-url beats the file"

# identity selectors: one layer picks the identity
show "client_id object_id" --object-id oid-opt
is "$OUT" $'client_id=nil\nobject_id=oid-opt' "--object-id replaces the file's client-id (no conflict)"
PAMSH_MSI_RES_ID=/sub/x show "client_id msi_res_id"
is "$OUT" $'client_id=nil\nmsi_res_id=/sub/x' "PAMSH_MSI_RES_ID replaces the file's client-id"

# ------------------------------------------------------------ profiles
show "url resource client_id object_id timeout" --profile dr
is "$OUT" $'url=https://dr.corp/xtam\nresource=res-file\nclient_id=nil\nobject_id=oid-dr\ntimeout=12.0' \
  "--profile dr: its keys over [default]'s, the rest inherited, its selector replaces [default]'s"
PAMSH_PROFILE=dr show url
is "$OUT" "url=https://dr.corp/xtam" "PAMSH_PROFILE picks the profile"
PAMSH_PROFILE=dr show url --profile lab
is "$OUT" "url=https://lab.corp/xtam" "--profile beats PAMSH_PROFILE"
PAMSH_URL=https://env.corp/xtam show url --profile dr
is "$OUT" "url=https://env.corp/xtam" "the environment beats the profile too"
show "client_id timeout login user" --profile lab
is "$OUT" $'client_id=nil\ntimeout=3.0\nlogin=cas\nuser=robot' \
  "[profile  lab ] (blanks around the name): an empty value clears [default]'s; client_id means client-id"
show "url client_id" --profile empty
is "$OUT" $'url=https://file.corp/xtam\nclient_id=cid-default' "an empty profile: [default] alone"
show url --profile default
is "$OUT" "url=https://file.corp/xtam" "--profile default: [default] alone"
show "login user" --profile lab --login azure
is "$RC $OUT" $'0 login=azure\nuser=nil' "--login azure over a CAS profile: the profile's user is dropped"

# comments after a value: '#' as well as ';', after a blank; a value that
# is only a comment is empty; a '#' inside a value stays
cat > "$TMP/comments.conf" <<'EOF'
[default]
url = https://c.corp/xtam#frag   # the main site
resource = res-c	; tab, then ;
cacert = #nothing yet
timeout = 7 #
EOF
show "url resource cacert timeout" --config "$TMP/comments.conf"
is "$RC $OUT" $'0 url=https://c.corp/xtam#frag\nresource=res-c\ncacert=nil\ntimeout=7.0' \
  "a blank then # or ; starts a comment; a # within a value stays"

run "$PAMSH" --profile nope -e ''
is "$RC" 2 "unknown profile: exit 2"
like "$ERR" "unknown profile 'nope' \(--profile\) in $cfgdir/config; profiles: dr, lab, empty" \
  "unknown profile: the file and the profiles it has"
run env PAMSH_PROFILE=nope "$PAMSH" -e ''
like "$RC $ERR" "^2 .*unknown profile 'nope' \(PAMSH_PROFILE\)" "unknown PAMSH_PROFILE: exit 2, says where it came from"

# --help and --version never read the file (a broken one cannot hide them)
run "$PAMSH" --profile nope --help
is "$RC" 0 "--help with an unknown profile: still exit 0"
like "$OUT" "--profile NAME.*PAMSH_PROFILE" "--help documents --profile"
like "$OUT" "--config FILE.*PAMSH_CONFIG" "--help documents --config"
run "$PAMSH" --profile nope --version
is "$RC" 0 "--version with an unknown profile: exit 0"

# -v says which file and profile applied
run "$PAMSH" -v --profile dr -e ''
like "$ERR" "config file $cfgdir/config, profile dr" "-v names the config file and profile"

# ------------------------------------------------------------ lookup order
printf '[default]\nurl = https://explicit.corp/xtam\n[profile x]\nurl = https://x.corp/xtam\n' > "$TMP/explicit"
printf '[default]\nurl = https://envfile.corp/xtam\n' > "$TMP/envfile"
show url --config "$TMP/explicit"
is "$OUT" "url=https://explicit.corp/xtam" "--config replaces the XDG file"
show url --config "$TMP/explicit" --profile x
is "$OUT" "url=https://x.corp/xtam" "--config with --profile"
PAMSH_CONFIG=$TMP/envfile show url
is "$OUT" "url=https://envfile.corp/xtam" "PAMSH_CONFIG replaces the XDG file"
PAMSH_CONFIG=$TMP/envfile show url --config="$TMP/explicit"
is "$OUT" "url=https://explicit.corp/xtam" "--config=FILE beats PAMSH_CONFIG"
PAMSH_CONFIG=/dev/null show url
is "$RC $OUT" "0 url=nil" "PAMSH_CONFIG=/dev/null: no settings from any file"
run "$PAMSH" --config "$TMP/missing" -e ''
is "$RC" 2 "a missing --config file: exit 2"
like "$ERR" "cannot read the config file $TMP/missing \(--config\): No such file" "a missing --config file is named"
run env PAMSH_CONFIG="$TMP/missing" "$PAMSH" -e ''
like "$RC $ERR" "^2 .*$TMP/missing \(PAMSH_CONFIG\)" "a missing PAMSH_CONFIG file: exit 2"
run "$PAMSH" --config "$TMP" -e ''
like "$RC $ERR" "^2 .*is a directory" "--config DIR: exit 2"

# XDG_CONFIG_HOME unset, or relative: ~/.config
mkdir -p "$TMP/h2/.config/pamsh" "$TMP/h3"
printf '[default]\nurl = https://home.corp/xtam\n' > "$TMP/h2/.config/pamsh/config"
run env -u XDG_CONFIG_HOME HOME="$TMP/h2" FIELDS=url "$PAMSH" -e "$SHOW"
is "$OUT" "url=https://home.corp/xtam" "XDG_CONFIG_HOME unset: ~/.config/pamsh/config"
run env XDG_CONFIG_HOME=relative HOME="$TMP/h2" FIELDS=url "$PAMSH" -e "$SHOW"
is "$OUT" "url=https://home.corp/xtam" "a relative XDG_CONFIG_HOME is ignored (XDG spec)"
run env HOME="$TMP/h3" XDG_CONFIG_HOME="$TMP/h3/.config" FIELDS=url "$PAMSH" -e "$SHOW"
is "$RC" 0 "no personal file and no system file: fine"
run env HOME="$TMP/h3" XDG_CONFIG_HOME="$TMP/h3/.config" "$PAMSH" --profile dr -e ''
like "$RC $ERR" "^2 .*no config file for profile 'dr' \(--profile\): looked for $TMP/h3/.config/pamsh/config and /etc/pamsh/config" \
  "--profile without any config file: exit 2, the places looked at"

# /etc/pamsh/config, seen through an overlay on /etc in a private mount
# namespace, so the real /etc is never touched
etc_ns() {  # etc_ns FILE CMD...: run CMD with FILE as /etc/pamsh/config
  local script='
    set -e
    mount -t tmpfs tmpfs "$1"
    mkdir "$1/up" "$1/work"
    mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/up,workdir=$1/work" /etc
    mkdir -p /etc/pamsh
    cp "$2" /etc/pamsh/config
    shift 2
    exec "$@"'
  mkdir -p "$TMP/ovl"
  if ((EUID == 0)); then
    unshare -m -- bash -c "$script" etc_ns "$TMP/ovl" "$@"
  else
    unshare -rm -- bash -c "$script" etc_ns "$TMP/ovl" "$@"
  fi
}
printf '[default]\nurl = https://etc.corp/xtam\n[profile sys]\nurl = https://sys.corp/xtam\n' > "$TMP/etc-config"
if etc_ns "$TMP/etc-config" test -f /etc/pamsh/config 2>/dev/null; then
  run etc_ns "$TMP/etc-config" env HOME="$TMP/h3" XDG_CONFIG_HOME="$TMP/h3/.config" FIELDS=url "$PAMSH" -e "$SHOW"
  is "$OUT" "url=https://etc.corp/xtam" "no personal file: /etc/pamsh/config"
  run etc_ns "$TMP/etc-config" env HOME="$TMP/h3" XDG_CONFIG_HOME="$TMP/h3/.config" FIELDS=url "$PAMSH" --profile sys -e "$SHOW"
  is "$OUT" "url=https://sys.corp/xtam" "a profile of /etc/pamsh/config"
  run etc_ns "$TMP/etc-config" env FIELDS=url "$PAMSH" -e "$SHOW"
  is "$OUT" "url=https://file.corp/xtam" "the personal file hides /etc/pamsh/config"
  run etc_ns "$TMP/etc-config" env FIELDS=url "$PAMSH" --profile sys -e "$SHOW"
  like "$RC $ERR" "^2 .*unknown profile 'sys'" "only one file is read: /etc's profiles are not merged in"
else
  for t in "/etc/pamsh/config" "a profile of /etc" "personal file hides /etc" "no merging"; do
    skip "$t" "no mount namespace with overlayfs here"
  done
fi

# ------------------------------------------------------------ values
mkdir -p "$TMP/conf.d/ca"
touch "$TMP/conf.d/ca/pam.pem" "$HOME/pam.pem"
printf '[default]\ncacert = ca/pam.pem\n[profile home]\ncacert = ~/pam.pem\n[profile abs]\ncacert = /abs/pam.pem\n' > "$TMP/conf.d/config"
show cacert --config "$TMP/conf.d/config" --insecure
is "$OUT" "cacert=$TMP/conf.d/ca/pam.pem" "a relative cacert is relative to the config file's directory"
show cacert --config "$TMP/conf.d/config" --profile home --insecure
is "$OUT" "cacert=$HOME/pam.pem" "cacert ~/ is relative to HOME"
show cacert --config "$TMP/conf.d/config" --profile abs --cacert "$HOME/pam.pem"
is "$OUT" "cacert=$HOME/pam.pem" "--cacert beats the file's"
show cacert --config "$TMP/conf.d/config" --profile abs
is "$RC" 2 "the file's cacert must be readable like --cacert's"

printf '[default]\ninsecure = true\n[profile strict]\ninsecure = false\n[profile bad]\ninsecure = maybe\n' > "$TMP/bool"
show insecure --config "$TMP/bool"
is "$OUT" "insecure=true" "insecure = true"
like "$ERR" "warning: --insecure" "insecure from the file warns like --insecure"
show insecure --config "$TMP/bool" --profile strict
is "$OUT" "insecure=false" "a profile's insecure = false overrides [default]'s"
show insecure --config "$TMP/bool" --profile bad
is "$RC" 2 "insecure = maybe: exit 2"
like "$ERR" "$TMP/bool:6: insecure must be true or false, not 'maybe'" "a bad boolean: file and line"

# allow-http from the file: tried, in an empty network namespace
printf '[default]\nurl = http://192.0.2.1:8080/xtam\nresource = r\ntimeout = 2\nallow-http = yes\n' > "$TMP/http"
if unshare -n true 2>/dev/null; then
  run unshare -n "$PAMSH" --config "$TMP/http" -e 'pam_login{token = "x"}'
  is "$RC" 5 "allow-http = yes: plain http tried (and failed with no network: exit 5)"
  run unshare -n "$PAMSH" --config /dev/null --url http://192.0.2.1:8080/xtam --resource r -e 'pam_login{token = "x"}'
  is "$RC" 2 "without it: refused, exit 2"
else
  skip "allow-http from the file" "no network namespaces"; skip "allow-http refused" "no network namespaces"
fi

long=/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/$(printf 'g%.0s' {1..90})/providers/Microsoft.ManagedIdentity/userAssignedIdentities/$(printf 'i%.0s' {1..128})
printf '\xef\xbb\xbf[default]\nmsi-res-id = %s\n' "$long" > "$TMP/long"
show msi_res_id --config "$TMP/long"
is "$OUT" "msi_res_id=$long" "a ${#long}-character ARM resource id (longer than inih's default line), after a BOM"

printf '[default]\nuser = robot\n' > "$TMP/user"
run "$PAMSH" --config "$TMP/user" -e ''
like "$RC $ERR" "^2 .*$TMP/user:2: user is for login = cas" "user without login = cas: exit 2, file and line"
printf '[default]\nclient-id = a\nobject-id = b\n' > "$TMP/two"
run "$PAMSH" --config "$TMP/two" -e ''
like "$RC $ERR" "^2 .*$TMP/two:3: set at most one of client-id, object-id, msi-res-id" "two selectors in the file: exit 2"

# bad values: each a usage error naming the file and the line
bad_value() {  # bad_value KEY VALUE PATTERN
  printf '# x\n[default]\nurl = https://a/xtam\n%s = %s\n' "$1" "$2" > "$TMP/badval"
  run "$PAMSH" --config "$TMP/badval" -e ''
  like "$RC $ERR" "^2 pamsh: $TMP/badval:4: $3" "$1 = $2: exit 2, file:line"
}
bad_value timeout abc "timeout must be a positive number of seconds, not 'abc'"
bad_value log-format xml "log-format must be text or json, not 'xml'"
bad_value login kerberos "login must be azure or cas, not 'kerberos'"
bad_value pin md5//x "pin takes sha256//"

# ------------------------------------------------------------ malformed files
bad_file() {  # bad_file LINE PATTERN DESC < content
  cat > "$TMP/bad"
  run "$PAMSH" --config "$TMP/bad" -e 'print("ran")'
  is "$RC" 2 "$3: exit 2"
  like "$ERR" "^pamsh: $TMP/bad:$1: $2" "$3: file, line and why"
  is "$OUT" "" "$3: nothing ran"
}
bad_file 3 "unknown key 'proxy' \(keys: url, resource, client-id" "an unknown key" <<'EOF'
[default]
url = https://a/xtam
proxy = http://p:3128
EOF
bad_file 2 "'password': passwords and tokens never go in the config file" "a password" <<'EOF'
[profile x]
password = hunter2
EOF
bad_file 2 "'API_TOKEN': passwords and tokens never go" "an API token" <<'EOF'
[default]
API_TOKEN = abc
EOF
bad_file 3 "'dry-run' is not a config file key: give --dry-run on the command line" "a per-run option" <<'EOF'
[default]

dry-run = true
EOF
bad_file 1 "'url' outside a section: put it under \[default\] or \[profile NAME\]" "a key before any section" <<'EOF'
url = https://a/xtam
EOF
bad_file 3 "expected \[default\], \[profile NAME\], key = value or a comment" "a line without =" <<'EOF'
[default]
url = https://a/xtam
just some words
EOF
bad_file 2 "expected" "an unclosed section header" <<'EOF'
# comment
[default
EOF
bad_file 4 "unknown section \[prod\]: sections are \[default\] and \[profile NAME\]" "an unknown section" <<'EOF'
[default]
url = https://a/xtam

[prod]
EOF
bad_file 1 "bad profile name 'a b'" "a profile name with a blank" <<'EOF'
[profile a b]
EOF
bad_file 1 "unexpected text after the section header" "text after ]" <<'EOF'
[default] url = x
EOF
bad_file 4 "'url' is set twice in \[profile p\] \(first at line 2\)" "a key set twice" <<'EOF'
[profile p]
url = https://a/xtam
resource = r
url = https://b/xtam
EOF
printf '[default]\nmsi-res-id = %s\n' "$(head -c 5000 /dev/zero | tr '\0' x)" > "$TMP/toolong"
bad_file 2 "line longer than" "a 5000-character line" < "$TMP/toolong"

done_testing
