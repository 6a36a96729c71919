--- Terminal and file helpers for the command line: is a stream a terminal, how wide
-- is it, a progress line on standard error, and output files that are written whole or
-- not at all.
-- @module cxcloud.cli.term

local M = {}

local format = string.format

--- Is file descriptor `fd` (1 = standard output, 2 = standard error) a terminal?
-- @tparam integer fd
-- @treturn boolean
function M.isatty(fd)
  local ok = os.execute(format("test -t %d", fd))
  return ok == true or ok == 0
end

--- The terminal's width in columns: $COLUMNS, else what `stty` says, else 80.
-- @treturn integer
function M.columns()
  local c = tonumber(os.getenv("COLUMNS") or "")
  if c and c > 0 then return math.tointeger(c) or 80 end
  local p = io.popen("stty size 2>/dev/null < /dev/tty")
  if p then
    local line = p:read("l")
    p:close()
    local cols = line and tonumber(line:match("^%d+%s+(%d+)"))
    if cols and cols > 0 then return math.tointeger(cols) end
  end
  return 80
end

--- "1:05" or "1:02:03" for a number of seconds.
-- @tparam number s
-- @treturn string
function M.duration(s)
  s = math.floor(s + 0.5)
  if s >= 3600 then return format("%d:%02d:%02d", s // 3600, s % 3600 // 60, s % 60) end
  return format("%d:%02d", s // 60, s % 60)
end

--- One progress line: "hardware  page 12/120  1,200/12,000 rows  13 calls  9.8 req/s  0:11 left".
-- @tparam string what
-- @tparam table p `{page, pages, rows, total, calls, requests_per_s, eta}` (sums for several
--   pulls; `calls`: API requests so far, refused and retried ones included)
-- @treturn string
function M.progress_text(what, p)
  local parts = { what, format("page %d/%d", p.page or 0, p.pages or 0) }
  parts[#parts + 1] = format("%d/%d rows", p.rows or 0, p.total or 0)
  if p.calls then parts[#parts + 1] = format(p.calls == 1 and "%d call" or "%d calls", p.calls) end
  if p.requests_per_s then parts[#parts + 1] = format("%.1f req/s", p.requests_per_s) end
  if p.eta then parts[#parts + 1] = M.duration(p.eta) .. " left" end
  return table.concat(parts, "  ")
end

--- A progress reporter on standard error. On a terminal the line is redrawn in place;
-- otherwise (forced with `--progress`) a line is printed at most once a second.
-- @tparam boolean tty
-- @tparam function clock monotonic seconds
-- @treturn table with `show(text)`, `clear()` (the line is blank until the next `show`: for
--   output to the same terminal) and `done()`
function M.progress(tty, clock)
  local last, shown = -math.huge, false
  local self = {}
  function self.show(text, final)
    local now = clock()
    if not final and now - last < (tty and 0.1 or 1) then return end
    last = now
    shown = true
    if tty then io.stderr:write("\r", text, "\27[K") else io.stderr:write(text, "\n") end
    io.stderr:flush()
  end
  function self.clear()
    if shown and tty then
      io.stderr:write("\r\27[K")
      io.stderr:flush()
      shown = false
    end
  end
  self.done = self.clear
  return self
end

-- -----------------------------------------------------------------------------
-- output files

local File = {}
File.__index = File

local function random_suffix()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(6) or tostring(os.time())
  if f then f:close() end
  return (bytes:gsub(".", function(c) return format("%02x", c:byte()) end))
end

--- An output file written through a temporary file in the same directory, renamed to
-- `path` by `commit` (so `path` is never seen half written); `abort` removes it.
-- With `append`, the temporary file starts as a copy of `path`'s current content.
-- @tparam string path
-- @tparam[opt] boolean append
-- @treturn table|nil file with `write`, `commit`, `abort`, `existing` (bytes copied)
-- @treturn string|nil message
function M.output_file(path, append)
  local dir, base = path:match("^(.*)/([^/]*)$")
  if not dir then dir, base = ".", path end
  if dir == "" then dir = "/" end
  if base == "" then return nil, format("'%s' is a directory, expected a file name", path) end
  local tmp = format("%s/.%s.%s.part", dir, base, random_suffix())
  local f, err = io.open(tmp, "wb")
  if not f then return nil, format("cannot write in '%s': %s", dir, tostring(err)) end
  local self = setmetatable({ path = path, tmp = tmp, f = f, existing = 0 }, File)
  if append then
    local src = io.open(path, "rb")
    if src then
      while true do
        local chunk = src:read(1 << 16)
        if not chunk then break end
        f:write(chunk)
        self.existing = self.existing + #chunk
      end
      src:close()
    end
  end
  return self
end

function File:write(...)
  local ok, err = self.f:write(...)
  if not ok then error(format("cannot write '%s': %s", self.tmp, tostring(err)), 0) end
  return self
end

function File:flush() return self.f:flush() end

--- Close and rename into place.
-- @treturn boolean|nil true, or nil, message
function File:commit()
  local ok, err = self.f:close()
  if not ok then os.remove(self.tmp) return nil, err end
  ok, err = os.rename(self.tmp, self.path)
  if not ok then os.remove(self.tmp) return nil, err end
  return true
end

--- Close and remove the temporary file; `path` is left as it was.
function File:abort()
  pcall(self.f.close, self.f)
  os.remove(self.tmp)
end

--- The first line of a file, or nil.
-- @tparam string path
-- @treturn string|nil
function M.first_line(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local line = f:read("l")
  f:close()
  return line
end

return M
