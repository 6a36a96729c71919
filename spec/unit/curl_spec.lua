-- cxcloud.curl: what a failed transfer was, from what the C core reports (libcurl's code,
-- the size limit that stopped it, the proxy's answer). The C core names no failure: this is
-- the one place that does.
local curl = require "cxcloud.curl"

describe("cxcloud.curl", function()
  it("names the kind of a failure from libcurl's code", function()
    assert.equal("timeout", curl.kind { code = 28 })
    assert.equal("tls", curl.kind { code = 60 })  -- a certificate libcurl does not trust
    assert.equal("tls", curl.kind { code = 77 })  -- an unreadable CA file
    assert.equal("network", curl.kind { code = 35 }) -- a handshake cut by the network
    assert.equal("network", curl.kind { code = 7 })
    assert.equal("network", curl.kind { code = 1 })  -- a scheme libcurl refuses
    assert.equal("too_large", curl.kind { code = 63 }) -- an announced body over the limit
    assert.equal("too_large", curl.kind { code = 23, limit = "body" })
    assert.equal("too_large", curl.kind { code = 23, limit = "header" })
    assert.equal("network", curl.kind { code = 23 }) -- a write error of another cause
  end)

  it("tells a proxy's failure only for a transfer through it", function()
    assert.is_nil(curl.proxy_failure({ code = 7 }, 0))
    assert.equal("refused", curl.proxy_failure({ code = 56, via_proxy = true, proxy_status = 407 }, 1))
    assert.equal("unreachable", curl.proxy_failure({ code = 7, via_proxy = true }, 0))
    assert.equal("unreachable", curl.proxy_failure({ code = 5, via_proxy = true }, 0))
    assert.equal("silent", curl.proxy_failure({ code = 28, via_proxy = true }, 1))
    -- a timeout on a reused tunnel is the server's, not the proxy's
    assert.is_nil(curl.proxy_failure({ code = 28, via_proxy = true }, 0))
    -- the tunnel was up (CONNECT answered 200): what failed after it is not the proxy's
    assert.is_nil(curl.proxy_failure({ code = 7, via_proxy = true, proxy_status = 200 }, 1))
  end)
end)
