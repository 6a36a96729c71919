--- Shell quoting for the commands that start the sandbox or run clients against it
-- (the sandbox itself, `bin/cxcloud`, the benchmark, the demo, the specs). Loads
-- nothing else: requiring it starts no server and needs no cqueues.
-- @module cxcloud.sandbox.shell

local shell = {}

--- Quotes `s` as one word for a POSIX shell (single quotes; an embedded `'` becomes `'\''`).
-- @param s a string, or any value (converted with `tostring`)
-- @treturn string
function shell.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

return shell
