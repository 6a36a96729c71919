-- The rate limiter's slowdown and recovery, on a fake clock.
local rate = require "cxcloud.engine.rate"

describe("rate limiter", function()
  local function limiter()
    return rate.new({ rate_limit = 10 }, { slowdowns = 0 })
  end

  it("slows down by 1.5x per throttled answer, at most once a second, up to 8x", function()
    local l = limiter()
    l:slowdown(0); l:slowdown(0.5)
    assert.equal(1.5, l.slow)
    for t = 1, 10 do l:slowdown(t) end
    assert.equal(rate.MAX_SLOW, l.slow)
    assert.equal(10 / 8, l:rate())
  end)

  it("recovers with time without throttling, not only per success", function()
    local l = limiter()
    for t = 0, 6 do l:slowdown(t) end          -- slowed to 8x at t = 6
    l:success(6 + 3 * rate.RECOVERY_HALF_LIFE)   -- one success after three half-lives
    -- what was left of the slowdown (7) halved three times, then 3% for the success
    assert.near((1 + 7 / 8) * rate.RECOVERY, l.slow, 1e-9)
    l:success(6 + 10 * rate.RECOVERY_HALF_LIFE)
    assert.near(1, l.slow, 0.01)
    assert.is_true(l:rate() > 9.9)
  end)

  it("recovers only 3% per success while successes come fast", function()
    local l = limiter()
    l:slowdown(0)
    l:success(0)
    assert.near(1.5 * rate.RECOVERY, l.slow, 1e-9)
  end)
end)
