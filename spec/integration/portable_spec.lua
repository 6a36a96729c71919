-- The C core's protocol restriction, whichever libcurl option sets it: CURLOPT_PROTOCOLS_STR
-- (libcurl 7.85+) or the CURLOPT_PROTOCOLS bitmask of older ones (`make test-portable`
-- builds the core with that fallback, and the volatile wipe instead of explicit_bzero, and
-- runs this spec and the client's).
local core = require "cxcloud.core"
local rawcore = require "spec.support.rawcore"

-- what the core reports for one request to url
local function attempt(url, allow_http)
  -- the URL as given, past the options' own check of the scheme
  local c = rawcore.new({ client_id = "id", client_secret = "secret-0123456789",
    allow_http = allow_http, connect_timeout = 2, timeout = 5 }, { token_url = url })
  finally(function() c:close() end)
  local id = c:submit { token = true }
  local deadline = core.now() + 10
  while core.now() < deadline do
    for _, r in ipairs(c:poll(0.5)) do
      if r.id == id then return r end
    end
  end
  error("no result within 10 s")
end

describe("the C core's protocols", function()
  it("refuses plain http unless allow_http, before any connection", function()
    local r = attempt("http://127.0.0.1:1/token", false)
    assert.is_table(r.error)
    assert.equal(1, r.error.code) -- CURLE_UNSUPPORTED_PROTOCOL
  end)

  it("with allow_http, tries the connection (and is refused by the closed port)", function()
    local r = attempt("http://127.0.0.1:1/token", true)
    assert.is_table(r.error)
    assert.equal(7, r.error.code) -- CURLE_COULDNT_CONNECT
  end)

  it("never speaks another protocol, allowed http or not", function()
    for _, allow in ipairs { false, true } do
      local r = attempt("ftp://127.0.0.1:1/token", allow)
      assert.equal(1, r.error.code)
    end
  end)
end)
