--- Whole-suite leak check, run by `make test` after the specs: no client secret, no
-- access token that any sandbox issued and no proxy password a spec recorded
-- (helper.record_secret) during the run may appear in anything the suite
-- showed (errors, tostring, example output, libcurl traces) or printed.
-- Usage: lua5.4 spec/support/leakcheck.lua SECRETS_FILE OUTPUT_FILE...
local secrets_file = assert(arg[1], "usage: leakcheck.lua SECRETS_FILE OUTPUT_FILE...")

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local secrets = {}
for line in (read(secrets_file) or ""):gmatch("[^\n]+") do
  if #line >= 8 then secrets[line] = true end
end
local n = 0
for _ in pairs(secrets) do n = n + 1 end
if n == 0 then
  io.stderr:write("leakcheck: no secrets were recorded; is CXCLOUD_SECRETS_FILE set?\n")
  os.exit(1)
end

local leaks, bytes = 0, 0
for i = 2, #arg do
  local text = read(arg[i]) or ""
  bytes = bytes + #text
  for secret in pairs(secrets) do
    if text:find(secret, 1, true) then
      leaks = leaks + 1
      io.stderr:write(("leakcheck: a secret or token (%d chars) appears in %s\n"):format(#secret, arg[i]))
    end
  end
end
print(("leakcheck: %d secrets and tokens, %d bytes of output searched, %d leaks"):format(n, bytes, leaks))
os.exit(leaks == 0 and 0 or 1)
