-- pamsh doctor [PATH]: walk the chain step by step (identity source, token,
-- audience, expiry, TLS to the PAM server, landing, one read call) and say
-- what is wrong and how to fix it.  Exit 0 only when every step passes;
-- otherwise the exit code of the first failure (2, 3, 4 or 5).
local core = require "pam.core"

local EXIT = { usage = 2, auth = 3, http = 4, network = 5 }

return function(path, extra)
  if extra then
    error(core.error { kind = "usage", message = "usage: pamsh doctor [PATH]" }, 0)
  end
  path = path or "/rest/folder/list/1"
  local settings = core.settings()
  local first_failure
  local function report(ok, title, detail, fix, kind)
    print(("%s %s%s"):format(ok and "✓" or "✗", title, detail and (": " .. detail) or ""))
    if not ok then
      if fix then print("    fix: " .. fix) end
      first_failure = first_failure or EXIT[kind or "auth"] or 1
    end
    io.stdout:flush()
  end
  local function skip(title, why)
    print(("- %s: skipped (%s)"):format(title, why))
  end
  local function message(err)
    return type(err) == "table" and tostring(err.message or err) or tostring(err)
  end

  -- 1. identity source
  local src = core.identity_source()
  report(true, "identity source", ("%s (%s), because %s; endpoint %s")
    :format(src.source, src.title, src.why, src.endpoint))

  -- 2. token
  local ok, token, info = pcall(imds_token)
  local claims
  if ok then
    claims = info.claims or {}
    report(true, "token obtained", ("from %s for %s"):format(info.source, tostring(info.resource)))
  else
    local err = token
    local kind = type(err) == "table" and err.kind or "auth"
    local msg = message(err)
    local fix
    if kind == "usage" then
      fix = "set --resource (PAMSH_RESOURCE) to the PAM App Registration's client ID"
    elseif msg:find("Identity not found", 1, true) or msg:find("no managed identity", 1, true) then
      fix = "assign a managed identity to this machine (or name the right one with --client-id)"
    elseif msg:find("several user-assigned", 1, true) then
      fix = "pass --client-id (or --object-id / --msi-res-id) to choose one of the identities"
    elseif msg:find("is this an Azure VM", 1, true) then
      fix = "run on an Azure machine with a managed identity, or point --imds-url at the identity endpoint"
    end
    report(false, "token obtained", msg, fix, kind)
  end

  -- 3. audience
  if claims then
    local want = settings.resource
    if claims.aud == want or claims.aud == "api://" .. tostring(want) then
      report(true, "token audience", ("%s matches --resource"):format(claims.aud))
    else
      report(false, "token audience", ("%s, but --resource is %s"):format(tostring(claims.aud), tostring(want)),
        "the PAM server accepts tokens for its App Registration: pass --resource <its client ID>")
    end
  else
    skip("token audience", "no token")
  end

  -- 4. expiry
  if claims then
    local now = os.time()
    local exp, nbf = info.expires_on, claims.nbf
    if exp <= now then
      report(false, "token expiry", ("expired at %s"):format(os.date("!%Y-%m-%d %H:%M:%SZ", exp)),
        "check this machine's clock (timedatectl), then try again")
    elseif math.type(nbf) == "integer" and nbf > now + 300 then
      report(false, "token expiry", "not valid before " .. os.date("!%Y-%m-%d %H:%M:%SZ", nbf),
        "this machine's clock is behind: check it (timedatectl)")
    elseif exp - now > 25 * 3600 then
      report(false, "token expiry", "expires more than 25 h ahead",
        "this machine's clock is behind: check it (timedatectl)")
    else
      report(true, "token expiry", ("valid until %s (%d min left)")
        :format(os.date("!%Y-%m-%d %H:%M:%SZ", exp), (exp - now) // 60))
    end
  else
    skip("token expiry", "no token")
  end

  -- 5. TLS to the PAM server
  local url = settings.url
  local tls_ok = false
  if not url then
    report(false, "PAM URL", "not set", "pass --url https://<pam>:6443/xtam (or set PAMSH_URL)", "usage")
  elseif url:match("^http://") then
    report(true, "TLS to the PAM server", "plain http:// URL, nothing to verify (test set-ups only)")
    tls_ok = true
  else
    local pok, t = pcall(core.tls_probe, url)
    if not pok then
      report(false, "TLS to the PAM server", message(t),
        "check the host and port in --url, and that this machine can reach it", "network")
    else
      local cert = t.subject and ("certificate %s, issued by %s, valid until %s")
        :format(t.subject, t.issuer or "?", t.not_after or "?") or "no certificate seen"
      if t.verified then
        report(true, "TLS to the PAM server", cert)
        tls_ok = true
      elseif settings.insecure then
        report(true, "TLS to the PAM server", cert .. " (NOT verified: --insecure)")
        tls_ok = true
      else
        report(false, "TLS to the PAM server", ("%s; %s"):format(t.verify_error or "not verified", cert),
          "pass --cacert FILE with the CA that issued the server's certificate" ..
          (t.issuer and (" (" .. t.issuer .. ")") or "") .. ", or set PAMSH_CACERT", "network")
      end
    end
  end

  -- 6. landing
  local logged_in = false
  if token and ok and url and tls_ok then
    local lok, lerr = pcall(pam_login)
    if lok then
      report(true, "login", "the landing accepted the token at " .. lerr.url)
      logged_in = true
    else
      report(false, "login", message(lerr),
        ("most often the audience is wrong: --resource must be the PAM App Registration's " ..
         "client ID (this token's audience is %s); on the PAM server check that " ..
         "xtam.landing.azure_auth=true, that the identity's MFA is set to None, and that it " ..
         "was granted permissions through the AAD: directory"):format(tostring(claims and claims.aud)),
        type(lerr) == "table" and lerr.kind or "auth")
    end
  else
    skip("login", not (ok and token) and "no token" or "no working connection to the PAM server")
  end

  -- 7. one read call
  if logged_in then
    local rok, data, status = pcall(pam_request, "GET", path)
    if rok then
      report(true, "read call", ("GET %s answered %d"):format(path, status))
    else
      local err = data
      local fix
      if type(err) == "table" and err.status == 401 then
        fix = "the identity signed in but may not read " .. path ..
              ": grant it permissions through the AAD: directory in PAM"
      elseif type(err) == "table" and err.status == 404 then
        fix = "pass a path this identity can read: pamsh doctor /rest/folder/list/<id>"
      end
      report(false, "read call", tostring(err), fix, type(err) == "table" and err.kind or "http")
    end
  else
    skip("read call", "not logged in")
  end

  if first_failure then
    print("doctor: some checks failed")
    return first_failure
  end
  print("doctor: all checks passed")
  return 0
end
