-- scripts/bpe.lua --quick: a row per alphabet and vocabulary size, with the
-- vocabulary asked for, merges = vocab - base alphabet, one id per byte
-- before any merge, fewer ids per character as the vocabulary grows, no
-- unknown symbol with bytes; the script itself asserts the round trip.
-- On the default corpus (Debian's jargon-text) when it is installed, else
-- on a made-up text given by --file.
local lunet = require "lunet"

local run_script = require("testlib").run_script

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p '" .. dir .. "'")
local out = dir .. "/bpe.csv"
local args = { "--quick", "--out", out, "--no_plot" }
local jargon = io.open("/usr/share/doc/jargon-text/jargon.txt.gz", "rb")
if jargon then
  jargon:close()
else
  -- Words of 1 to 4 syllables, word k about as often as 1 / k (Zipf).
  local syl = { "th", "e", "an", "in", "er", "on", "re", "at", "ou", "st", "ing", "al", "b", "k",
                "ment", "pro", "qu", "x", "y", "ze", "or", "is", "ly", "ed" }
  local parts, seed = {}, 1
  for i = 1, 80000 do
    seed = (seed * 1103515245 + 12345) % 2147483648
    local k = math.floor(math.exp(seed / 2147483648 * math.log(20000)))
    local w, h = {}, k * 7919
    for j = 1, 1 + h % 4 do w[j] = syl[(h // 24 ^ (j - 1)) % 24 // 1 + 1] end
    parts[i] = table.concat(w) .. (k % 11 == 0 and ".\n" or " ")
  end
  local f = io.open(dir .. "/corpus.txt", "wb")
  f:write(table.concat(parts))
  f:close()
  for _, a in ipairs{ "--file", dir .. "/corpus.txt" } do args[#args + 1] = a end
end
run_script("bpe", table.unpack(args))

local rows = lunet.read_csv(out)
assert(#rows == 4, "2 alphabets x 2 sizes, got " .. #rows)
local by = {}
for _, r in ipairs(rows) do
  by[r.base .. r.vocab] = r
  assert(r.tokens_per_char > 0 and r.whitespace_share > 0 and r.whitespace_share < 1)
end
local c256, c1000, b256, b1000 = by.chars256, by.chars1000, by.bytes256, by.bytes1000
assert(c256 and c1000 and b256 and b1000, "rows for vocab 256 and 1000 of both alphabets")
assert(b256.merges == 0 and b1000.merges == 744, "bytes: 256 base symbols, then one merge per symbol")
assert(c256.merges == c1000.merges - 744, "chars: the same base alphabet at both sizes")
assert(b256.tokens_per_char >= 1, "bytes without merges: at least one id per character")
assert(c1000.tokens_per_char < 0.9 * c256.tokens_per_char, "chars: 1000 symbols take 10% fewer ids than 256")
assert(b1000.tokens_per_char < 0.6 * b256.tokens_per_char, "bytes: merges at least 40% fewer ids")
assert(b256.unknown == 0 and b1000.unknown == 0, "bytes: nothing is unknown")
assert(math.abs(c1000.tokens_per_char - b1000.tokens_per_char) < 0.05,
       "the two alphabets end close at 1000 symbols (mostly ASCII text)")

os.execute("rm -rf '" .. dir .. "'")
