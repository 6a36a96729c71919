--- The C core alone (`cxcloud.core.new`) for the specs that drive it directly: its table of
-- options built as `cxcloud.new` builds it (`cxcloud.options`: validated, the defaults
-- applied, no environment variable read), then any field of that table replaced by `raw`
-- (what validation would refuse: a plain http:// token URL without allow_http, ...).
--
--    local rawcore = require "spec.support.rawcore"
--    local c = rawcore.new(sb:client_options(), { http2 = true })
local core = require "cxcloud.core"
local options = require "cxcloud.options"

local M = {}

local function no_env() return nil end

--- The table for `core.new`: `opts` as `cxcloud.new` takes them, then the fields of `raw`.
function M.options(opts, raw)
  local cfg, secret, proxy = options.validate(opts, no_env)
  local t = options.core(cfg, secret, proxy, "cxcloud-spec")
  for k, v in pairs(raw or {}) do t[k] = v end
  return t
end

--- A core client (`cxcloud.core.new(M.options(opts, raw))`).
function M.new(opts, raw)
  return core.new(M.options(opts, raw))
end

return M
