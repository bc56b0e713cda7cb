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
