-- tests/bench/seq.lua N - pamsh sequential: N unlock requests, one after
-- another.  The first request (outside the timed part) fetches the token,
-- logs in and opens the connection; bench.py times from "ready" to "done".
local n = math.tointeger(tonumber(arg[1])) or error("usage: seq.lua N")

pam_request("GET", "/rest/record/unlock/0")
io.write("ready\n") io.stdout:flush()

local good = 0
for i = 1, n do
  local data, status = pam_request("GET", "/rest/record/unlock/" .. i)
  if status == 200 and type(data) == "table" and data.id then good = good + 1 end
end

io.write("done ", good, "\n") io.stdout:flush()
