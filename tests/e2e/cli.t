#!/usr/bin/env bash
# The command line: scripts, -e, stdin, shebang, built-in commands, usage
# errors and exit codes.  No network.
. "$(dirname "$0")/../setup"

run "$PAMSH" --help
is "$RC" 0 "--help exits 0"
for opt in --url --resource --client-id --object-id --msi-res-id --imds-url \
           --cacert --insecure --timeout --verbose PAMSH_URL PAMSH_IMDS_URL \
           AZURE_POD_IDENTITY_AUTHORITY_HOST "Exit codes"; do
  like "$OUT" "$opt" "--help mentions $opt"
done
# the help is true about what pamsh does without a script
like "$OUT" $'pamsh \\[options\\] +the interactive shell when stdin\n +is a terminal, else' \
  "--help: no script on a terminal is the interactive shell"
unlike "$OUT" "pamsh \[options\] +read the script from stdin"$'\n' "--help: no usage line says otherwise"
like "$OUT" "man pamsh" "--help points at the manual"
is "$(awk 'length > 79' <<<"$OUT")" "" "--help fits in 80 columns"

# `pamsh --version` and `pamsh version`: the same four lines
run "$PAMSH" version
is "$RC" 0 "version command exits 0"
version_out=$OUT
like "$OUT" "^pamsh [0-9][A-Za-z0-9.+~]*"$'\n' "version: pamsh's version alone on the first line"
like "$OUT" $'\nLua 5\\.4\\.[0-9]+\n' "version: Lua"
like "$OUT" $'\nlibcurl [0-9.]+ \\(TLS: OpenSSL/[0-9]' "version: libcurl and TLS backend"
like "$OUT" $'\nlua-cjson 2\\.[0-9.]+$' "version: lua-cjson"
run "$PAMSH" --version
is "$RC" 0 "--version exits 0"
is "$OUT" "$version_out" "--version prints what pamsh version prints"
run "$PAMSH" -v --url https://x/xtam --version
is "$RC $OUT" "0 $version_out" "--version after other options: the same"
run "$PAMSH" version extra
is "$RC" 2 "version takes no arguments: exit 2"
like "$ERR" "usage: pamsh version" "version with an argument: its usage"
# they answer when the settings are broken: that is when one needs them
printf '[default]\nbogus line\n' > "$TMP/broken.conf"
for a in --version version --help; do
  run env PAMSH_TIMEOUT=abc PAMSH_LOG_FORMAT=xml PAMSH_CONFIG="$TMP/broken.conf" \
    PAMSH_PROFILE=nosuch PAMSH_CACERT="$TMP/nope.pem" "$PAMSH" $a
  like "$RC $OUT" "^0 (pamsh|usage)" "$a with a bad environment and config file: exit 0"
  is "$ERR" "" "$a with a bad environment and config file: nothing on stderr"
done
run "$PAMSH" --cacert "$TMP/nope.pem" --lock "$TMP/no/such/dir/lock" --version
is "$RC $OUT" "0 $version_out" "--version takes no lock and reads no CA bundle"

run "$PAMSH" --frobnicate
is "$RC" 2 "unknown option: exit 2"
like "$ERR" "unknown option '--frobnicate'" "unknown option named"
run "$PAMSH" frobnicate
is "$RC" 2 "unknown command: exit 2"
like "$ERR" "unknown command 'frobnicate'.*commands:.*version" "unknown command lists the commands"
run "$PAMSH" --timeout abc -e ''
is "$RC" 2 "bad --timeout: exit 2"
run env PAMSH_TIMEOUT=-1 "$PAMSH" -e ''
is "$RC" 2 "bad PAMSH_TIMEOUT: exit 2"
run "$PAMSH" --client-id a --object-id b -e ''
is "$RC" 2 "two identity selectors: exit 2"
run "$PAMSH" --url
is "$RC" 2 "option without its value: exit 2"
run "$PAMSH" --cacert "$TMP/nope.pem" -e ''
is "$RC" 2 "unreadable --cacert: exit 2"
like "$ERR" "nope.pem" "unreadable --cacert named"

# chunks, arguments, stdin
run "$PAMSH" -e 'print(1 + 1)' -e 'print("two")'
is "$OUT" $'2\ntwo' "-e chunks run in order"
printf 'print(select("#", ...), ...)\nprint(arg[0], arg[1], arg[2], arg[-1] ~= nil)\n' > "$TMP/args.lua"
run "$PAMSH" "$TMP/args.lua" a 'b c'
is "$OUT" "2	a	b c
$TMP/args.lua	a	b c	true" "script arguments in ... and arg"
printf 'print("from stdin", ...)' > "$TMP/stdin.lua"
run --stdin "$TMP/stdin.lua" "$PAMSH" - x
is "$OUT" $'from stdin\tx' "'-' reads the script from stdin"
run --stdin "$TMP/stdin.lua" "$PAMSH"
is "$OUT" "from stdin" "no arguments and stdin not a terminal: script from stdin"
printf '#!/usr/bin/env pamsh\nprint("shebang", arg[1])\n' > "$TMP/tool.lua"
chmod +x "$TMP/tool.lua"
run env PATH="$(dirname "$PAMSH"):$PATH" "$TMP/tool.lua" ok
is "$RC" 0 "#!/usr/bin/env pamsh script runs"
is "$OUT" $'shebang\tok' "#! line skipped, arguments passed"
mkdir -p "$TMP/lib"
printf 'return {hello = function() return "hi from a user module" end}' > "$TMP/lib/mymod.lua"
run env LUA_PATH_5_4="$TMP/lib/?.lua;;" "$PAMSH" -e 'print(require "mymod".hello())'
is "$OUT" "hi from a user module" "user modules load through LUA_PATH_5_4"
run env LUA_PATH="$TMP/lib/?.lua;;" "$PAMSH" -e 'print(require "mymod".hello())'
is "$OUT" "hi from a user module" "user modules load through LUA_PATH"

# script failures
printf 'local x = \nprint(\n' > "$TMP/syntax.lua"
run "$PAMSH" "$TMP/syntax.lua"
is "$RC" 1 "syntax error: exit 1"
like "$ERR" "syntax.lua:[0-9]+:" "syntax error: file and line"
printf 'local function f() error("boom") end\nf()\n' > "$TMP/boom.lua"
run "$PAMSH" "$TMP/boom.lua"
is "$RC" 1 "runtime error: exit 1"
like "$ERR" "boom.lua:1: boom" "runtime error: message with file:line"
like "$ERR" "stack traceback" "runtime error: traceback"
run "$PAMSH" "$TMP/missing.lua"
is "$RC" 2 "missing script: exit 2"
like "$ERR" "cannot open script .*missing.lua" "missing script named"
run "$PAMSH" -e 'os.exit(7)'
is "$RC" 7 "os.exit(7) exits 7"
run "$PAMSH" -e 'error(setmetatable({}, {__tostring = function() return "custom" end}))'
is "$RC" 1 "error object with __tostring: exit 1"
like "$ERR" "custom" "error object with __tostring printed"
for pair in usage:2 auth:3 http:4 network:5; do
  kind=${pair%:*} code=${pair#*:}
  run "$PAMSH" -e "error(pam.core.error{kind = '$kind', message = 'a $kind failure'})"
  is "$RC" "$code" "uncaught $kind error: exit $code"
  is "$ERR" "pamsh: a $kind failure" "uncaught $kind error: one line"
done

# configuration errors found when the network is first needed
run env -u PAMSH_URL "$PAMSH" -e 'pam_login{token = "x"}'
is "$RC" 2 "no PAM URL: exit 2"
like "$ERR" "no PAM URL: pass --url" "no PAM URL: says how to fix it"
run env -u PAMSH_RESOURCE "$PAMSH" -e 'imds_token()'
is "$RC" 2 "no resource: exit 2"
like "$ERR" "pass --resource" "no resource: says how to fix it"
run "$PAMSH" --url ftp://x/xtam -e 'pam_login{token = "x"}'
is "$RC" 2 "non-http URL: exit 2"

done_testing
