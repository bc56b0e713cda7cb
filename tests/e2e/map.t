#!/usr/bin/env bash
# pam.map: items in coroutines whose requests overlap on the wire, one
# curl_multi loop, results in input order, one re-login for all.
. "$(dirname "$0")/../setup"
sim_start
export TOP

run "$PAMSH" -e '
  local ids = {42, 43, 44, "i-2qhyGh2UB0V", 42, 43}
  local r, e = pam.map(ids, function(id) return pam.unlock(id).name end)
  for i = 1, #ids do print(i, r[i], e[i] and e[i].status, e[i] and tostring(e[i])) end'
is "$RC" 0 "map: exit 0 even with failing items"
is "$OUT" "1	db-prod	nil	nil
2	nil	401	GET /rest/record/unlock/43: HTTP 401 Unauthorized
3	web-01	nil	nil
4	legacy-app	nil	nil
5	db-prod	nil	nil
6	nil	401	GET /rest/record/unlock/43: HTTP 401 Unauthorized" "map: results in input order, errors beside them"

# fn returning several values: results[i] is the first (pam_request
# returns data, status, headers); a fn returning nothing leaves a hole
run "$PAMSH" -e '
  local r = pam.map({42, 44}, function(id) return pam_request("GET", "/rest/record/unlock/" .. id) end)
  print(r[1].id, r[1].name, r[2].name)
  r = pam.map({1, 2, 3}, function(i) return i * 10, "second", "third" end)
  print(r[1], r[2], r[3])
  r = pam.map({1, 2}, function(i) if i == 2 then return "x" end end)
  print(r[1], r[2])'
is "$RC $OUT" "0 42	db-prod	web-01
10	20	30
nil	x" "map: the first of several results; none is nil"

# the requests overlap: 8 slow answers of 1 s take about 1 s, not 8
simctl fault pam /xtam/rest/record/unlock/44 slow delay=1
t0=$(now)
run "$PAMSH" -e 'local ids = {} for i = 1, 8 do ids[i] = 44 end
  local r = pam.map(ids, function(id) return pam.unlock(id).name end, {concurrency = 8})
  print(#r)'
is "$OUT" "8" "map: eight results"
ok $(took_under "$t0" 3.5; echo $?) "map: eight 1-second requests overlap (concurrency 8)"
t0=$(now)
run "$PAMSH" -e 'local ids = {} for i = 1, 4 do ids[i] = 44 end
  pam.map(ids, function(id) return pam.unlock(id).name end, {concurrency = 2})'
ok $(took_over "$t0" 2; echo $?) "map: concurrency 2 bounds the overlap (4 x 1 s take 2 s)"
simctl clear

# one re-login for every item in flight when the session expires
simctl reset-log
run "$PAMSH" -e 'pam_login()
  assert(os.execute(os.getenv("TOP") .. "/tests/sim/simctl expire"))
  local ids = {} for i = 1, 8 do ids[i] = 42 end
  local r, e = pam.map(ids, function(id) return pam.unlock(id).name end, {concurrency = 8})
  print(#r, next(e))'
is "$OUT" $'8\tnil' "map after expiry: every item succeeds"
is "$(simctl count pam /xtam/landing)" 2 "map after expiry: one re-login for all eight"

# connections are reused and bounded
simctl reset-log
run "$PAMSH" -e 'local ids = {} for i = 1, 40 do ids[i] = 42 end
  pam.map(ids, function(id) return pam.unlock(id).name end, {concurrency = 4})'
conns=$(simctl log pam | "$PYTHON" -c 'import json,sys; print(len({json.loads(l)["conn"] for l in sys.stdin}))')
ok $([ "$conns" -le 5 ]; echo $?) "map: 41 requests over at most 5 connections ($conns)"
# counted at the simulator's accept, so a connection that carried no
# request counts too: the TLS handshakes are bounded by the concurrency
read -r conns resumed <<<"$(simctl conns pam)"
ok $([ "$conns" -ge 1 ] && [ "$conns" -le 4 ]; echo $?) "map: at most 4 TLS handshakes for concurrency 4 ($conns)"

# items that do not request, fail, or misbehave
run "$PAMSH" -e '
  local r, e = pam.map({1, 2, 3, 4}, function(x)
    if x == 2 then error("two") end
    if x == 3 then coroutine.yield() end
    if x == 4 then return pam.map({1}, function() end) end
    return x * 10 end)
  print(r[1], tostring(e[2]):match("two"), tostring(e[3]), type(e[4]) == "table" and e[4].kind)'
is "$OUT" $'10\ttwo\tpam.map: the function yielded outside a request\tusage' "map: plain values, errors, foreign yields and nesting"
run "$PAMSH" -e 'pam.map({}, function() end) print(select("#", pam.map({}, function() end)))'
is "$OUT" "2" "map over an empty list: two empty tables"

# writes inside map carry the XSRF header; --dry-run still applies
run "$PAMSH" -e 'local r = pam.map({"a", "b"}, function(n) return pam.create_folder(1, "map-" .. n).name end)
  print(r[1], r[2])'
is "$OUT" $'map-a\tmap-b' "map: POSTs with XSRF work"
run "$PAMSH" --dry-run -e 'local r = pam.map({"c"}, function(n) return pam.create_folder(1, "map-" .. n).dry_run end)
  print(r[1])'
is "$OUT" "true" "map: --dry-run holds inside map"

# no progress line when stderr is not a terminal
run "$PAMSH" -e 'pam.map({42, 44}, function(id) return pam.unlock(id) end)'
unlike "$ERR" "pam.map:" "map: no progress line off a terminal"

# ---------------------------------------------------------------- bound
# The concurrency bound, observed at the simulator: the most requests it had
# in flight at once (simctl inflight), for 3, 1 and the default 8.  A slow
# answer holds each request long enough for the next ones to arrive.
delay=$("$PYTHON" -c "print(0.2 * $TEST_SLOWDOWN)")
simctl fault pam /xtam/rest/record/unlock/44 slow delay="$delay"
# bound_run N [CONCURRENCY]: log in, then unlock record 44 N times in a map
bound_run() {
  local opts=nil
  [[ -n ${2-} ]] && opts="{concurrency = $2}"
  simctl reset-log
  run "$PAMSH" -e "pam_login()
    local ids = {} for i = 1, $1 do ids[i] = 44 end
    local r, e = pam.map(ids, function(id) return pam.unlock(id).name end, $opts)
    print(#r, r[$1], next(e))"
  [[ $RC == 0 ]] || diag_run
}
bound_run 12 3
is "$OUT" $'12\tweb-01\tnil' "bound: 12 unlocks, concurrency 3: every item succeeds"
is "$(simctl count pam /xtam/rest/record/unlock/44)" 12 "bound: one request per item"
is "$(simctl inflight pam)" 3 "bound: concurrency 3 -> at most, and exactly, 3 in flight at the simulator"
# three requests in flight at once over HTTP/1.1 take three connections:
# no more are opened, and the new ones resume the TLS session of the
# login's (the handles share it).  Not all of them always do when many
# handshakes start at once (libcurl 7.88 / OpenSSL 3), so: at least one.
read -r conns resumed <<<"$(simctl conns pam)"
is "$conns" 3 "bound: login and 12 unlocks over 3 TLS connections"
ok $([ "$resumed" -ge 1 ]; echo $?) "bound: new connections resume the shared TLS session ($resumed of 2)"
bound_run 3 1
is "$OUT" $'3\tweb-01\tnil' "bound: concurrency 1: every item succeeds"
is "$(simctl inflight pam)" 1 "bound: concurrency 1 -> one request in flight at a time"
is "$(simctl conns pam)" "1 0" "bound: concurrency 1 -> one connection for everything"
bound_run 20
is "$OUT" $'20\tweb-01\tnil' "bound: 20 items, default concurrency: every item succeeds"
is "$(simctl inflight pam)" 8 "bound: default concurrency -> at most, and exactly, 8 in flight"
read -r conns resumed <<<"$(simctl conns pam)"
is "$conns" 8 "bound: default concurrency -> 8 TLS connections"
ok $([ "$resumed" -ge 1 ]; echo $?) "bound: default concurrency -> new connections resume the TLS session ($resumed of 7)"
simctl clear

# ---------------------------------------------------------------- nested
# Several pam calls in sequence inside one item -- a folder listing, an
# unlock of each record in it, a POST that needs the XSRF header -- with
# each item's results its own, and the items overlapping on the wire.
simctl fault pam /xtam/rest/folder/list/ slow delay="$delay"
simctl reset-log
run "$PAMSH" -e '
  local items = {{2, "a"}, {3, "b"}, {99, "c"}, {2, "d"}}
  local r, e = pam.map(items, function(it)
    local names = {}
    for _, ent in ipairs(pam.folder(it[1])) do
      if not ent.folder then
        local ok, rec = pcall(pam.unlock, ent.id)
        names[#names + 1] = ok and rec.name or ("denied " .. tostring(rec.status))
      end
    end
    local f = pam.post("/rest/folder/create/" .. it[1], {name = "nested-" .. it[2]})
    return it[1] .. ": " .. table.concat(names, ", ") .. " + " .. f.name
  end)
  for i = 1, #items do print(i, r[i], e[i] and tostring(e[i])) end'
is "$OUT" "1	2: web-01, legacy-app + nested-a	nil
2	3: db-prod, denied 401 + nested-b	nil
3	nil	GET /rest/folder/list/99: HTTP 404 Not Found
4	2: web-01, legacy-app + nested-d	nil" "nested: listing, unlocks and a POST per item, results and errors per item"
creates=$(simctl log pam | "$PYTHON" -c '
import json, sys
es = [json.loads(l) for l in sys.stdin]
c = [e for e in es if e["path"].startswith("/xtam/rest/folder/create/")]
print(sorted(json.loads(e["body"])["name"] for e in c if e["status"] == 200),
      all(e["headers"].get("x-xsrf-token") for e in c))')
# (a POST that raced item 2's re-login is refused once, then sent again)
is "$creates" "['nested-a', 'nested-b', 'nested-d'] True" \
  "nested: each item's POST accepted once, all with an X-XSRF-TOKEN"
max=$(simctl inflight pam)
ok $([ "$max" -gt 1 ]; echo $?) "nested: the items' calls overlap at the simulator ($max in flight at most)"
simctl clear

# A write started just before another item's re-login took its
# X-XSRF-TOKEN from the old session, while the cookies libcurl puts on the
# wire later are the new session's: the server refuses it (403), and pamsh
# sends it once more.  Item 1 keeps the loop busy while the slow answers of
# items 2 (401: re-login) and 3 (then a POST) arrive, so both are handled
# in one round -- item 3 first, with libcurl 7.88 -- and the re-login comes
# right after the POST has started.
simctl fault pam '/xtam/rest/record/unlock/43$' slow delay=0.1
simctl fault pam '/xtam/rest/record/unlock/44$' slow delay=0.1
simctl reset-log
run "$PAMSH" -e '
  pam_login()
  local r, e = pam.map({42, 43, 44}, function(id)
    local ok, err = pcall(pam.unlock, id)
    if id == 42 then local t = os.clock() + 0.4 while os.clock() < t do end return "busy" end
    if id == 43 then return err.status end
    return pam.post("/rest/folder/create/2", {name = "after-relogin"}).name
  end)
  print(r[1], r[2], r[3], e[3] and tostring(e[3]))'
is "$OUT" $'busy\t401\tafter-relogin\tnil' "map: a write racing another item's re-login goes through"
is "$(simctl count pam /xtam/landing)" 2 "map: ... after one re-login"
simctl clear

# ---------------------------------------------------------------- progress
# On a terminal: a progress line on stderr (done/total, rate, ETA), redrawn
# in place and cleared at the end, so what the script prints stays on lines
# of its own.  ptydrive.py gives script(1) a terminal; script runs pamsh on
# one more and keeps the raw bytes (ptydrive's transcript drops the \r that
# matters here).  screen renders them as a terminal shows them.
screen() {
  "$PYTHON" - "$1" <<'PY'
import re, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
raw = raw.split("\n", 1)[1]                          # script's header line
raw = re.sub(r"\n?Script done .*$", "", raw, flags=re.S)
lines, row, col = [""], 0, 0
for tok in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|.", raw, re.S):
    if tok == "\r": col = 0
    elif tok == "\n":
        row += 1; col = 0
        if row == len(lines): lines.append("")
    elif tok == "\x1b[K": lines[row] = lines[row][:col]
    elif tok.startswith("\x1b"): pass
    else:
        l = lines[row].ljust(col)
        lines[row] = l[:col] + tok + l[col + 1:]; col += 1
print("\n".join(l.rstrip() for l in lines).rstrip("\n"))
PY
}
# pty_map NAME SHELL-COMMAND: run it on a terminal; raw bytes in $TMP/NAME/raw
pty_map() {
  local d=$TMP/$1
  mkdir -p "$d"
  printf '%s\n' 'wait' >"$d/steps"
  PTY_TIMEOUT=$((30 * TEST_SLOWDOWN)) SHELL=/bin/bash TERM=dumb timeout -k 5 120 \
    "$PYTHON" "$TOP/tests/ptydrive.py" "$d" script -q -e -c "$2" "$d/raw" <"$d/steps"
  EXIT=$(cat "$d/exit" 2>/dev/null)
}
if ! command -v script >/dev/null; then
  skip "progress: a terminal" "script(1) not installed"
else
  simctl fault pam /xtam/rest/record/unlock/44 slow delay=0.2
  cat >"$TMP/progress.lua" <<'LUA'
print("before")
local n = tonumber(... or 12)
local ids = {} for i = 1, n do ids[i] = 44 end
local r, e = pam.map(ids, function(id) return pam.unlock(id).name end, {concurrency = 2})
print("after", #r, next(e))
LUA
  pty_map progress "$(printf '%q ' "$PAMSH" "$TMP/progress.lua")"
  is "$EXIT" 0 "progress: exit 0 on a terminal"
  raw=$(<"$TMP/progress/raw")
  draws=$(grep -ao $'\rpam\\.map: [0-9]*/12' <<<"$raw" | sed 's/.*: //' | tr '\n' ' ')
  is "$draws" "1/12 2/12 3/12 4/12 5/12 6/12 7/12 8/12 9/12 10/12 11/12 12/12 " \
    "progress: redrawn in place (\\r) as each item finishes, done/total"
  is "$(grep -ao 'pam\.map:' <<<"$raw" | wc -l)" "$(grep -ao $'\rpam\\.map:' <<<"$raw" | wc -l)" \
    "progress: every draw starts at the line's beginning"
  like "$raw" $'pam\\.map: [0-9]+/12, [0-9]+\\.[0-9]/s, ETA [0-9]+ s\e\\[K' "progress: a rate and an ETA"
  like "$raw" $'pam\\.map: 12/12, [0-9]+\\.[0-9]/s, ETA 0 s' "progress: the last draw says 12/12, ETA 0 s"
  is "$(screen "$TMP/progress/raw")" $'before\nafter\t12\tnil' \
    "progress: cleared at the end; the script's output on lines of its own"
  # stdout to a file, stderr on the terminal: the progress stays off stdout
  pty_map progress2 "$(printf '%q ' "$PAMSH" "$TMP/progress.lua" 4) >$(printf '%q' "$TMP/progress2.out")"
  is "$(<"$TMP/progress2.out")" $'before\nafter\t4\tnil' "progress: none on a redirected stdout"
  like "$(<"$TMP/progress2/raw")" 'pam\.map: 4/4' "progress: still on the terminal stderr"
fi
simctl clear

# SIGTERM during a map of slow requests
simctl fault pam /xtam/rest/record/unlock/44 slow delay=10
"$PAMSH" -e 'local ids = {} for i = 1, 6 do ids[i] = 44 end
  pam.map(ids, function(id) return pam.unlock(id) end)' 2>/dev/null &
pid=$!
sleep 1.5
t0=$(now)
kill -TERM "$pid"
wait "$pid"
is "$?" 143 "map: SIGTERM stops it, exit 143"
ok $(took_under "$t0" 1.5; echo $?) "map: promptly"
simctl clear

done_testing
