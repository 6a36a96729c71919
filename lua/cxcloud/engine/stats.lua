--- Counters of one client (part of `cxcloud.engine`).
-- @module cxcloud.engine.stats

local M = {}

--- The counter names, each starting at 0.
M.NAMES = { "requests", "retries", "throttled", "overloaded", "token_requests", "auth_retries",
  "budget_exhausted", "slowdowns", "memory_waits" }

--- A fresh set of counters.
-- @treturn table name -> 0
function M.new()
  local s = {}
  for _, k in ipairs(M.NAMES) do s[k] = 0 end
  return s
end

--- A copy of `s` with `extra` fields added.
-- @tparam table s counters
-- @tparam table extra
-- @treturn table
function M.snapshot(s, extra)
  local out = {}
  for k, v in pairs(s) do out[k] = v end
  for k, v in pairs(extra) do out[k] = v end
  return out
end

return M
