-- corpus.lua -- what the text scripts share about the default corpus (the
-- Jargon File of Debian's jargon-text): its path, and for --quick runs its
-- first bytes in a file of their own. `local corpus = require "corpus"`.
local M = {}

M.path = "/usr/share/doc/jargon-text/jargon.txt.gz"

-- Writes the first `bytes` of the corpus to `file` and returns `file`;
-- raises naming the script when the corpus cannot be read.
function M.head(file, bytes, script)
  local pipe = assert(io.popen("zcat " .. M.path .. " 2>/dev/null | head -c " .. bytes))
  local text = pipe:read("a")
  pipe:close()
  assert(#text > 10000, script .. ": cannot read " .. M.path .. " (apt-get install jargon-text)")
  local f = assert(io.open(file, "w"))
  f:write(text)
  f:close()
  return file
end

return M
