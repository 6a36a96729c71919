--- The CX Cloud API v2 operations as the sandbox serves them, derived from
-- `cxcloud.operations` (the one description of the API; the sandbox uses nothing else of
-- the client but its shell quoting).
--
-- `API_HOST` and `API_PREFIX` (the base URL's host and path), `TOKEN_HOST` and `TOKEN_PATH`
-- (the token endpoint's): where the real API is, which the sandbox answers for.
--
-- One entry per operation, in the order of `cxcloud.operations`: `name` (the client's
-- method name), `path` (under /cs/api/v2), `scope`, `params` (filter parameter name ->
-- kind: the API's parameters besides page, rows, sort and fields; `customerId` only
-- where it filters), `fields` (`{name, kind}` in the order the sandbox writes them),
-- `field_names` and `kind` (field name -> kind), `key` (the natural key's fields, as in
-- `cxcloud.operations`).
--
-- scope (sandbox behaviour; the operations table only says whether customerId is
-- required):
--   "list"      customer-details: customerId is an optional filter; lists the
--               customers the credentials are entitled to.
--   "customer"  customerId is required and must be entitled.
--   "catalogue" the bulletin operations: customerId is optional (required when the
--               option `bulletins_require_customer` is set); the catalogue is global.
--
-- kinds: "string"; "id" (an integer ID: a JSON number, or a JSON string when the
-- option `id_type = "string"`; 20-22 digits when `big_ids = true`). A field is an "id"
-- when the operation's parameter of that name is an "id", or, when the operation has
-- no such parameter, when another operation's parameter of that name is (coverage
-- rows carry `neInstanceId`, a filter of the inventory operations only).
--
-- Filter parameters that are not item fields (e.g. `hostname` on field-notices) filter
-- on the device the row belongs to.
-- @module cxcloud.sandbox.ops

local operations = require "cxcloud.operations"

-- How each operation's rows relate to customers, where "customerId is optional" does
-- not tell (operations with a required customerId are per customer).
local SCOPE = { customers = "list" }

-- parameter name -> "id", for parameters that are integer IDs in some operation
local id_params = {}
for _, op in ipairs(operations) do
  for _, p in ipairs(op.params) do
    if p[2] == "id" then id_params[p[1]] = "id" end
  end
end

local ops = { by_name = {}, by_path = {} }

ops.API_HOST, ops.API_PREFIX = operations.BASE_URL:match("^https://([^/]+)(/.*)$")
ops.TOKEN_HOST, ops.TOKEN_PATH = operations.TOKEN_URL:match("^https://([^/]+)(/.*)$")

for i, api in ipairs(operations) do
  local op = {
    name = api.name, path = api.path,
    scope = SCOPE[api.name] or (api.customer_id == "required" and "customer" or "catalogue"),
    params = {}, fields = {}, field_names = {}, kind = {}, key = api.key,
  }
  for _, p in ipairs(api.params) do
    if p[1] ~= "customerId" or op.scope == "list" then op.params[p[1]] = p[2] end
  end
  for n, name in ipairs(api.fields) do
    local kind = op.params[name] or id_params[name] or "string"
    op.fields[n], op.field_names[n], op.kind[name] = { name, kind }, name, kind
  end
  ops[i] = op
  ops.by_name[op.name] = op
  ops.by_path[op.path] = op
end

--- The operation names, comma-separated (for messages).
-- @treturn string
function ops.names()
  local t = {}
  for _, op in ipairs(ops) do t[#t + 1] = op.name end
  return table.concat(t, ", ")
end

return ops
