-- pamsh token [--raw | --json]: obtain a managed-identity token for the
-- configured resource and show what it says.  The raw token is printed
-- only with --raw (for piping into other tools).
local core = require "pam.core"
local pam = require "pam"
local log = require "log"

local function usage(msg)
  error(core.error { kind = "usage", message = msg .. " (usage: pamsh token [--raw | --json])" }, 0)
end

local function when(epoch)
  return os.date("!%Y-%m-%d %H:%M:%SZ", epoch)
end

-- "in 23 h 59 min", "5 min ago"
local function relative(epoch, now)
  local d = epoch - now
  local a = math.abs(d)
  local text
  if a < 60 then text = ("%d s"):format(a)
  elseif a < 3600 then text = ("%d min"):format(a // 60)
  elseif a < 86400 then text = ("%d h %d min"):format(a // 3600, a % 3600 // 60)
  else text = ("%d d %d h"):format(a // 86400, a % 86400 // 3600) end
  return d >= 0 and ("in " .. text) or (text .. " ago")
end

return function(...)
  local mode
  for _, a in ipairs { ... } do
    if a == "--raw" or a == "--json" then
      if mode and mode ~= a then usage("--raw and --json exclude each other") end
      mode = a
    else
      usage("unknown argument '" .. a .. "'")
    end
  end
  local settings = core.settings()
  local src = core.identity_source()
  local token, info = imds_token()
  local c = info.claims or {}
  local now = os.time()
  -- a token the PAM server will refuse is still printed (exit 0: the
  -- command did its job), but the operator hears about it on stderr, also
  -- with --raw, where stdout stays the bare token for a pipe
  local audience_ok = c.aud == settings.resource or c.aud == "api://" .. tostring(settings.resource)
  if not audience_ok then
    log.warn(("the token's audience %s differs from the configured resource %s")
      :format(tostring(c.aud), tostring(settings.resource)))
  end
  if mode == "--raw" then
    print(token)
    return 0
  end
  if mode == "--json" then
    print(pam.json {
      source = info.source, source_title = src.title, source_reason = src.why,
      endpoint = src.endpoint, resource = info.resource, expires_on = info.expires_on,
      audience_matches = audience_ok, claims = c,
    })
    return 0
  end
  local rows = {
    { "source", ("%s (%s: %s)"):format(info.source, src.title, src.why) },
    { "audience", tostring(c.aud) },
    { "issuer", tostring(c.iss) },
    { "tenant", tostring(c.tid) },
    { "object id", tostring(c.oid) },
    { "app id", tostring(c.appid or c.azp) },
    { "identity", tostring(c.xms_mirid or c.idtyp) },
  }
  if math.type(c.iat) == "integer" then
    rows[#rows + 1] = { "issued", ("%s (%s)"):format(when(c.iat), relative(c.iat, now)) }
  end
  rows[#rows + 1] = { "expires", ("%s (%s)"):format(when(info.expires_on), relative(info.expires_on, now)) }
  for _, r in ipairs(rows) do print(("%-10s %s"):format(r[1], r[2])) end
  return 0
end
