-- bpe.lua -- byte-pair encoding (Sennrich et al. 2015) on the default
-- corpus, the Jargon File of Debian's jargon-text (1.7 MB of English), as
-- the course's tokenization lecture describes it: words (here: runs of
-- non-space, and runs of space, so that nothing is lost) split into base
-- symbols, then the most frequent adjacent pair merged into a new symbol,
-- again and again until the vocabulary has the size asked for. Two base
-- alphabets, as in the lecture: the characters seen in training plus an
-- unknown symbol (GPT's version) and the 256 bytes (GPT-2's: any input
-- encodes, nothing is unknown).
--
-- It trains on the first 90% of the text (the text dataset's train split)
-- and, on the last 10%, held out, reports for each vocabulary size and
-- alphabet (columns base, vocab, merges, tokens_per_char, whitespace_share,
-- unknown, train_seconds):
--   tokens_per_char   ids per character of the held-out text: 1 for the
--                     characters alone, falling as merges join frequent
--                     pieces into words;
--   whitespace_share  the share of those ids that are white space (a space
--                     is never merged into a word here, unlike GPT-2's);
--   unknown           held-out characters never seen in training (chars only).
-- It prints the first merges learned, a sentence as tokens, and checks
-- decode(encode(text)) == text on the held-out part (exact with bytes;
-- with chars, exact unless an unknown character occurs).
--
--   lunet run scripts/bpe.lua [--quick] [--out FILE.csv] [--no_plot] [--file PATH]
--
-- --file: any UTF-8 text (plain or .gz) instead of the Jargon File.
-- Writes FILE.csv (default results/bpe.csv) and FILE.png (tokens per
-- character against the vocabulary size). Takes about 3 s; --quick (the
-- first 400 KB, two sizes) under a second.

local lunet = require "lunet"
local corpus = require "corpus"

local opt = lunet.options{ quick = false, out = "results/bpe.csv", no_plot = false, file = "" }
-- The text dataset's default corpus (plugins/datasets/text.c, DEFAULT_CORPUS).
local path = opt.file ~= "" and opt.file or corpus.path
local sizes = opt.quick and { 256, 1000 } or { 256, 512, 1000, 2000, 4000, 8000 }

-- The file's text; a .gz file through gzip, as the text dataset reads it.
local function read_text(p)
  local f = p:match("%.gz$") and io.popen("gzip -dc '" .. p:gsub("'", "'\\''") .. "' 2>/dev/null")
            or io.open(p, "rb")
  local s = f and f:read("a")
  if f then f:close() end
  if not s or #s == 0 then
    error(("bpe.lua: cannot read %s (apt-get install jargon-text, or give --file PATH)"):format(p))
  end
  return s
end

local text = read_text(path)
if opt.quick then text = text:sub(1, 400000) end
-- Cut at 90%, moved forward to the start of a character (not a UTF-8 continuation byte).
local cut = math.floor(#text * 0.9)
while cut < #text and text:byte(cut + 1) >= 0x80 and text:byte(cut + 1) < 0xC0 do cut = cut + 1 end
local train, held = text:sub(1, cut), text:sub(cut + 1)
local chars = utf8.len(held) or #held
print(("%s: %d bytes, train %d, held out %d (%d characters)"):format(path, #text, #train, #held, chars))

-- A symbol for printing: a space as U+2423, a newline as \n, and the bytes of
-- a piece that is not whole UTF-8 characters as \xHH.
local function show(piece)
  piece = piece:gsub(" ", "\u{2423}"):gsub("\n", "\\n"):gsub("\t", "\\t")
  if utf8.len(piece) then return piece end
  return (piece:gsub("[\x80-\xff]", function(c) return ("\\x%02x"):format(c:byte()) end))
end

local out = opt.out
os.remove(out)
local log = lunet.csv(out, { columns = { "base", "vocab", "merges", "tokens_per_char", "whitespace_share",
                                         "unknown", "train_seconds" } })
local last = {}
print(("%-6s %6s %6s %12s %11s %8s %8s"):format("base", "vocab", "merges", "tokens/char", "whitespace",
                                                "unknown", "train s"))
for _, base in ipairs{ "chars", "bytes" } do
  for _, vocab in ipairs(sizes) do
    local t0 = lunet.clock()
    local tok = lunet.bpe.train{ text = train, vocab = vocab, base = base }
    local seconds = lunet.clock() - t0
    local ids = tok:encode(held)
    local unknown, spaces = 0, 0
    for _, piece in ipairs(tok:tokens(ids)) do
      if piece:find("^%s+$") then spaces = spaces + 1 end
    end
    if base == "chars" then
      for _, id in ipairs(ids) do if id == 1 then unknown = unknown + 1 end end
    end
    local merges = #tok:merges()
    log:write{ base = base, vocab = tok:vocab_size(), merges = merges, tokens_per_char = #ids / chars,
               whitespace_share = spaces / #ids, unknown = unknown, train_seconds = seconds }
    print(("%-6s %6d %6d %12.4f %11.3f %8d %8.3f"):format(base, tok:vocab_size(), merges, #ids / chars,
                                                        spaces / #ids, unknown, seconds))
    last[base] = { tok = tok, ids = ids, unknown = unknown }
  end
end
log:close()

for _, base in ipairs{ "chars", "bytes" } do
  local tok = last[base].tok
  local first = {}
  for k, m in ipairs(tok:merges()) do
    if k > 12 then break end
    first[#first + 1] = ("%s+%s (%d)"):format(show(m[1]), show(m[2]), m.count)
  end
  print(("first merges, %s: %s"):format(base, table.concat(first, ", ")))
end

local sentence = "The hacker wrote a kludge, then grokked the bogus frobnicator."
print("as tokens (bytes, " .. last.bytes.tok:vocab_size() .. " symbols): "
      .. table.concat(last.bytes.tok:tokens(last.bytes.tok:encode(sentence)), "|"))

-- The round trip on the held-out text.
for _, base in ipairs{ "chars", "bytes" } do
  local back = last[base].tok:decode(last[base].ids)
  local exact = back == held
  print(("round trip, %s: decode(encode(held out)) %s the held-out text (%d unknown)"):format(
    base, exact and "==" or "~=", last[base].unknown))
  assert(exact or last[base].unknown > 0, "bpe.lua: the round trip lost text without an unknown symbol")
end

if opt.no_plot then return end -- e.g. without gnuplot
local png = lunet.plot{ csv = out, x = "vocab", y = "tokens_per_char", group = "base", logx = true,
                        title = "BPE: tokens per character of held-out text", out = out:gsub("%.csv$", "") .. ".png" }
print("wrote " .. out .. " and " .. png)
