#!/usr/bin/env bash
# make install / make uninstall into a temporary DESTDIR: every file where
# it belongs, the units pointing at the installed binary, the installed
# binary working, nothing left afterwards.  The man pages render without a
# warning and the bash completion completes options, commands, profiles
# and scripts.
. "$(dirname "$0")/../setup"
unset PAMSH_CONFIG PAMSH_PROFILE   # the completion reads them

# a make run from a test is a make of its own, not a job of the one that
# runs the suite
unset MAKEFLAGS MAKELEVEL MFLAGS
mk() { run --timeout 600 make --no-print-directory -C "$TOP" "$@"; }

# ------------------------------------------------------------ install
root=$TMP/root
prefix=/opt/pamsh-test
mk install DESTDIR="$root" PREFIX="$prefix"
is "$RC" 0 "make install DESTDIR PREFIX: exit 0" || diag_run

want="$prefix/bin/pamsh
$prefix/lib/systemd/system/pamsh-job@.service
$prefix/lib/systemd/system/pamsh-job@.timer
$prefix/share/bash-completion/completions/pamsh
$prefix/share/man/man1/pamsh.1
$prefix/share/man/man7/pamsh-lua.7
$prefix/share/pamsh/examples/config
$prefix/share/pamsh/examples/pamsh.cron"
for s in "$TOP"/scripts/*.lua; do want+=$'\n'"$prefix/share/pamsh/scripts/${s##*/}"; done
got=$(cd "$root" && find . -type f -o -type l | sed 's|^\.||' | LC_ALL=C sort)
is "$got" "$(LC_ALL=C sort <<<"$want")" "every file installed where it belongs, and nothing else"

is "$(stat -c %a "$root$prefix/bin/pamsh")" 755 "the binary is 0755"
is "$(stat -c %a "$root$prefix/share/man/man1/pamsh.1")" 644 "the man page is 0644"
is "$(stat -c %a "$root$prefix/share/pamsh/scripts/demo.lua")" 755 "example scripts keep their #! and x bit"
cmp -s "$TOP/packaging/config.example" "$root$prefix/share/pamsh/examples/config"
ok $? "the example config is installed"

service=$root$prefix/lib/systemd/system/pamsh-job@.service
like "$(grep '^ExecStart=' "$service")" "^ExecStart=$prefix/bin/pamsh " "the service runs \$(PREFIX)/bin/pamsh"
unlike "$(cat "$service" "$root$prefix/share/pamsh/examples/pamsh.cron")" "/usr/local/bin" \
  "no /usr/local/bin left in the units or the cron example"
like "$(grep -v '^#' "$root$prefix/share/pamsh/examples/pamsh.cron")" "$prefix/bin/pamsh --lock" \
  "the cron example runs \$(PREFIX)/bin/pamsh"

run "$root$prefix/bin/pamsh" --version
like "$RC $OUT" "^0 pamsh [0-9]" "the installed binary runs"
run "$root$prefix/bin/pamsh" --config "$root$prefix/share/pamsh/examples/config" -e 'print(require("pam.core").settings().url)'
is "$RC $OUT" "0 nil" "the example config parses and sets nothing (all commented out)"

# ------------------------------------------------------------ man pages
for m in "$root$prefix/share/man/man1/pamsh.1" "$root$prefix/share/man/man7/pamsh-lua.7"; do
  run env LC_ALL=C.UTF-8 groff -ww -z -mandoc -Tutf8 "$m"
  is "$RC ${ERR}" "0 " "${m##*/}: groff -ww renders it without a warning"
done
if command -v man >/dev/null; then
  for m in "$root$prefix/share/man/man1/pamsh.1" "$root$prefix/share/man/man7/pamsh-lua.7"; do
    run env LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m"
    like "$RC $ERR" "^0 $" "man -l ${m##*/}: no warning"
  done
else
  skip "man -l pamsh.1" "no man-db"; skip "man -l pamsh-lua.7" "no man-db"
fi
# the text with lines long enough that no option is broken or hyphenated,
# plain (-P-cbou: no bold or underline by overstriking)
page=$(LC_ALL=C.UTF-8 groff -mandoc -Tutf8 -P-cbou -rLL=2000n "$root$prefix/share/man/man1/pamsh.1" 2>/dev/null)
for sec in SYNOPSIS COMMANDS OPTIONS "CONFIGURATION FILE" ENVIRONMENT "EXIT STATUS" FILES EXAMPLES; do
  grep -qx "$sec" <<<"$page" || fail "pamsh(1) has no $sec section"
done
pass "pamsh(1) has SYNOPSIS, COMMANDS, OPTIONS, CONFIGURATION FILE, ENVIRONMENT, EXIT STATUS, FILES, EXAMPLES"
# every option of --help, every environment variable pamsh reads and every
# exit code are in the man page
run "$PAMSH" --help
missing= checked=
for o in $(grep -oE -- '--[a-z][a-z-]+|\[PAMSH_[A-Z_]+' <<<"$OUT" | tr -d '[' | sort -u) \
         $(grep -ohE '"PAMSH_[A-Z_]+"' "$TOP"/core/*.c | tr -d '"' | sort -u) \
         -e -v -q -h IDENTITY_ENDPOINT IDENTITY_HEADER IDENTITY_SERVER_THUMBPRINT IMDS_ENDPOINT \
         MSI_ENDPOINT MSI_SECRET AZURE_FEDERATED_TOKEN_FILE AZURE_TENANT_ID AZURE_CLIENT_ID \
         AZURE_AUTHORITY_HOST AZURE_POD_IDENTITY_AUTHORITY_HOST XDG_CONFIG_HOME; do
  case $o in PAMSH_TEST_*|PAMSH_VERSION|PAMSH_ERROR_MT|PAMSH_SECRET_MT) continue ;; esac
  grep -qF -- "$o" <<<"$page" || missing+=" $o"
  checked+=" $o"
done
note "checked:$checked"
is "$missing" "" "pamsh(1) documents every option and environment variable"
missing=
for c in 0 1 2 3 4 5 75 124 130 143; do
  grep -qE "^ +$c +[A-Z-]" <<<"$page" || missing+=" $c"
done
is "$missing" "" "pamsh(1) lists every exit code"

# --help, the binary's option parser, pamsh(1) and the completion agree on
# the options, and on which of them take a value, so that none can drift.
# The options of --help, "NAME value" or "NAME flag" a line, from its
# option lines ("  -v, --verbose   ...", "  --url URL   ...").
options_of() {  # the option column of lines that start with two blanks and -
  awk '/^ +-/ { sub(/^ +/, ""); split($0, col, /  +/); n = split(col[1], alias, /, /)
    for (i = 1; i <= n; i++) { split(alias[i], w, " ")
      if (w[1] != "--") print w[1], (w[2] != "" ? "value" : "flag") } }' | LC_ALL=C sort -u
}
run "$PAMSH" --help
help_opts=$(options_of <<<"$OUT")
note "--help options: $(tr '\n' ' ' <<<"$help_opts")"
like "$help_opts" $'--url value\n' "the options of --help parse (--url takes a value)"
like "$help_opts" $'--insecure flag\n' "the options of --help parse (--insecure does not)"
# --help is true: the binary wants a value where it says so, none elsewhere
wrong=
while read -r o kind; do
  if [[ $kind == value ]]; then
    run "$PAMSH" "$o"
    [[ $RC == 2 && $ERR == *"$o"*need* ]] || wrong+=" $o(takes no value?)"
  elif [[ $o == --* ]]; then
    run "$PAMSH" "$o=x"
    [[ $RC == 2 && $ERR == *"takes no value"* ]] || wrong+=" $o(takes a value?)"
  else
    run "$PAMSH" "$o" -e ''
    [[ $RC == 0 ]] || wrong+=" $o(refused?)"
  fi
done <<<"$help_opts"
is "$wrong" "" "every option takes a value exactly when --help says so"
# every long option the parser knows is in --help
parser=$(sed -n '/^static const option_spec options\[\]/,/^};/p' "$TOP/core/config.c" |
         grep -oE '"[a-z][a-z-]*"' | tr -d '"' | LC_ALL=C sort -u)
[[ -n $parser ]] || fail "no options found in core/config.c"
missing=
for o in $parser; do grep -q -- "^--$o " <<<"$help_opts" || missing+=" --$o"; done
is "$missing" "" "--help lists every option the binary accepts"
# pamsh(1): one item in OPTIONS for each, with a value where --help has one
man_opts=$(sed -n '/^OPTIONS$/,/^[A-Z]/p' <<<"$page" | grep -E '^ {5}-' | options_of)
is "$man_opts" "$help_opts" "pamsh(1) OPTIONS: the options of --help, each taking a value when it does"

# the commands: those built in (the unknown-command error lists them),
# those of --help, of pamsh(1)
run "$PAMSH" no-such-command
commands=$(sed -n 's/.*commands: *//p' <<<"$ERR" | tr ' ' '\n' | LC_ALL=C sort)
like "$commands" "^doctor.*version$" "the binary lists its commands" || diag_run
run "$PAMSH" --help
is "$(sed -n '/^Commands:/,/^$/p' <<<"$OUT" | awk '/^  [a-z]/ { print $1 }' | LC_ALL=C sort)" \
  "$commands" "--help describes every command, and no other"
is "$(sed -n '/^COMMANDS$/,/^[A-Z]/p' <<<"$page" | awk '/^     [a-z]/ { print $1 }' | LC_ALL=C sort)" \
  "$commands" "pamsh(1) describes every command, and no other"
for sec in "INTERACTIVE SHELL"; do
  grep -qx "$sec" <<<"$page"
  ok $? "pamsh(1) has $sec"
done
shell=$(sed -n '/^INTERACTIVE SHELL$/,/^[A-Z]/p' <<<"$page")
missing=
for w in .help .login .whoami .quit Ctrl-C Ctrl-D history _PROMPT Tab NO_COLOR; do
  grep -qF -- "$w" <<<"$shell" || missing+=" $w"
done
is "$missing" "" "INTERACTIVE SHELL: dot commands, keys, history, prompts, completion, colours"

# pamsh-lua(7): every global pamsh adds, and every function of pam, pam.core
# and log, as the binary has them
lpage=$(LC_ALL=C.UTF-8 groff -mandoc -Tutf8 -P-cbou -rLL=2000n "$root$prefix/share/man/man7/pamsh-lua.7" 2>/dev/null)
run "$PAMSH" -e '
  local std = {}
  for k in ("_G _VERSION assert collectgarbage coroutine debug dofile error getmetatable io ipairs load loadfile math next os package pairs pcall print rawequal rawget rawlen rawset require select setmetatable string table tonumber tostring type utf8 warn xpcall"):gmatch("%S+") do std[k] = true end
  for k in pairs(_G) do if not std[k] then print(k) end end
  for k in pairs(pam) do print("pam." .. k) end
  for k in pairs(pam.core) do if not k:match("^_test") then print("pam.core." .. k) end end
  for k in pairs(log) do print("log." .. k) end'
is "$RC" 0 "the binary lists its globals and API" || diag_run
api=$(LC_ALL=C sort <<<"$OUT")
like "$api" $'(^|\n)pam\.unlock\n' "the list has pam.unlock"
missing=
for f in $api; do grep -qE -- "(^|[^a-z_.])${f//./\\.}([^a-z_]|$)" <<<"$lpage" || missing+=" $f"; done
note "checked: $(tr '\n' ' ' <<<"$api")"
is "$missing" "" "pamsh-lua(7) documents every global and every pam, pam.core and log function"

# ------------------------------------------------------------ completion
comp=$root$prefix/share/bash-completion/completions/pamsh
run bash -n "$comp"
is "$RC $ERR" "0 " "the completion script is valid bash (bash -n)"

mkdir -p "$TMP/work/dir" "$XDG_CONFIG_HOME/pamsh"
touch "$TMP/work/job.lua" "$TMP/work/notes.txt"
printf '[default]\nurl = https://a/xtam\n[profile prod]\n[profile dr-site]\n' > "$XDG_CONFIG_HOME/pamsh/config"
printf '[profile other]\n' > "$TMP/other.conf"
# complete WORD...: the candidates for the last word, sorted, one a line
complete_words() {
  (cd "$TMP/work" && bash -c '
    . "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
    _pamsh; printf "%s\n" "${COMPREPLY[@]}"' complete "$comp" "$@" | LC_ALL=C sort)
}
got=$(bash -c '. "$1"; complete -p pamsh' x "$comp")
like "$got" "complete -F _pamsh pamsh" "sourcing it registers _pamsh for pamsh"
got=$(complete_words pamsh --pro)
is "$got" "--profile" "--pro completes to --profile"
got=$(complete_words pamsh --)
for o in --url --resource --cacert --config --profile --log-format --dry-run --metrics --help --version; do
  grep -qx -- "$o" <<<"$got" || fail "-- offers $o"
done
pass "-- offers the long options"
got=$(complete_words pamsh --profile '')
is "$got" $'default\ndr-site\nprod' "--profile offers the profiles of the config file"
got=$(complete_words pamsh --profile = d)
is "$got" $'default\ndr-site' "--profile=d (split at =) offers the matching profiles"
got=$(complete_words pamsh --config "$TMP/other.conf" --profile '')
is "$got" $'default\nother' "--config FILE: the profiles of that file"
got=$(PAMSH_CONFIG=$TMP/other.conf complete_words pamsh --profile '')
is "$got" $'default\nother' "PAMSH_CONFIG: the profiles of that file"
got=$(complete_words pamsh '')
is "$got" $'dir\ndoctor\njob.lua\nrequest\ntoken\nversion' "first word: commands, .lua scripts and directories"
got=$(complete_words pamsh -v --url https://x/xtam -e 'print(1)' re)
is "$got" "request" "options and their values are skipped before the command"
got=$(complete_words pamsh --imds-url '')
is "$got" "" "--imds-url: no guess"
got=$(complete_words pamsh --imds-url http://x '')
like "$got" "doctor" "after --imds-url URL: the commands"
got=$(complete_words pamsh --log-format '')
is "$got" $'json\ntext' "--log-format: text, json"
got=$(complete_words pamsh --login '')
is "$got" $'azure\ncas' "--login: azure, cas"
got=$(complete_words pamsh request '')
like "$got" "DELETE.*GET.*POST.*PUT" "request: HTTP methods"
got=$(complete_words pamsh token --)
is "$got" $'--json\n--raw' "token: --raw, --json"
got=$(complete_words pamsh job.lua no)
is "$got" "notes.txt" "after a script: its arguments are files"
got=$(complete_words pamsh --cacert no)
is "$got" "notes.txt" "--cacert: files"

# the completion offers the options of --help, and no other; after one that
# takes a value it waits for the value, after a flag it goes on
got=$(complete_words pamsh -)
is "$got" "$(awk '{ print $1 }' <<<"$help_opts" | LC_ALL=C sort)" "- offers exactly the options of --help"
wrong=
while read -r o kind; do
  got=$(complete_words pamsh "$o" '')
  if [[ $kind == value ]]; then
    grep -qx doctor <<<"$got" && wrong+=" $o(offers commands for its value)"
  else
    grep -qx doctor <<<"$got" || wrong+=" $o(no commands after it)"
  fi
done <<<"$help_opts"
is "$wrong" "" "the completion knows which options take a value"
got=$(complete_words pamsh '' | grep -vx -e dir -e job.lua)
is "$got" "$commands" "the completion offers every command, and no other"

# ------------------------------------------------------------ uninstall
mk uninstall DESTDIR="$root" PREFIX="$prefix"
is "$RC" 0 "make uninstall: exit 0" || diag_run
is "$(cd "$root" && find . -type f -o -type l)" "" "make uninstall leaves no file behind"
[[ ! -e $root$prefix/share/pamsh ]]
ok $? "make uninstall removes pamsh's own directories"
mk uninstall DESTDIR="$root" PREFIX="$prefix"
is "$RC" 0 "make uninstall again: still exit 0"

done_testing
