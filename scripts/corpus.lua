-- corpus.lua -- what the text scripts share about the default corpus (the
-- Jargon File of Debian's jargon-text): its path, and for --quick runs its
-- first bytes in a file of their own. `local corpus = require "corpus"`.
local lunet = require "lunet"
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

-- The character-level train and valid splits in windows of T of `file`
-- (--file; "" for the default corpus), and the file they come from. With
-- quick and no file, the corpus's first 60,000 bytes in a file of their own
-- beside `out`, which the caller removes when it is done.
function M.char_splits(file, T, quick, out, script)
  if quick and file == "" then
    file = M.head(out:gsub("%.csv$", "") .. "_text.txt", 60000, script .. " --quick")
  end
  local function split(name)
    return lunet.dataset("text", { file = file, level = "char", seq_len = T, split = name })
  end
  return split("train"), split("valid"), file
end

return M
