-- pamsh version (and pamsh --version, which runs this): the versions of
-- pamsh and of what it is built on, for bug reports.  The first line is
-- "pamsh VERSION" alone, for scripts that compare versions.
local core = require "pam.core"
local cjson = require "cjson"

return function(...)
  if select("#", ...) > 0 then
    error(core.error { kind = "usage", message = "usage: pamsh version (it takes no arguments)" }, 0)
  end
  local v = core.versions()
  print(("pamsh %s"):format(v.pamsh))
  print(v.lua)
  print(("libcurl %s (TLS: %s)"):format(v.libcurl, v.tls))
  print(("lua-cjson %s"):format(cjson._VERSION or "?"))
  return 0
end
