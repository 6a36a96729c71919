--- Shared set-up for the specs: a sandbox per spec file, clients pointed at it, and a
-- record of every string the suite produced (errors, tostring) so that the last spec can
-- check that no secret or token leaked anywhere.
local cxcloud = require "cxcloud"
local core = require "cxcloud.core"
local sandbox = require "spec.support.sandbox"

local helper = {}

--- True when the suite runs under valgrind (slow): heavy specs shrink.
helper.memcheck = os.getenv("CXCLOUD_MEMCHECK") == "1"

local function append(path, strings)
  if not path or #strings == 0 then return end
  local f = assert(io.open(path, "a"))
  for _, s in ipairs(strings) do f:write((s:gsub("\n", "\\n")), "\n") end
  f:close()
end

-- For the whole-suite leak check (`make test`, spec/support/leakcheck.lua): every credential a
-- sandbox issued goes to CXCLOUD_SECRETS_FILE when it stops.
local function record_secrets(sb)
  local list = { sb.client_secret, core.urlencode(sb.client_secret) }
  local ok, tokens = pcall(sb.tokens, sb)
  for _, t in ipairs(ok and tokens or {}) do list[#list + 1] = t.access_token end
  append(os.getenv("CXCLOUD_SECRETS_FILE"), list)
end

--- Adds a secret the specs themselves made (a proxy password) to the leak check's list.
function helper.record_secret(s)
  append(os.getenv("CXCLOUD_SECRETS_FILE"), { s, core.urlencode(s) })
end

--- The whole file at `path`, or nil when it cannot be read.
function helper.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a") -- the "*a" spelling: every Lua version reads it
  f:close()
  return s
end

--- Starts a sandbox; the spec file stops it in `teardown`.
function helper.sandbox(opts)
  local sb = sandbox.start(opts or {})
  local stop = sb.stop
  sb.stop = function(self)
    if not self.stopped_by_helper then
      self.stopped_by_helper = true
      record_secrets(self)
    end
    return stop(self)
  end
  return sb
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

--- Records `tostring(v)` and every string field of an error object in CXCLOUD_OUTPUT_FILE
-- (searched by spec/support/leakcheck.lua); returns the string.
function helper.show(v)
  local s = tostring(v)
  local shown = { s }
  if type(v) == "table" then
    for _, field in pairs(v) do
      if type(field) == "string" then shown[#shown + 1] = field end
    end
  end
  append(os.getenv("CXCLOUD_OUTPUT_FILE"), shown)
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
