-- log.lua - diagnostics for scripts, in the run's format (--log-format
-- text|json; -v shows debug, --quiet only warnings and errors).  Global
-- `log`, also `require "log"`:
--   log.info("unlocked", {id = 42})
-- Secrets (pam.secret values, or fields whose names look secret) are
-- written as [REDACTED].
local core = require "pam.core"

local log = {}
for _, level in ipairs { "debug", "info", "warn", "error" } do
  log[level] = function(msg, fields)
    core.log(level, tostring(msg), fields)
  end
end
return log
