--- Certificates and the TLS context of the sandbox, generated at start with luaossl.
--
-- A throw-away CA (EC P-256) signs one server certificate whose subject alternative
-- names are the API's two hosts (apix.cisco.com, id.cisco.com), localhost and 127.0.0.1, so
-- clients can use
-- the real URLs (with libcurl CONNECT_TO) or https://localhost:PORT, with full
-- verification against `ca.pem`. Nothing here is persisted except `ca.pem` (the CA
-- certificate only; the keys stay in memory).
-- @module cxcloud.sandbox.tls

local pkey = require "openssl.pkey"
local x509 = require "openssl.x509"
local xname = require "openssl.x509.name"
local altname = require "openssl.x509.altname"
local extension = require "openssl.x509.extension"
local bignum = require "openssl.bignum"
local rand = require "openssl.rand"
local ssl = require "openssl.ssl"
local http_tls = require "http.tls"
local ops = require "cxcloud.sandbox.ops"

local tls = {}

--- Host names the server certificate is valid for.
tls.DNS_NAMES = { ops.API_HOST, ops.TOKEN_HOST, "localhost" }
tls.IP = "127.0.0.1"

local function new_key()
  return pkey.new { type = "EC", curve = "prime256v1" }
end

local function serial()
  return bignum.fromBinary(rand.bytes(16)) % bignum.new("170141183460469231731687303715884105727")
end

local function dn(cn)
  local n = xname.new()
  n:add("O", "cxcloud sandbox")
  n:add("CN", cn)
  return n
end

--- Generates the CA and the server certificate.
-- @tparam[opt] number lifetime seconds the certificates are valid (default 30 days)
-- @treturn table `{ca = x509, cert = x509, key = pkey, ca_pem = string}`
function tls.generate(lifetime)
  lifetime = lifetime or 30 * 86400
  local now = os.time()
  local ca_key = new_key()
  local ca = x509.new()
  ca:setVersion(3)
  ca:setSerial(serial())
  ca:setSubject(dn("cxcloud sandbox CA " .. os.date("!%Y%m%dT%H%M%SZ", now)))
  ca:setIssuer(ca:getSubject())
  ca:setLifetime(now - 3600, now + lifetime)
  ca:setPublicKey(ca_key)
  ca:setBasicConstraints { CA = true, pathLen = 0 }
  ca:setBasicConstraintsCritical(true)
  ca:addExtension(extension.new("keyUsage", "critical,keyCertSign,cRLSign"))
  ca:addExtension(extension.new("subjectKeyIdentifier", "hash", { subject = ca }))
  ca:addExtension(extension.new("authorityKeyIdentifier", "keyid:always", { issuer = ca }))
  assert(ca:sign(ca_key, "sha256"))

  local key = new_key()
  local cert = x509.new()
  cert:setVersion(3)
  cert:setSerial(serial())
  cert:setSubject(dn(tls.DNS_NAMES[1]))
  cert:setIssuer(ca:getSubject())
  cert:setLifetime(now - 3600, now + lifetime)
  cert:setPublicKey(key)
  local alt = altname.new()
  for _, n in ipairs(tls.DNS_NAMES) do alt:add("DNS", n) end
  alt:add("IP", tls.IP)
  cert:setSubjectAlt(alt)
  cert:setBasicConstraints { CA = false }
  cert:setBasicConstraintsCritical(true)
  cert:addExtension(extension.new("keyUsage", "critical,digitalSignature,keyAgreement"))
  cert:addExtension(extension.new("extendedKeyUsage", "serverAuth"))
  cert:addExtension(extension.new("subjectKeyIdentifier", "hash", { subject = cert }))
  cert:addExtension(extension.new("authorityKeyIdentifier", "keyid:always", { issuer = ca }))
  assert(cert:sign(ca_key, "sha256"))
  return { ca = ca, cert = cert, key = key, ca_pem = ca:toPEM() }
end

--- Writes the CA certificate (PEM) to `path`.
-- @tparam table certs from `generate`
-- @tparam string path
function tls.write_ca(certs, path)
  local f = assert(io.open(path, "wb"))
  f:write(certs.ca_pem)
  f:close()
end

--- A server TLS context for the generated certificate.
-- @tparam table certs from `generate`
-- @tparam boolean http2 offer "h2" through ALPN
-- @tparam[opt] function on_handshake called once per TLS handshake
-- @treturn userdata openssl.ssl.context
function tls.server_context(certs, http2, on_handshake)
  local ctx = http_tls.new_server_context()
  assert(ctx:setPrivateKey(certs.key))
  assert(ctx:setCertificate(certs.cert))
  if http_tls.has_alpn then
    ctx:setAlpnSelect(function(s, protos)
      for _, p in ipairs(protos) do
        if p == "h2" and http2 and s:getVersion() >= ssl.TLS1_2_VERSION then return p end
      end
      for _, p in ipairs(protos) do
        if p == "http/1.1" then return p end
      end
      return nil
    end)
  end
  if ctx.setGroups then
    -- X25519 first: curl's and most clients' first key share, so no HelloRetryRequest
    ctx:setGroups("X25519:P-256:P-384:P-521")
  end
  if on_handshake then
    local seen = setmetatable({}, { __mode = "k" })
    ctx:setHostNameCallback(function(s)
      if not seen[s] then
        seen[s] = true
        on_handshake()
      end
      return true
    end)
  end
  return ctx
end

return tls
