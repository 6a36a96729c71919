--- Shell quoting, for the commands that the command line, the sandbox, the examples, the
-- benchmark and the specs build. Loads nothing else.
-- @module cxcloud.shell

local shell = {}

--- Quotes `s` as one word for a POSIX shell (single quotes; an embedded `'` becomes `'\''`).
-- @param s a string, or any value (converted with `tostring`)
-- @treturn string
function shell.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

return shell
