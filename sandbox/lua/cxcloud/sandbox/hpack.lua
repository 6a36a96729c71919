--- The HPACK encoder of the sandbox's HTTP/2 connections (works around a lua-http bug).
--
-- lua-http 0.4 (http/hpack.lua, `encode_integer`) writes an integer equal to 2^N - 1
-- for an N-bit prefix as the full prefix alone, without the 0x00 octet that RFC 7541
-- section 5.1 requires after a full prefix. The peer's decoder then takes the next octet
-- (the first of a string length or of the following field) as a continuation of the
-- integer and fails with COMPRESSION_ERROR, a connection error: the client sends GOAWAY
-- and drops the connection with every stream on it. With the sandbox's response headers
-- this happened on the second response of every HTTP/2 connection: the first response
-- adds content-type, date, server, x-mashery-message-id and content-length to the
-- dynamic table, and the second refers to the x-mashery-message-id name at dynamic index
-- 63, which a literal with incremental indexing encodes with a 6-bit prefix (0x7f and no
-- 0x00). curl reported "Connection died, retrying a fresh connect" and libcurl re-sent the
-- requests in flight on a new connection (one TLS connection per request or so, and bursts
-- of re-sent requests). The same bug hits an indexed field at index 127 and a string of
-- exactly 127 octets (7-bit prefix), and a table size update to 31 (5-bit prefix).
--
-- `install` makes every server-side `http.h2_connection` of this process encode its
-- header blocks here instead. This encoder does not use the dynamic table: each field is
-- a static-table index (`:status` values of the static table), or a literal "without
-- indexing" (or "never indexed" when lua-http's headers flag it) whose name is a static
-- index when the static table has it. Nothing is ever inserted, so the peer's decoder
-- table stays empty and consistent. Huffman coding is not used. Decoding (requests) stays
-- lua-http's, which is correct.
--
-- The object implements the methods lua-http 0.4 calls on `connection.encoding_context`
-- (http/h2_stream.lua): encode_headers, render_data, clear_data,
-- set_max_dynamic_table_size and encode_max_size.
-- @module cxcloud.sandbox.hpack

local schar, unpack, concat = string.char, table.unpack, table.concat

local hpack = {}

--- Encodes integer `n` with an N-bit prefix (RFC 7541 section 5.1) in an octet whose
-- other bits are `flags`.
-- @tparam integer n >= 0
-- @tparam integer bits prefix length, 1..8
-- @tparam integer flags the high bits of the first octet
-- @treturn string
function hpack.integer(n, bits, flags)
  local max = (1 << bits) - 1
  if n < max then return schar(flags | n) end
  local out = { flags | max }
  n = n - max
  while n >= 128 do
    out[#out + 1] = (n & 127) | 128
    n = n >> 7
  end
  out[#out + 1] = n
  return schar(unpack(out))
end

--- A string literal without Huffman coding (RFC 7541 section 5.2).
-- @tparam string s
-- @treturn string
function hpack.string(s)
  return hpack.integer(#s, 7, 0) .. s
end

-- RFC 7541 appendix A: the static table's names (index = position)
local STATIC_NAMES = {
  ":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme", ":status",
  ":status", ":status", ":status", ":status", ":status", ":status", "accept-charset",
  "accept-encoding", "accept-language", "accept-ranges", "accept",
  "access-control-allow-origin", "age", "allow", "authorization", "cache-control",
  "content-disposition", "content-encoding", "content-language", "content-length",
  "content-location", "content-range", "content-type", "cookie", "date", "etag", "expect",
  "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
  "if-unmodified-since", "last-modified", "link", "location", "max-forwards",
  "proxy-authenticate", "proxy-authorization", "range", "referer", "refresh",
  "retry-after", "server", "set-cookie", "strict-transport-security", "transfer-encoding",
  "user-agent", "vary", "via", "www-authenticate",
}
local NAME_INDEX = {}
for i = #STATIC_NAMES, 1, -1 do NAME_INDEX[STATIC_NAMES[i]] = i end -- first index wins
-- static entries with a value that a server sends
local STATUS_INDEX = { ["200"] = 8, ["204"] = 9, ["206"] = 10, ["304"] = 11, ["400"] = 12,
  ["404"] = 13, ["500"] = 14 }

--- The header-block encoding of one field.
-- @tparam string name lower case
-- @tparam string value
-- @tparam[opt] boolean never_index "never indexed" representation (sensitive values)
-- @treturn string
function hpack.field(name, value, never_index)
  if name == ":status" and STATUS_INDEX[value] then
    return hpack.integer(STATUS_INDEX[value], 7, 0x80) -- indexed field
  end
  local flags = never_index and 0x10 or 0x00
  local index = NAME_INDEX[name]
  if index then
    return hpack.integer(index, 4, flags) .. hpack.string(value)
  end
  return schar(flags) .. hpack.string(name) .. hpack.string(value)
end

local Encoder = {}
Encoder.__index = Encoder
Encoder.__name = "cxcloud.sandbox.hpack"

--- A new encoding context (what lua-http keeps in `connection.encoding_context`).
-- @treturn table
function hpack.encoder()
  return setmetatable({ data = {}, sizes = nil }, Encoder)
end

--- Appends the fields of an `http.headers` object to the pending header block.
function Encoder:encode_headers(headers)
  local sizes = self.sizes
  if sizes then
    -- RFC 7541 4.2: after changes of the maximum between two header blocks, the smallest
    -- and then the final size (the table itself is always empty here)
    local smallest, final = math.huge, sizes[#sizes]
    for _, s in ipairs(sizes) do if s < smallest then smallest = s end end
    local data = self.data
    table.insert(data, 1, hpack.integer(final, 5, 0x20))
    if smallest < final then table.insert(data, 1, hpack.integer(smallest, 5, 0x20)) end
    self.sizes = nil
  end
  for name, value, never_index in headers:each() do
    self.data[#self.data + 1] = hpack.field(name, value, never_index)
  end
  return true
end

--- The pending header block.
-- @treturn string
function Encoder:render_data()
  return concat(self.data)
end

function Encoder:clear_data()
  self.data = {}
  return true
end

-- The peer's SETTINGS_HEADER_TABLE_SIZE: nothing to do, the table is never used.
function Encoder.set_max_dynamic_table_size()
  return true
end

--- Schedules a dynamic table size update at the start of the next header block.
function Encoder:encode_max_size(n)
  self.sizes = self.sizes or {}
  self.sizes[#self.sizes + 1] = n
  return true
end

local installed = false

--- Makes every server-side HTTP/2 connection created from now on in this process use
-- this encoder. Idempotent. Client connections are left alone.
function hpack.install()
  if installed then return end
  installed = true
  local h2_connection = require "http.h2_connection"
  local new = h2_connection.new
  h2_connection.new = function(socket, conn_type, ...)
    local conn, err, errno = new(socket, conn_type, ...)
    if conn and conn_type == "server" then conn.encoding_context = hpack.encoder() end
    return conn, err, errno
  end
end

return hpack
