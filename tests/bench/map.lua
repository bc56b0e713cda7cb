-- tests/bench/map.lua N [CONCURRENCY] - pamsh pam.map: N unlock requests
-- with concurrency 16 (the same call whether pam.map runs its items one
-- after another or overlaps them on the wire).  The first request (outside
-- the timed part) fetches the token, logs in and opens the connection;
-- bench.py times from "ready" to "done".
local n = math.tointeger(tonumber(arg[1])) or error("usage: map.lua N [CONCURRENCY]")
local conc = math.tointeger(tonumber(arg[2] or 16))

pam_request("GET", "/rest/record/unlock/0")
local ids = {}
for i = 1, n do ids[i] = i end
io.write("ready\n") io.stdout:flush()

-- each item checks its answer as seq.lua does and keeps only that, so
-- that the peak RSS compares pamsh with pamsh, not with 5000 records kept
local results, errors = pam.map(ids, function(id)
  local data, status = pam_request("GET", "/rest/record/unlock/" .. id)
  return status == 200 and type(data) == "table" and data.id ~= nil
end, {concurrency = conc})

local good, bad = 0, 0
for i = 1, n do
  if results[i] == true then good = good + 1 end
  if errors[i] ~= nil then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("item ", i, ": ", tostring(errors[i]), "\n") end
  end
end
io.write("done ", good, "\n") io.stdout:flush()
