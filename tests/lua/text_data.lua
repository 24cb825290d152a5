-- The text dataset: windows of token ids whose targets are the next tokens
-- (hand-checked), the 90/5/5 split by position, the vocabulary (order, cap,
-- <unk>), the word rule, streams for truncated BPTT, random digits (uniform,
-- seeded, perplexity 10), encode/decode, and errors that name the file,
-- the parameter and what was expected.
local lunet = require "lunet"

local files = {}
local function write(content)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  files[#files + 1] = path
  return path
end

local function same(a, b, what)
  assert(#a == #b, ("%s: %d values, expected %d"):format(what, #a, #b))
  for i = 1, #b do
    assert(a[i] == b[i], ("%s[%d] = %s, expected %s"):format(what, i, tostring(a[i]), tostring(b[i])))
  end
end

local fails = require("testlib").fails

local function text(params) return lunet.dataset("text", params) end

-- Windows by hand. 20 bytes: the train part is the first 18,
-- "abacabadabacabaeab": a 9, b 5, c 2, d 1, e 1; ids (from 1 in Lua) are
-- <unk> 1, then by falling count, ties in byte order: a 2, b 3, c 4, d 5, e 6.
local small = write("abacabadabacabaeabaf")
local ds = text{ file = small, seq_len = 4 }
assert(ds:vocab_size() == 6 and ds:classes() == 6, "vocab " .. ds:vocab_size())
same(ds:input_shape(), { 4 }, "input shape")
same(ds:target_shape(), { 4 }, "target shape")
assert(#ds == 4, "18 tokens hold 4 windows of 4 and their next token, got " .. #ds)
local x, y = ds:sample(1)
same(x, { 2, 3, 2, 4 }, "x of 'abac'")
same(y, { 3, 2, 4, 2 }, "y = the next tokens 'baca'")
x, y = ds:sample(4)
same(x, { 2, 3, 2, 6 }, "x of window 4, 'abae'")
same(y, { 3, 2, 6, 2 }, "y of window 4, 'baea'")
assert(ds:decode(x) == "abae" and ds:decode(y) == "baea")
local strided = text{ file = small, seq_len = 4, stride = 1 }
assert(#strided == 14, "stride 1: windows at 0..13, got " .. #strided)
same((strided:sample(3)), { 2, 4, 2, 3 }, "stride 1, window 3: 'acab'")
-- the test part is the last byte, "f", never seen in train: <unk>
fails({ "text", "test split", small, "holds 1 tokens", "seq_len = 4 needs at least 5" }, text,
  { file = small, seq_len = 4, split = "test" })
same(ds:encode("fab"), { 1, 2, 3 }, "an unseen character is <unk>")
assert(ds:decode({ 1, 2 }) == "\u{FFFD}a", "<unk> decodes as U+FFFD at char level")

-- The split by position: 90% / 5% / 5% of 1000 bytes. Train holds a, b and
-- c, valid 50 b's, test 50 c's: one window of 49 tokens (and the next)
-- covers each of them exactly, so a boundary off by one shows.
local split = write("abc" .. ("a"):rep(897) .. ("b"):rep(50) .. ("c"):rep(50))
local parts = {}
for _, name in ipairs{ "train", "valid", "test" } do
  parts[name] = text{ file = split, seq_len = 49, stride = 1, split = name }
end
assert(#parts.train == 851 and #parts.valid == 1 and #parts.test == 1,
  ("sizes %d %d %d"):format(#parts.train, #parts.valid, #parts.test))
x, y = parts.valid:sample(1)
assert(parts.valid:decode(x) == ("b"):rep(49) and parts.valid:decode(y) == ("b"):rep(49), "valid is bytes 900..949")
x, y = parts.test:sample(1)
assert(parts.test:decode(x) .. parts.test:decode(y):sub(-1) == ("c"):rep(50), "test is bytes 950..999")
x, y = parts.train:sample(851)
assert(parts.train:decode(y) == ("a"):rep(49), "train ends at byte 899")
assert(parts.train:vocab_size() == 4 and parts.test:vocab_size() == 4, "one vocabulary, from train")
same(parts.test:encode("abc"), parts.train:encode("abc"), "ids agree across splits")
fails({ "valid split", "holds 50 tokens", "seq_len = 50 needs at least 51" }, text,
  { file = split, seq_len = 50, split = "valid" })
-- a cut inside a character moves to the next one: "x" and ten 3-byte euro
-- signs (31 bytes) cut at byte 27, inside the ninth sign, so train keeps it
local euro = write("x" .. ("\u{20AC}"):rep(10))
x, y = text{ file = euro, seq_len = 9 }:sample(1)
assert(#x == 9 and #y == 9 and y[9] == y[8], "train holds x and nine whole signs")

-- Word level: the rule, the cap, <unk>. Train (the first 90%) holds the
-- sentence 9 times: the 3, sat 2, . 2, then cat, dog, mat, on, once each.
local line = "the cat sat on the mat . the dog sat .\n"
local words = write(line:rep(10))
local w = text{ file = words, level = "word", seq_len = 3, vocab = 4 }
assert(w:vocab_size() == 4, "vocab = 4 keeps <unk> and the 3 most frequent words")
same(w:encode("the cat sat ."), { 2, 1, 4, 3 }, "<unk> 1, the 2, '.' 3 (before 'sat' in byte order), sat 4")
assert(w:decode({ 2, 1, 4, 3 }) == "the <unk> sat .", "decode joins tokens with spaces")
same(w:encode("<unk> the"), { 1, 2 }, "'<unk>' in a text is the unknown token")
x, y = w:sample(1)
same(x, { 2, 1, 4 }, "the first window: the cat sat")
same(y, { 1, 4, 1 }, "its targets: cat sat on")
local all = text{ file = words, level = "word", seq_len = 3 }
assert(all:vocab_size() == 8, "vocab = 0 keeps every word of train and <unk>: " .. all:vocab_size())
local rule = "don't stop\u{2014}now, \u{201C}caf\u{E9}\u{201D} x\u{2019}s 4.4.7 (it)"
local r = text{ file = write((rule .. "\n"):rep(20)), level = "word", seq_len = 2 }
local ids = r:encode(rule)
assert(r:decode(ids) == "don't stop \u{2014} now , \u{201C} caf\u{E9} \u{201D} x\u{2019}s 4 . 4 . 7 ( it )",
  "words keep inner apostrophes and letters past ASCII; punctuation stands alone: " .. r:decode(ids))
same(r:encode(r:decode(ids)), ids, "ids -> text -> ids is exact at word level")
assert(r:decode(r:encode("don't  stop")) == "don't stop", "word level keeps the tokens, not the spacing")

-- Streams for truncated BPTT: 900 train digits in B = 4 streams of 225;
-- sample k is window (k-1)//4 of stream (k-1)%4, so row b of each batch of 4
-- continues row b of the batch before.
local B, T = 4, 5
local st = text{ digits = true, n = 1000, seq_len = T, streams = B }
local flat = text{ digits = true, n = 1000, seq_len = T, stride = 1 }
assert(#st == B * ((225 - T - 1) // T + 1), "44 windows per stream, got " .. #st)
for k = 1, #st - B do
  local x1, y1 = st:sample(k)
  local x2 = st:sample(k + B)
  for t = 1, T - 1 do assert(y1[t] == x1[t + 1], "y is x shifted by one") end
  assert(x2[1] == y1[T], ("sample %d continues sample %d"):format(k + B, k))
end
for b = 0, B - 1 do
  same((st:sample(b + 1)), (flat:sample(225 * b + 1)), "stream " .. b .. " starts at token " .. 225 * b)
end
fails({ "streams = 200", "streams of 4", "seq_len + 1 = 6" }, text, { digits = true, n = 1000, seq_len = 5, streams = 200 })

-- Random digits: exactly 10 symbols, uniform (chi-square, 9 degrees of
-- freedom, below its 0.1% point 27.88), so a unigram model's perplexity is
-- 10; the same seed gives the same stream, another seed another one.
local dg = text{ digits = true, n = 100000, seq_len = 1000 }
assert(dg:vocab_size() == 10 and dg:decode({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }) == "0123456789")
local count, total = {}, 0
for i = 1, 10 do count[i] = 0 end
for k = 1, #dg do
  for _, id in ipairs((dg:sample(k))) do count[id] = count[id] + 1 end
end
for i = 1, 10 do total = total + count[i] end
local chi2, entropy = 0, 0
for i = 1, 10 do
  chi2 = chi2 + (count[i] - total / 10) ^ 2 / (total / 10)
  entropy = entropy - count[i] / total * math.log(count[i] / total)
end
assert(total == 89000 and chi2 < 27.88, ("%d digits, chi-square %.2f"):format(total, chi2))
assert(math.abs(math.exp(entropy) - 10) < 0.01, "unigram perplexity " .. math.exp(entropy))
same((text{ digits = true, n = 1000, seq_len = 64 }:sample(3)), (text{ digits = true, n = 1000, seq_len = 64 }:sample(3)), "seed 1 twice")
local a, b = text{ digits = true, n = 1000, seq_len = 64, seed = 2 }:sample(3), text{ digits = true, n = 1000, seq_len = 64 }:sample(3)
assert(table.concat(a, ",") ~= table.concat(b, ","), "another seed, another stream")
fails({ "not a digit", "'x' at byte 1" }, dg.encode, dg, "1x")

-- Char level encode/decode: multi-byte UTF-8 (2, 3 and 4 bytes) round trips.
local utf = text{ file = write(("h\u{E9}llo w\u{F6}rld \u{2603} \u{1D11E}\n"):rep(10)), seq_len = 8 }
local s = "w\u{F6}rld \u{2603}\u{1D11E}h\u{E9}"
assert(#utf:encode(s) == 10, "one id per character")
assert(utf:decode(utf:encode(s)) == s, "decode(encode(s)) == s at char level")
fails({ "text: encode", "not UTF-8 at byte 2" }, utf.encode, utf, "ab\xff")
fails({ "dataset:decode", "ids[2] is 0", "1.." .. utf:vocab_size() }, utf.decode, utf, { 1, 0 })
fails({ "ids[1] is 99" }, utf.decode, utf, { 99 })

-- Byte-level BPE: any text, seen or not, round trips exactly.
local bpe = text{ file = words, level = "bpe", vocab = 260, seq_len = 4 }
assert(bpe:vocab_size() <= 260 and bpe:vocab_size() > 256, "bytes and some merges: " .. bpe:vocab_size())
local odd = "the mat \u{2603}\n\tzz"
assert(bpe:decode(bpe:encode(odd)) == odd, "bpe with bytes: decode(encode(s)) == s")
assert(#bpe:encode("the cat sat") < #"the cat sat", "merges make fewer tokens than bytes")

-- Errors name the file or parameter and what was expected.
fails({ "text", "is empty", "UTF-8" }, text, { file = write("") })
fails({ "text", "not UTF-8 at byte 1 (0xff)" }, text, { file = write("a\xffb") })
fails({ "text", "not UTF-8 at byte 1" }, text, { file = write("a\xffb"), level = "word" })
fails({ "cannot open file '/nonexistent/x.txt'", "No such file" }, text, { file = "/nonexistent/x.txt" })
fails({ "digits = true", "level = \"char\"" }, text, { digits = true, level = "word" })
fails({ "digits = true", "no file" }, text, { digits = true, file = small })
fails({ "vocab = 1", "<unk>" }, text, { file = words, level = "word", vocab = 1 })
fails({ "holds no words" }, text, { file = write(" \n\t \n"), level = "word" })
fails({ "level", "'sentence'" }, text, { file = small, level = "sentence" })
local sin = lunet.dataset("sinusoid", { n = 4 })
fails({ "vocab_size", "sinusoid", "no tokens" }, sin.vocab_size, sin)
fails({ "dataset sinusoid has no encode", "not text data" }, sin.encode, sin, "abc")
fails({ "has no decode" }, sin.decode, sin, { 1 })

-- The default corpus (Debian's jargon-text), when installed.
local jargon = io.open("/usr/share/doc/jargon-text/jargon.txt.gz", "rb")
if jargon then
  jargon:close()
  local j = text{ seq_len = 256 }
  assert(j:vocab_size() > 96 and j:vocab_size() < 300, "Jargon File: " .. j:vocab_size() .. " characters")
  assert(j:decode((j:sample(1))):find("The Jargon File", 1, true), "the corpus starts with its title")
end

for _, path in ipairs(files) do os.remove(path) end
