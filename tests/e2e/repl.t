#!/usr/bin/env bash
# The interactive shell, driven through a pseudo-terminal (Python's pty):
# expressions and statements, multi-line chunks, the pretty-printer,
# errors, prompts, Ctrl-C at the prompt and during a slow request, Ctrl-D,
# tab completion, the history file and what stays out of it, the banner
# and the dot commands, colours, SIGTERM and --deadline.
. "$(dirname "$0")/../setup"

sim_start

# ---------------------------------------------------------------- the driver
# tests/ptydrive.py drives a program on a pseudo-terminal (steps: send,
# expect, sleep, cut, time, sh, signal, wait; see its header).

# Steps are collected in $STEPS by these helpers, then pty_run runs them.
PROMPT='\npamsh> $'    # a fresh prompt, the shell waiting for input
steps() { printf '%s\n' "$@" >>"$STEPS"; }
# line NAME TEXT: type TEXT and Enter, wait for the next prompt, cut NAME
line() { steps "send $2\\r" "expect $PROMPT" "cut $1"; }

# new_session NAME: steps start with waiting for the first prompt (the
# banner goes to the cut "banner")
new_session() {
  PTY=$TMP/pty/$1
  mkdir -p "$PTY"
  STEPS=$PTY/steps
  : >"$STEPS"
  steps "expect $PROMPT" "cut banner"
}

# pty_run [NAME=VALUE | -u NAME ...] [-- pamsh args...]: run the steps
# (TERM=dumb unless given) with $PTY_PROG, by default pamsh
pty_run() {
  local unset=() set=(TERM=dumb)
  while (($#)) && [[ $1 != -- ]]; do
    if [[ $1 == -u ]]; then unset+=(-u "$2"); shift 2; else set+=("$1"); shift; fi
  done
  [[ ${1-} == -- ]] && shift
  timeout -k 5 120 env "${unset[@]}" "${set[@]}" "$PYTHON" "$TOP/tests/ptydrive.py" "$PTY" \
    "${PTY_PROG:-$PAMSH}" "$@" <"$STEPS"
  LOG=$(<"$PTY/log")
  EXIT=$(cat "$PTY/exit" 2>/dev/null)
  if [[ $LOG == *"### MISSED"* ]]; then diag "session $(basename "$PTY"):" "$LOG"; fi
}

# result NAME: what a line printed (its segment without the echoed input
# and the next prompt)
result() {
  local s
  s=$(<"$PTY/$1")
  s=${s#*$'\n'}
  s=${s%pamsh> }
  printf '%s' "${s%$'\n'}"
}

# ---------------------------------------------------------------- basics
# (the default history location: no XDG_STATE_HOME)
nl=$'\n'
new_session basic
line one '1+1'
line several '1, "two\\n", nil, true'
steps 'send function double(x)\r' 'expect \.\.\.> $' \
      'send   return x * 2\r' 'expect \.\.\.> $' \
      'send end\r' "expect $PROMPT" 'cut fundef'
line double 'double(21)'
line table '{name = "db", tags = {"a", "b"}, n = 1}'
line wide '{id = 1, text = ("x"):rep(80), nested = {deep = {deeper = true}}}'
line statement 'x = 1'
line err 'error("boom")'
line after_err '2 * 3'
line errobj 'error(pam.core.error{kind = "http", method = "GET", path = "/x", message = "HTTP 404 Not Found"})'
line syntax 'x = = 1'
line arith 'nil + 1'
line secret 's = pam.secret("S3cr3t-repl")'
line secret_show 's, {pw = s}'
steps 'send _PROMPT = "pam# "\r' 'expect \npam# $' 'cut prompt' \
      'send 40 + 2\r' 'expect \npam# $' 'cut prompt_changed' \
      'send _PROMPT = nil; _PROMPT2 = "more> "\r' "expect $PROMPT" \
      'send do\r' 'expect \nmore> $' 'cut prompt2' 'send end\r' "expect $PROMPT" \
      'send _PROMPT2 = nil\r' "expect $PROMPT"
# Ctrl-C at the prompt drops the line; in a continuation, the whole chunk
steps 'send abc' 'expect abc$' 'send \x03' "expect $PROMPT" 'cut ctrlc_prompt'
line after_ctrlc '1 + 2'
steps 'send function g()\r' 'expect \.\.\.> $' 'send \x03' "expect $PROMPT" 'cut ctrlc_cont'
line g_undefined 'g'
# completion
steps 'send string.fo\t' 'expect string\.format$' 'send ("%d", 7)\r' "expect $PROMPT" 'cut complete_string'
steps 'send pam.core.is_secret_n\t' 'expect is_secret_name$' 'send ("password")\r' "expect $PROMPT" \
      'cut complete_nested'
steps 'send s:rev\t' 'expect s:reveal$' 'send () == "S3cr3t-repl"\r' "expect $PROMPT" 'cut complete_method'
steps 'send retu\t' 'expect return$' 'send  "kw"\r' "expect $PROMPT" 'cut complete_keyword'
steps 'send (pam.core.is_\t' 'expect is_secret$' 'send \t' 'expect is_secret_name' 'sleep 0.3' 'cut listing' \
      'send \x03' "expect $PROMPT" 'cut listing_cleared'
steps 'send tostr\t' 'expect tostring$' 'send (12)\r' "expect $PROMPT" 'cut complete_global'
steps 'send pam.is_secret_f\t' 'expect pam\.is_secret_field$' 'send ("Password")\r' "expect $PROMPT" \
      'cut complete_pam'
# REST paths only inside a string, Lua names only outside one
line setre 're = 2'
steps 'send 84 /re\t' 'sleep 0.3' 'send \r' "expect $PROMPT" 'cut rest_outside'
steps 'send #"pri\t' 'sleep 0.3' 'send "\r' "expect $PROMPT" 'cut string_no_names'
steps 'send .he\t' 'expect \.help$' 'send \r' "expect $PROMPT" 'cut help'
line unknown '.frob'
line still_alive 'x'
steps 'send \x04' 'wait'
pty_run -u XDG_STATE_HOME

like "$(<"$PTY/banner")" "^pamsh [0-9][^ ]* \(Lua 5\.4" "banner: version"
like "$(<"$PTY/banner")" "PAM +$SIM_PAM_URL" "banner: the PAM URL"
like "$(<"$PTY/banner")" "identity +imds \(Azure IMDS\)" "banner: the identity source"
like "$(<"$PTY/banner")" "\.help" "banner: points at .help"
is "$(result one)" "2" "1+1 prints 2"
is "$(result several)" $'1\t"two\\n"\tnil\ttrue' "several results: tab-separated, strings quoted"
like "$(<"$PTY/fundef")" $'\n  \\.\\.\\.> +return x \\* 2\n  \\.\\.\\.> end\n' "a function over three lines: second prompt"
is "$(result double)" "42" "the function defined over several lines is called"
is "$(result table)" '{ n = 1, name = "db", tags = { "a", "b" } }' "a table pretty-printed, keys sorted"
is "$(result wide)" '{
  id = 1,
  nested = { deep = { deeper = true } },
  text = "'"$(printf 'x%.0s' {1..80})"'"
}' "a wide table: one entry per line, indented"
is "$(result statement)" "" "a statement prints nothing"
like "$(result err)" $'^stdin:1: boom\nstack traceback:\n.*in main chunk$' "an error: message and a short traceback"
unlike "$(result err)" "in \?" "the shell's own frames are not in the traceback"
is "$(result after_err)" "6" "the shell goes on after an error"
is "$(result errobj)" "error: GET /x: HTTP 404 Not Found" "a pamsh error object: one line"
like "$(result syntax)" "^stdin:1: unexpected symbol near '='" "a syntax error"
like "$(result arith)" "attempt to perform arithmetic on a nil value" "a runtime error"
is "$(result secret_show)" $'[REDACTED]\t{ pw = [REDACTED] }' "a pam.secret shows as [REDACTED]"
like "$(<"$PTY/prompt_changed")" $'^40 \\+ 2\n42\npam# $' "_PROMPT is honoured"
like "$(<"$PTY/prompt2")" $'\nmore> $' "_PROMPT2 is honoured"
like "$(<"$PTY/ctrlc_prompt")" $'abc\\^C\npamsh> $' "Ctrl-C at the prompt: a fresh prompt"
is "$(result after_ctrlc)" "3" "Ctrl-C at the prompt dropped the line"
is "$(result g_undefined)" "nil" "Ctrl-C in a continuation dropped the chunk"
like "$(<"$PTY/complete_string")" $'string\\.format\\("%d", 7\\)\n"7"\n' "Tab completes string.fo to string.format"
like "$(<"$PTY/complete_nested")" $'pam\\.core\\.is_secret_name\\("password"\\)\ntrue\n' "Tab follows nested tables (pam.core.)"
like "$(<"$PTY/complete_method")" $'s:reveal\\(\\) == "S3cr3t-repl"\ntrue\n' "Tab completes methods after ':'"
like "$(<"$PTY/complete_keyword")" $'return "kw"\n"kw"\n' "Tab completes keywords"
like "$(<"$PTY/listing")" "pam\.core\.is_secret +pam\.core\.is_secret_name" "a second Tab lists the candidates"
like "$(<"$PTY/complete_global")" $'tostring\\(12\\)\n"12"\n' "Tab completes globals (tostr)"
like "$(<"$PTY/complete_pam")" $'pam\\.is_secret_field\\("Password"\\)\ntrue\n' "Tab completes pam. fields"
is "$(result rest_outside)" "42.0" "no REST path offered outside a string (84 /re stays division)"
is "$(result string_no_names)" "3" "no Lua name offered inside a string (\"pri stays)"
for c in .help .login .whoami .quit; do
  like "$(result help)" "(^|$nl)  \\$c " ".help lists $c"
done
like "$(result help)" "Tips:" ".help has tips"
like "$(result help)" "History: $HOME/\.local/state/pamsh/history" ".help names the history file"
is "$(result unknown)" "error: unknown command .frob; .help lists the commands" "an unknown dot command"
is "$(result still_alive)" "1" "the Lua state survives errors and Ctrl-C"
unlike "$LOG" $'\e\\[' "no colours with TERM=dumb"
is "$EXIT" 0 "Ctrl-D exits 0"

# the history file, in the default place
hist=$HOME/.local/state/pamsh/history
is "$(stat -c %a "$hist" 2>&1)" 600 "history file mode 0600"
is "$(stat -c %a "$HOME/.local/state/pamsh" 2>&1)" 700 "history directory created 0700"
is "$(stat -c %a "$HOME/.local/state" 2>&1)" 700 "state directory created 0700"
H=$(cat "$hist" 2>/dev/null)
for want in '1+1' 'function double(x)' '  return x * 2' 'end' 'double(21)' 'error("boom")' \
            'string.format("%d", 7)' '.help' 'x'; do
  like "$H" "(^|$nl)$(printf '%s' "$want" | sed 's/[][\.*^$()+?{}|]/\\&/g')($nl|$)" "history has: $want"
done
unlike "$H" "abc" "a line dropped with Ctrl-C is not in the history"
unlike "$H" "function g" "a chunk dropped with Ctrl-C is not in the history"
unlike "$H" "S3cr3t" "no secret in the history"
unlike "$H" "reveal" "no reveal() line in the history"
is "$(ls -A "$HOME/.local/state/pamsh")" "history" "no temporary files left next to it"

# ---------------------------------------------------------------- PAM
simctl reset-log >/dev/null
new_session pam
line name 'pam.unlock(42).name'
line password 'pam.unlock(42).fields.Password'
line record 'pam.unlock(42)'
steps "sh \"\$PYTHON\" \"\$TOP/tests/sim/simctl\" count pam /xtam/landing >$PTY/landings"
line login '.login'
line whoami '.whoami'
steps 'send r = pam.get("/rest/record/un\t' 'expect unlock/$' 'send 42")\r' "expect $PROMPT" 'cut rest_complete'
steps 'send pam.get("/rest/fo\t' 'expect /rest/folder/$' 'send \t' 'expect folder/list/' 'sleep 0.3' \
      'cut rest_listing' 'send \x03' "expect $PROMPT" 'cut rest_cleared'
line rest_name 'r.name'
line http_error 'pam.get("/rest/record/unlock/999")'
steps 'send .quit\r' 'wait'
pty_run

is "$(result name)" '"db-prod"' "an authenticated request: pam.unlock(42).name"
is "$(result password)" "[REDACTED]" "pam.unlock(42).fields.Password shows [REDACTED]"
like "$(result record)" "Password = \[REDACTED\]" "the whole record: the password redacted"
like "$(result record)" 'User = "dbadmin"' "the whole record: other fields shown"
is "$(cat "$PTY/landings")" 1 "one login for the three requests"
like "$(result login)" "^logged in to $SIM_PAM_URL, identity imds, token expires [0-9-]+ [0-9:]+ UTC \(in " ".login logs in and says so"
W=$(result whoami)
like "$W" "audience +$SIM_RESOURCE" ".whoami: audience"
for claim in "object id" "app id" tenant xms_mirid; do
  like "$W" "$claim +[^ -]" ".whoami: $claim"
done
like "$W" "tenant +3c9d2f4e-6b1a-4d8e-b7f0-1a2b3c4d5e6f" ".whoami: the tenant id"
like "$W" "expires +[0-9-]+ [0-9:]+ UTC \(in " ".whoami: expiry"
unlike "$LOG" "eyJ" "never a raw token on the screen"
unlike "$LOG" "S3cr3t" "never a secret on the screen"
like "$(<"$PTY/rest_complete")" 'r = pam\.get\("/rest/record/unlock/42"\)' "Tab completes a REST path in a string"
like "$(<"$PTY/rest_listing")" "/rest/folder/create/ +/rest/folder/list/" "REST paths listed"
is "$(result rest_name)" '"db-prod"' "the completed path works"
is "$(result http_error)" "error: GET /rest/record/unlock/999: HTTP 404 Not Found" "an HTTP error: one line"
is "$EXIT" 0 ".quit exits 0"

# ---------------------------------------------------------------- Ctrl-C in flight
simctl reset-log >/dev/null
simctl fault pam /xtam/rest/record/unlock/42 slow delay=10 count=1 >/dev/null
new_session ctrlc
line setx 'x = 5'
steps 'send pam.unlock(42).name\r' 'expect name\n' 'sleep 1' 'send \x03' "expect $PROMPT" \
      'time ctrlc_seconds' 'cut interrupted'
line after 'x, pam.unlock(42).name'
steps "sh \"\$PYTHON\" \"\$TOP/tests/sim/simctl\" count pam /xtam/landing >$PTY/landings"
steps 'send \x04' 'wait'
pty_run

like "$(result interrupted)" "interrupted \(SIGINT\)" "Ctrl-C during a slow request: interrupted"
secs=$(cat "$PTY/ctrlc_seconds" 2>/dev/null || echo 99)
ok "$(awk -v s="$secs" 'BEGIN { exit !(s < 3) }'; echo $?)" "the prompt is back within 3 s (${secs} s)"
is "$(result after)" $'5\t"db-prod"' "then the state and the next request work"
is "$(cat "$PTY/landings")" 1 "the PAM session survived: no second login"
is "$EXIT" 0 "exit 0"

# ---------------------------------------------------------------- history filter
xdg=$TMP/xdg
mkdir -p "$xdg/pamsh"
for i in $(seq 1 1005); do echo "old_$i = 1"; done >"$xdg/pamsh/history"
chmod 644 "$xdg/pamsh/history"
new_session history
steps 'send \x10' 'expect old_1005 = 1$' 'send \r' "expect $PROMPT" 'cut recalled'
line plain 'plain_ok = 1'
line jwt 'tok = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"'
line reveal 'print(pam.secret("S3cr3t-hist"):reveal())'
line password 'password = "x"'
line local_pw 'local db_Password = "y"'
line ctor 'cfg = {user = "u", api_token = "z"}'
line index 't = {}; t["client_secret"] = "w"'
line space ' hidden = 1'
line multi 'n, session_Token = 1, "v"'
# a revealed value typed (pasted) back in later: kept out; a line that only
# shares a part of it is saved
line mksecret 'hs = pam.secret(("Q"):rep(3) .. "-pasted")'
line before_reveal 'early = #"QQQ-pasted"'
line show_revealed 'hs:reveal()'
line pasted 'login_as = "QQQ-pasted"'
line partial 'other_ok = "QQQ"'
line marker 'marker_ok = 1'
steps 'send \x04' 'wait'
pty_run XDG_STATE_HOME="$xdg"

like "$(<"$PTY/recalled")" "old_1005 = 1" "the history file is loaded (Ctrl-P recalls its last line)"
H=$(cat "$xdg/pamsh/history")
is "$(wc -l <"$xdg/pamsh/history")" 1000 "the history is bounded to 1000 lines"
is "$(head -n 1 "$xdg/pamsh/history")" "old_10 = 1" "the oldest lines go first"
is "$(tail -n 4 "$xdg/pamsh/history")" $'plain_ok = 1\nearly = #"QQQ-pasted"\nother_ok = "QQQ"\nmarker_ok = 1' \
   "plain lines are saved, secret ones are not"
like "$(result show_revealed)" '^"QQQ-pasted"$' "the revealed value was shown"
for bad in eyJ reveal S3cr3t password api_token client_secret hidden session_Token login_as; do
  unlike "$H" "$bad" "not in the history: $bad"
done
is "$(grep -c '^old_1005 = 1$' "$xdg/pamsh/history")" 1 "a recalled line is not saved twice in a row"
is "$(stat -c %a "$xdg/pamsh/history")" 600 "a history file readable by others is made 0600"
is "$EXIT" 0 "exit 0"

# an unusable state directory: a warning, the shell works
new_session nohistory
line one '1+1'
steps 'send \x04' 'wait'
pty_run XDG_STATE_HOME=/dev/null/state
like "$(<"$PTY/banner")" "pamsh: history not saved: cannot read /dev/null/state/pamsh/history: Not a directory" \
   "an unusable history location: a warning at the start"
is "$(grep -c "history not saved" "$PTY/log")" 1 "only one warning"
is "$(result one)" 2 "the shell works without a history file"
is "$EXIT" 0 "exit 0"

# ---------------------------------------------------------------- colours
new_session color
line num '1+1'
line str '"s"'
line err 'error("e", 0)'
steps 'send \x04' 'wait'
pty_run TERM=xterm
like "$(<"$PTY/num")" $'\e\\[36m2\e\\[0m' "colours on a terminal: numbers"
like "$(<"$PTY/str")" $'\e\\[32m"s"\e\\[0m' "colours on a terminal: strings"
like "$(<"$PTY/err")" $'\e\\[31me\n' "colours on a terminal: errors"

new_session nocolor
line num '{1, "s"}'
line err 'error("e", 0)'
steps 'send \x04' 'wait'
pty_run TERM=xterm NO_COLOR=1
like "$(<"$PTY/num")" '\{ 1, "s" \}' "NO_COLOR: the value"
unlike "$(<"$PTY/num")" $'\e\\[3' "NO_COLOR: no colours"
like "$(<"$PTY/err")" $'(^|\n)e\n' "NO_COLOR: the error"
unlike "$(<"$PTY/err")" $'\e\\[3' "NO_COLOR: no colour on errors either"

new_session emptynocolor
line num '1+1'
steps 'send \x04' 'wait'
pty_run TERM=xterm NO_COLOR=
like "$(<"$PTY/num")" $'\e\\[36m2\e\\[0m' "an empty NO_COLOR does not turn colours off"

# standard output a pipe (pamsh | tee log): the prompt and the line editor
# move to standard error, results have no colours, errors on the terminal do
cat >"$TMP/piped" <<'SH'
#!/usr/bin/env bash
set -o pipefail
"$PAMSH" "$@" | cat
SH
chmod +x "$TMP/piped"
# (results pass through cat: they may reach the terminal after the next
# prompt, so the steps wait for the results and the whole transcript is
# looked at; with TERM=xterm libedit redraws a completed word by moving the
# cursor)
new_session piped
: >"$STEPS"
steps 'expect Ctrl-D to leave\.\npamsh> $' 'send {1, "s"}\r' 'expect \{ 1, "s" \}' \
      'send error("e", 0)\r' 'expect in main chunk' \
      'send string.fo\t' 'expect rmat$' 'send ("%d", 7)\r' 'expect "7"' \
      'send \x04' 'wait'
PTY_PROG=$TMP/piped pty_run TERM=xterm
like "$LOG" '\{ 1, "s" \}' "stdout a pipe: the value, without colours"
unlike "$LOG" $'\e\\[3[2-6]m' "stdout a pipe: no colours in results"
like "$LOG" $'\e\\[31me\n' "stdout a pipe: errors, on the terminal, coloured"
# ("7", quoted, is the result alone: cat may write it into the middle of
# the next prompt, so only the value itself is looked for)
like "$LOG" 'string\.fo.*rmat\("%d", 7\)' "stdout a pipe: completion still works"
like "$LOG" '"7"' "stdout a pipe: the completed line ran"
like "$LOG" $'^pamsh [^\n]*interactive\n(.*\n)*Type \\.help[^\n]*\npamsh> ' "stdout a pipe: the banner, then the prompt, on the terminal"
is "$EXIT" 0 "stdout a pipe: exit 0"

# pam.pretty in a script (not the shell) on a terminal: the same rules
pretty_script() {
  PTY=$TMP/pty/$1
  mkdir -p "$PTY"
  STEPS=$PTY/steps
  printf 'wait\n' >"$STEPS"
  shift
  pty_run "$@" -- -e 'print(pam.pretty({ 1, "s", pw = pam.secret("S3cr3t-pp") }))'
}
pretty_script script_color TERM=xterm
like "$LOG" $'\\{ \e\\[36m1\e\\[0m, \e\\[32m"s"\e\\[0m, pw = \e\\[33m\\[REDACTED\\]\e\\[0m \\}' \
  "pam.pretty in a script on a terminal: colours"
is "$EXIT" 0 "pam.pretty in a script: exit 0"
pretty_script script_nocolor TERM=xterm NO_COLOR=1
like "$LOG" '^\{ 1, "s", pw = \[REDACTED\] \}' "pam.pretty in a script with NO_COLOR: plain"
pretty_script script_dumb TERM=dumb
like "$LOG" '^\{ 1, "s", pw = \[REDACTED\] \}' "pam.pretty in a script with TERM=dumb: plain"
run "$PAMSH" -e 'print(pam.pretty({ 1, "s", pw = pam.secret("S3cr3t-pp") }))'
is "$OUT" '{ 1, "s", pw = [REDACTED] }' "pam.pretty in a script, stdout not a terminal: plain"
run "$PAMSH" -e 'print(pam.pretty(1, 5))'
is "$RC" 2 "pam.pretty with bad options: usage error, exit 2"
like "$ERR" "pam\.pretty: options must be a table" "pam.pretty with bad options: says why"

# ---------------------------------------------------------------- ending
new_session sigterm
steps 'signal TERM' 'wait'
pty_run
is "$EXIT" 143 "SIGTERM at the prompt: exit 143"
like "$LOG" "terminated \(SIGTERM\)" "SIGTERM: says why"

new_session osexit
steps 'send os.exit(7)\r' 'wait'
pty_run
is "$EXIT" 7 "os.exit(7) exits 7"

new_session deadline
steps 'wait'
pty_run -- --deadline 1
is "$EXIT" 124 "--deadline ends the shell with 124"
like "$LOG" "deadline of 1 s passed" "--deadline: says why"

# not a terminal: no shell, the script comes from standard input
printf 'print(1+1)\n' >"$TMP/in.lua"
run --stdin "$TMP/in.lua" "$PAMSH"
is "$RC" 0 "stdin not a terminal: runs it as a script"
is "$OUT" "2" "no banner, no prompt"

done_testing
