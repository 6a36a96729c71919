--- The REPL's history, kept across sessions in `$XDG_STATE_HOME/cxcloud/repl_history`
-- (`~/.local/state/cxcloud/repl_history` by default): one entry a line (a backslash written
-- `\\`, a newline of a multi-line entry `\n`), the last `MAX` entries, the file created
-- with mode 0600 in a directory of mode 0700. An entry that looks like it assigns a secret
-- (`client_secret = "..."`, `password=`, `Bearer ...`) is kept for the session only. A
-- directory that cannot be written costs the history, nothing else.
-- @module cxcloud.cli.repl.history

local shell_quote = require("cxcloud.shell").quote

local M = {}

--- Entries kept in the file.
M.MAX = 1000

--- The history file's path: `$XDG_STATE_HOME/cxcloud/repl_history`, or under
-- `$HOME/.local/state` when XDG_STATE_HOME is unset or not absolute (nil without HOME).
-- @tparam[opt] function getenv (default os.getenv)
-- @treturn string|nil
function M.path(getenv)
  getenv = getenv or os.getenv
  local base = getenv("XDG_STATE_HOME")
  if not base or base:sub(1, 1) ~= "/" then
    local home = getenv("HOME")
    if not home or home == "" then return nil end
    base = home .. "/.local/state"
  end
  return base .. "/cxcloud/repl_history"
end

-- words that name a secret, followed by an assignment (`=`, `:`), or a bearer token
local SECRET = { "secret", "passw", "token", "api_?key", "apikey", "credential", "authorization" }

--- Does `entry` look like it holds a secret (kept out of the file)?
-- @tparam string entry
-- @treturn boolean
function M.secret_looking(entry)
  local s = entry:lower()
  if s:find("bearer%s+[%w%-%._~+/]+") then return true end
  for _, word in ipairs(SECRET) do
    if s:find(word .. "[%w_]*[\"'%]]?%s*[=:][^=]") or s:find(word .. "[%w_]*[\"'%]]?%s*[=:]$") then
      return true
    end
  end
  return false
end

local function encode(entry)
  return (entry:gsub("\\", "\\\\"):gsub("\n", "\\n"))
end

local function decode(line)
  return (line:gsub("\\(.)", function(c) return c == "n" and "\n" or c end))
end

local History = {}
History.__index = History

-- a file created with mode 0600 (and its directory with 0700) when missing
local function create_private(path)
  local dir = path:match("^(.*)/[^/]*$")
  return os.execute("umask 077 && mkdir -p " .. shell_quote(dir) .. " 2>/dev/null && : >> "
    .. shell_quote(path) .. " 2>/dev/null")
end

--- Open the history: read the file's entries (the last `max`), rewriting the file when it
-- holds more. Never fails: `h.problem` says why the file is not used.
-- @tparam[opt] string path (default `M.path()`; false: no file)
-- @tparam[opt] integer max (default `M.MAX`)
-- @treturn table history with `entries`, `add(entry)`, `problem`
function M.open(path, max)
  if path == nil then path = M.path() end
  local self = setmetatable({ entries = {}, path = path or nil, max = max or M.MAX }, History)
  if not path then
    self.problem = path == false and nil or "no HOME or XDG_STATE_HOME to keep it in"
    return self
  end
  local f = io.open(path, "rb")
  if not f then
    create_private(path)
    f = io.open(path, "rb")
  end
  if f then
    -- (a directory opens, then fails to read: no history, no error)
    pcall(function()
      for line in f:lines() do
        if line ~= "" then self.entries[#self.entries + 1] = decode(line) end
      end
    end)
    f:close()
  end
  local n = #self.entries
  if n > self.max then
    local keep = {}
    for i = n - self.max + 1, n do keep[#keep + 1] = self.entries[i] end
    self.entries = keep
    self:_rewrite()
  end
  local a, err = io.open(path, "ab")
  if not a then
    self.problem = tostring(err)
    self.path = nil
  else
    a:close()
  end
  return self
end

-- the kept entries into a new private file, renamed over the old one
function History:_rewrite()
  local tmp = self.path .. ".new"
  if not create_private(tmp) then return end
  local f = io.open(tmp, "wb")
  if not f then return end
  local lines = {}
  for i, e in ipairs(self.entries) do lines[i] = encode(e) .. "\n" end
  local ok = f:write(table.concat(lines))
  ok = f:close() and ok
  if ok then os.rename(tmp, self.path) else os.remove(tmp) end
end

--- Add an entry: to the session's list, and to the file unless it looks like it holds a
-- secret. Blank entries and a repeat of the last one are not added.
-- @tparam string entry
-- @treturn boolean whether it was added to the session's list
function History:add(entry)
  if not entry:find("%S") or entry == self.entries[#self.entries] then return false end
  self.entries[#self.entries + 1] = entry
  if self.path and not M.secret_looking(entry) then
    local f = io.open(self.path, "ab")
    if f then
      f:write(encode(entry), "\n")
      f:close()
    end
  end
  return true
end

return M
