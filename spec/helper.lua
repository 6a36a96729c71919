--- Shared set-up for the specs: a sandbox per spec file, clients pointed at it, and a
-- record of every string the suite produced (errors, tostring) so that the last spec can
-- check that no secret or token leaked anywhere.
local cxcloud = require "cxcloud"
local sandbox = require "cxcloud.sandbox"

local helper = {}

--- True when the suite runs under valgrind (slow): heavy specs shrink.
helper.memcheck = os.getenv("CXCLOUD_MEMCHECK") == "1"

--- Starts a sandbox; the spec file stops it in `teardown`.
function helper.sandbox(opts)
  return sandbox.start(opts or {})
end

--- A client on sandbox `sb`, with extra options.
function helper.client(sb, extra)
  return cxcloud.new(sb:client_options(extra))
end

--- A fake monotonic clock whose `sleep` advances it: retries and backoff cost no real time.
function helper.fake_clock(start)
  local now = start or 1000
  local clock = {}
  clock.slept = {}
  function clock.clock() return now end
  function clock.sleep(s)
    clock.slept[#clock.slept + 1] = s
    now = now + s
  end
  function clock.advance(s) now = now + s end
  return clock
end

--- Calls f and returns the error object it raised (fails if it raised nothing).
function helper.raised(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error, got none")
  return err
end

-- Every string a spec shows a user goes through here; spec/zz_leak_spec.lua reads it.
local seen = {}
helper.seen = seen

--- Records `tostring(v)` and every string field of an error object; returns the string.
function helper.show(v)
  local s = tostring(v)
  seen[#seen + 1] = s
  if type(v) == "table" then
    for _, field in pairs(v) do
      if type(field) == "string" then seen[#seen + 1] = field end
    end
  end
  return s
end

--- Request records of `sb` since a mark; `helper.mark(sb)` gives the mark.
function helper.mark(sb)
  local log = sb:log()
  return #log > 0 and log[#log].seq or 0
end

function helper.since(sb, mark)
  return sb:log(mark)
end

--- Count records in `records` for which `pred(record)` is true.
function helper.count(records, pred)
  local n = 0
  for _, r in ipairs(records) do if pred(r) then n = n + 1 end end
  return n
end

function helper.is_token(r) return r.path:find("/oauth2/", 1, true) ~= nil end
function helper.is_api(r) return r.path:find("/cs/api/v2/", 1, true) ~= nil end

return helper
