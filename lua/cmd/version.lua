-- pamsh version: versions of pamsh and what it is built on
local core = require "pam.core"
local cjson = require "cjson"

return function()
  local v = core.versions()
  print(("pamsh %s"):format(v.pamsh))
  print(("%s"):format(v.lua))
  print(("libcurl %s (TLS: %s)"):format(v.libcurl, v.tls))
  print(("lua-cjson %s"):format(cjson._VERSION or "?"))
  return 0
end
