#!/usr/bin/env bash
# pamsh request METHOD PATH [BODY] and --dry-run.
. "$(dirname "$0")/../setup"
sim_start

run "$PAMSH" request GET /rest/record/unlock/42
is "$RC" 0 "request GET: exit 0"
is "$("$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["name"])' <<<"$OUT")" "42 db-prod" "request GET: the record as JSON"
is "$(wc -l <<<"$OUT")" 1 "request GET: compact when stdout is not a terminal"

# pty_request NAME ARGS...: pamsh ARGS with stdout (and stderr) on a
# pseudo-terminal; what it wrote in PTY_OUT, its exit status in PTY_EXIT
pty_request() {
  local dir=$TMP/pty-$1
  shift
  mkdir -p "$dir"
  printf 'wait\n' | TERM=dumb timeout -k 5 60 "$PYTHON" "$TOP/tests/ptydrive.py" "$dir" "$PAMSH" "$@"
  PTY_OUT=$(<"$dir/log")
  PTY_EXIT=$(cat "$dir/exit" 2>/dev/null)
}
compact=$OUT
pty_request get request GET /rest/record/unlock/42
is "$PTY_EXIT" 0 "request GET on a terminal: exit 0"
like "$PTY_OUT" $'^\\{\n  "' "request GET on a terminal: pretty, an indented object"
like "$PTY_OUT" $'\n  "id": 42,\n' "request GET on a terminal: one key a line, two spaces"
is "$("$PYTHON" -c '
import json, sys
keys = json.loads(sys.argv[1], object_pairs_hook=lambda kv: [k for k, _ in kv])
print(keys == sorted(keys) and len(keys) > 3)' "$PTY_OUT")" True "request GET on a terminal: keys in sorted order"
ok $([ "$(wc -l <<<"$PTY_OUT")" -gt 3 ]; echo $?) "request GET on a terminal: several lines"
is "$("$PYTHON" -c 'import json,sys; a, b = sys.argv[1:]; print(json.loads(a) == json.loads(b))' "$PTY_OUT" "$compact")" \
  True "request GET: the pretty and the compact output are the same JSON"
pty_request list request GET /rest/folder/list/3
like "$PTY_OUT" $'^\\[\n  \\{\n    "id": 42,' "request on a terminal: an array, nested indentation"
pty_request refused request GET /rest/record/unlock/43
is "$PTY_EXIT:$PTY_OUT" "4:pamsh: GET /rest/record/unlock/43: HTTP 401 Unauthorized" \
  "request refused on a terminal: exit 4, the error without a time stamp"

run "$PAMSH" request get /rest/folder/list/3
is "$RC" 0 "request: method in lower case"
like "$OUT" '^\[\{"id":42,' "request: a JSON array"

run "$PAMSH" request POST /rest/folder/create/1 '{"name":"from-arg","description":"d"}'
is "$RC" 0 "request POST with a literal body: exit 0"
like "$OUT" '"name":"from-arg"' "request POST: the created folder"
printf '{"name":"from-file"}' > "$TMP/body.json"
run "$PAMSH" request POST /rest/folder/create/1 @"$TMP/body.json"
like "$OUT" '"name":"from-file"' "request POST @FILE"
printf '{"name":"from-stdin"}' > "$TMP/stdin.json"
run --stdin "$TMP/stdin.json" "$PAMSH" request POST /rest/folder/create/1 -
like "$OUT" '"name":"from-stdin"' "request POST - (stdin)"
like "$(simctl log pam | grep folder/create | tail -n 1)" '"x-xsrf-token"' "request POST carries the XSRF header"

run "$PAMSH" request GET /rest/record/unlock/43
is "$RC" 4 "request refused: exit 4"
is "$ERR" "pamsh: GET /rest/record/unlock/43: HTTP 401 Unauthorized" "request refused: one line"
run "$PAMSH" request GET
is "$RC" 2 "request without a path: exit 2"
run "$PAMSH" request POST /x @"$TMP/missing.json"
is "$RC" 2 "request with an unreadable @FILE: exit 2"
run "$PAMSH" request GET https://elsewhere.example/x
is "$RC" 2 "request with an absolute URL: exit 2"
is "$(simctl count pam '/xtam/x$')" 0 "request with a bad body file: nothing sent"

# --dry-run: writes are shown (secrets redacted), not sent; reads still go out
simctl reset-log
run "$PAMSH" --dry-run -e '
  local r, status = pam_request("POST", "/rest/folder/create/1", {name = "never", password = "S3cr3t-dry"})
  print(r.dry_run, status)
  local f = pam_request("POST", "/rest/record/new/3/5", nil, {form = {name = "n", custom = "{\"Password\":\"S3cr3t-form\"}"}})
  print(f.dry_run)
  print(pam.unlock(42).name)'
is "$RC" 0 "--dry-run: the script runs to the end"
is "$OUT" $'true\t0\ntrue\ndb-prod' "--dry-run: synthetic results for writes, real reads"
like "$ERR" 'dry-run: POST /rest/folder/create/1 \{.*"name":"never"' "--dry-run: the write is shown"
unlike "$ERR" "S3cr3t" "--dry-run: secrets in bodies are redacted"
like "$ERR" 'dry-run: POST /rest/record/new/3/5 custom=\{"Password":"\[REDACTED\]"\}&name=n' "--dry-run: a form is shown decoded, its secrets redacted"
is "$(simctl count pam /xtam/rest/folder/create)" 0 "--dry-run: the folder was not created"
is "$(simctl count pam /xtam/rest/record/new)" 0 "--dry-run: the record was not created"
is "$(simctl count pam /xtam/rest/record/unlock/42)" 1 "--dry-run: GET requests are sent"
run "$PAMSH" --dry-run request DELETE /rest/record/delete/42
is "$RC" 0 "--dry-run request DELETE: exit 0"
like "$ERR" "dry-run: DELETE /rest/record/delete/42" "--dry-run request DELETE: shown"

done_testing
