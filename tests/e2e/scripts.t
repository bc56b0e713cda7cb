#!/usr/bin/env bash
# The example scripts in scripts/ through build/pamsh against the
# simulator: output formats, exit codes, and that no secret ("S3cr3t" in
# the seed data) is printed except where a field is revealed on purpose.
. "$(dirname "$0")/../setup"
sim_start
S=$TOP/scripts
USER1_CLIENT_ID=7b2e4d3f-0c58-4e1b-9f60-2d3c4b5e6f02

# ---------------------------------------------------------------- all of them
for f in unlock-record folder-inventory access-report import-records; do
  [[ -x $S/$f.lua ]]; ok $? "$f.lua is executable"
  is "$(head -n 1 "$S/$f.lua")" "#!/usr/bin/env pamsh" "$f.lua starts with #!/usr/bin/env pamsh"
  head -n 30 "$S/$f.lua" | grep -q -e '^-- Usage:' && head -n 30 "$S/$f.lua" | grep -qi -e '^-- Examples\?:'
  ok $? "$f.lua has a header comment with usage and example"
done
if command -v pamsh >/dev/null; then
  run "$S/unlock-record.lua" 42 User
  is "$OUT" dbadmin "a script runs by its #! line (pamsh on PATH)"
else
  skip "a script runs by its #! line" "pamsh is not on PATH"
fi

# ---------------------------------------------------------------- unlock-record
run "$PAMSH" "$S/unlock-record.lua" 42
is "$RC" 0 "unlock-record: exit 0"
is "$OUT" $'Host\tdb.corp.example\nPassword\t[REDACTED]\nPort\t5432\nUser\tdbadmin' \
  "unlock-record: fields sorted by name, secrets [REDACTED]"
unlike "$OUT$ERR" "S3cr3t" "unlock-record: no secret without FIELD"

run "$PAMSH" "$S/unlock-record.lua" i-2qhyGh2UB0V
is "$RC" 0 "unlock-record: encoded id: exit 0"
is "$OUT" $'API Token\t[REDACTED]\nHost\tlegacy.corp.example\nNotes\tquote " backslash \\\\ tab \\t unicode é✓\nPassword\t[REDACTED]\nUser\tsvc_legacy' \
  "unlock-record: tabs and backslashes escaped, one line per field"
unlike "$OUT$ERR" "S3cr3t" "unlock-record: encoded id: no secret"

run "$PAMSH" "$S/unlock-record.lua" 42 Password
is "$RC" 0 "unlock-record FIELD: exit 0"
is "$OUT" "S3cr3t-db-pass!" "unlock-record FIELD: the value alone, revealed on purpose"
run "$PAMSH" "$S/unlock-record.lua" 42 password
is "$OUT" "S3cr3t-db-pass!" "unlock-record FIELD: case-insensitive when unambiguous"
run "$PAMSH" "$S/unlock-record.lua" 42 Host
is "$OUT" "db.corp.example" "unlock-record FIELD: a plain field"
run "$PAMSH" "$S/unlock-record.lua" 44 "SSH Key"
is "$OUT" $'-----BEGIN OPENSSH PRIVATE KEY-----\nS3cr3t-ssh-key-web01-AAAAB3NzaC1yc2E\n-----END OPENSSH PRIVATE KEY-----' \
  "unlock-record FIELD: a multi-line secret as it is"
run "$PAMSH" "$S/unlock-record.lua" i-2qhyGh2UB0V "API Token"
is "$OUT" "S3cr3t-api-token-7f3a9c" "unlock-record FIELD: a field name with a space"

run "$PAMSH" "$S/unlock-record.lua" 42 Nope
is "$RC" 2 "unlock-record unknown FIELD: exit 2"
like "$ERR" '^pamsh: record 42 has no field "Nope"; its fields: Host, Password, Port, User' \
  "unlock-record unknown FIELD: the field names listed"
unlike "$OUT$ERR" "S3cr3t" "unlock-record unknown FIELD: no secret"
run "$PAMSH" "$S/unlock-record.lua"
is "$RC" 2 "unlock-record without ID: exit 2"
like "$ERR" "usage: pamsh unlock-record.lua ID \[FIELD\]" "unlock-record without ID: usage shown"
run "$PAMSH" "$S/unlock-record.lua" 42 Host extra
is "$RC" 2 "unlock-record with too many arguments: exit 2"
run "$PAMSH" "$S/unlock-record.lua" 43 Password
is "$RC" 4 "unlock-record of a refused record: exit 4"
is "$ERR" "pamsh: GET /rest/record/unlock/43: HTTP 401 Unauthorized" "unlock-record refused: one line"
is "$OUT" "" "unlock-record refused: nothing on stdout"

# ---------------------------------------------------------------- folder-inventory
simctl reset-log
run "$PAMSH" "$S/folder-inventory.lua" 1 --name Root
is "$RC" 0 "folder-inventory: exit 0"
is "$OUT" "id             name        type             path
-------------  ----------  ---------------  ------------------
44             web-01      Linux            Root/Linux servers
i-2qhyGh2UB0V  legacy-app  Generic Account  Root/Linux servers
42             db-prod     Database         Root/Databases
43             hr-payroll  Database         Root/Databases" "folder-inventory: an aligned table by default"
is "$(simctl count pam /xtam/rest/record/unlock)" 0 "folder-inventory: unlocks nothing"

run "$PAMSH" "$S/folder-inventory.lua" 1 --csv
is "$RC" 0 "folder-inventory --csv: exit 0"
csv=$("$PYTHON" -c '
import csv, io, sys
data = open(sys.argv[1], "rb").read().decode("utf-8")
lines = data.split("\r\n")
assert lines[-1] == "" and all("\n" not in l for l in lines), "CRLF line ends"
for row in csv.reader(io.StringIO(data, newline="")):
    print("|".join(row))' "$TMP/out" 2>&1)
is "$csv" "id|name|type|path
44|web-01|Linux|1/Linux servers
i-2qhyGh2UB0V|legacy-app|Generic Account|1/Linux servers
42|db-prod|Database|1/Databases
43|hr-payroll|Database|1/Databases" "folder-inventory --csv: parses as CSV (CRLF), paths start at the folder id"

run "$PAMSH" "$S/folder-inventory.lua" 2 --json --name "Linux, servers"
is "$RC" 0 "folder-inventory --json: exit 0"
json=$("$PYTHON" -c '
import json, sys
for r in json.load(open(sys.argv[1])):
    print(repr(r["id"]), r["name"], r["type"], r["path"], sorted(r))' "$TMP/out" 2>&1)
is "$json" "44 web-01 Linux Linux, servers ['id', 'name', 'path', 'type']
'i-2qhyGh2UB0V' legacy-app Generic Account Linux, servers ['id', 'name', 'path', 'type']" \
  "folder-inventory --json: a JSON array; ids keep their types"
f=$("$PAMSH" -e 'print(pam.create_folder(3, "empty").id)')
run "$PAMSH" "$S/folder-inventory.lua" "$f" --json
is "$OUT" "[]" "folder-inventory --json of an empty folder: an empty array"
run "$PAMSH" "$S/folder-inventory.lua" "$f" --csv
is "$OUT" $'id,name,type,path\r' "folder-inventory --csv of an empty folder: the header alone"

run "$PAMSH" "$S/folder-inventory.lua" 1 --csv --json
is "$RC" 2 "folder-inventory --csv --json: exit 2"
run "$PAMSH" "$S/folder-inventory.lua" --csv
is "$RC" 2 "folder-inventory without a folder: exit 2"
like "$ERR" "usage: pamsh folder-inventory.lua FOLDER" "folder-inventory without a folder: usage shown"
run "$PAMSH" "$S/folder-inventory.lua" 1 --xml
is "$RC" 2 "folder-inventory with an unknown option: exit 2"
run "$PAMSH" "$S/folder-inventory.lua" 999
is "$RC" 4 "folder-inventory of a missing folder: exit 4"

# ---------------------------------------------------------------- access-report
run "$PAMSH" "$S/access-report.lua" 1 --name Root
is "$RC" 0 "access-report: exit 0 even with a denial"
is "$OUT" $'ok\t44\tweb-01\tRoot/Linux servers
ok\ti-2qhyGh2UB0V\tlegacy-app\tRoot/Linux servers
ok\t42\tdb-prod\tRoot/Databases
denied\t43\thr-payroll\tRoot/Databases
4 records: 3 unlockable, 1 denied, 0 errors' "access-report: one line per record, record 43 denied, summary"
unlike "$OUT$ERR" "S3cr3t" "access-report: no secret"

run "$PAMSH" --client-id "$USER1_CLIENT_ID" "$S/access-report.lua" 3
is "$RC" 0 "access-report as another identity: exit 0"
is "$OUT" $'denied\t42\tdb-prod\t3\nok\t43\thr-payroll\t3\n2 records: 1 unlockable, 1 denied, 0 errors' \
  "access-report as another identity: the other way round"

simctl fault pam /xtam/rest/record/unlock/44 status status=500
run "$PAMSH" "$S/access-report.lua" 2
is "$RC" 4 "access-report with a server error: exit 4"
like "$OUT" $'^error\t44\tweb-01\t2\tGET /rest/record/unlock/44: HTTP 500' "access-report: the error line names the failure"
like "$OUT" $'\nok\ti-2qhyGh2UB0V\t' "access-report: the other records are still checked"
like "$OUT" $'\n2 records: 1 unlockable, 0 denied, 1 error$' "access-report: errors counted apart from denials"
like "$ERR" "^pamsh: 1 of 2 records could not be checked" "access-report: the failure on stderr"
simctl clear pam

run "$PAMSH" "$S/access-report.lua"
is "$RC" 2 "access-report without a folder: exit 2"

# ---------------------------------------------------------------- import-records
# quoted fields, an embedded comma, doubled quotes, an embedded line break,
# CRLF line ends, an empty cell, an extra field column with a space in its name
printf '%s\r\n' 'name,description,Host,User,Password,SSH Key' \
  'imp-one,"first, with a comma",one.corp.example,admin,"S3cr3t-""quoted"",pw",' \
  '"imp-two","two' \
  'lines",two.corp.example,,S3cr3t-two,"S3cr3t-key,1"' >"$TMP/new.csv"
before=$(simctl data | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["records"]))')

run "$PAMSH" --dry-run "$S/import-records.lua" "$TMP/new.csv" 3 5
if [[ $RC == 2 && $ERR == *"unknown option"* ]]; then
  skip "import-records --dry-run" "--dry-run not built yet"
else
  is "$RC:$OUT" $'0:would create imp-one\nwould create imp-two\n2 records: 2 would be created' \
    "import-records --dry-run: runs to the end, says what it would create"
fi
after=$(simctl data | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["records"]))')
is "$after" "$before" "import-records --dry-run: nothing created"
unlike "$OUT$ERR" "S3cr3t" "import-records --dry-run: no secret, stdout or stderr"

run "$PAMSH" "$S/import-records.lua" "$TMP/new.csv" 3 5
is "$RC" 0 "import-records: exit 0"
like "$OUT" $'^created [0-9]+ imp-one\ncreated [0-9]+ imp-two\n2 records: 2 created, 0 failed$' "import-records: one line per record, summary"
unlike "$OUT$ERR" "S3cr3t" "import-records: no secret printed"
id1=$(sed -n 's/^created \([0-9]*\) imp-one$/\1/p' <<<"$OUT")
id2=$(sed -n 's/^created \([0-9]*\) imp-two$/\1/p' <<<"$OUT")
run "$PAMSH" "$S/unlock-record.lua" "$id1"
is "$OUT" $'Host\tone.corp.example\nPassword\t[REDACTED]\nUser\tadmin' "imported record: fields from the columns, the empty cell left out"
run "$PAMSH" "$S/unlock-record.lua" "$id1" Password
is "$OUT" 'S3cr3t-"quoted",pw' "imported record: doubled quotes and a comma inside a quoted field"
run "$PAMSH" -e "local r = pam.unlock($id2) print(r.description) print(r.fields['SSH Key']:reveal(), r.fields.User)"
is "$OUT" $'two\r\nlines\nS3cr3t-key,1\tnil' "imported record: a line break inside a quoted field, description and field names from the header"

printf 'Name,Host\nfrom-stdin,h1\n' >"$TMP/stdin.csv"
run --stdin "$TMP/stdin.csv" "$PAMSH" "$S/import-records.lua" - 3 3
like "$RC:$OUT" $'^0:created [0-9]+ from-stdin\n1 record: 1 created, 0 failed$' "import-records: - reads stdin, LF line ends, Name matched case-insensitively"

run "$PAMSH" "$S/import-records.lua" "$TMP/new.csv" 999 5
is "$RC" 4 "import-records into a missing folder: exit 4"
like "$OUT" $'^failed imp-one: POST /rest/record/new/999/5: HTTP 404 Not Found\nfailed imp-two: .*\n2 records: 0 created, 2 failed$' \
  "import-records: failed lines and summary"
unlike "$OUT$ERR" "S3cr3t" "import-records failures: no secret"

before=$(simctl data | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["records"]))')
bad_csv() {
  local content=$1 want=$2 desc=$3
  printf '%s' "$content" >"$TMP/bad.csv"
  run "$PAMSH" "$S/import-records.lua" "$TMP/bad.csv" 3 5
  is "$RC" 2 "import-records, $desc: exit 2"
  like "$ERR" "$want" "import-records, $desc: the problem named"
}
bad_csv $'name,Host\nok,h\n"open,h\n' 'line 3: a quoted field is not closed' "unclosed quote"
bad_csv $'name,Host\nok,h\nshort\n' 'line 3: 1 fields, the header has 2' "wrong field count"
bad_csv $'Host,User\nh,u\n' 'no name column' "no name column"
bad_csv $'name,Host\n ,h\n' 'line 2: the name is empty' "empty name"
bad_csv $'name,Host,host\nx,h,h\n' 'column "host" appears twice' "duplicate column"
bad_csv $'name,Host\nx,a"b\n' 'line 2: a quote inside an unquoted field' "stray quote"
bad_csv '' 'is empty' "empty file"
after=$(simctl data | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["records"]))')
is "$after" "$before" "import-records: a malformed file creates nothing"
run "$PAMSH" "$S/import-records.lua" "$TMP/none.csv" 3 5
is "$RC" 2 "import-records: an unreadable file: exit 2"
run "$PAMSH" "$S/import-records.lua" "$TMP/new.csv" 3
is "$RC" 2 "import-records with two arguments: exit 2"

# ---------------------------------------------------------------- demo
run "$PAMSH" "$S/demo.lua"
is "$RC" 0 "demo.lua still works"

done_testing
