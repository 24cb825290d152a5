-- lunet.bpe from Lua: the course's worked example (merges with their counts,
-- the vocabulary, "bug" as [b, ug], an unseen character as the unknown
-- symbol), ids from 1, exact round trips with both alphabets, save and load,
-- training from a file (plain and gzip), and errors that name the function.
local lunet = require "lunet"

local function errs(want, f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error containing: " .. want)
  assert(tostring(msg):find(want, 1, true), ("expected %q in: %s"):format(want, tostring(msg)))
end

-- The course: hug 10, pug 5, pun 12, bun 4, hugs 5.
local words = {}
for _, w in ipairs{ { "hug", 10 }, { "pug", 5 }, { "pun", 12 }, { "bun", 4 }, { "hugs", 5 } } do
  for _ = 1, w[2] do words[#words + 1] = w[1] end
end
local course = table.concat(words, " ")
local tok = lunet.bpe.train{ text = course, vocab = 12 }
assert(tok:base() == "chars")
assert(tok:vocab_size() == 12, "unknown, space, b g h n p s u, ug, un, hug")
local merges = tok:merges()
assert(#merges == 3)
local want = { { "u", "g", 20 }, { "u", "n", 16 }, { "h", "ug", 15 } }
for k, m in ipairs(want) do
  assert(merges[k][1] == m[1] and merges[k][2] == m[2] and merges[k].count == m[3],
         ("merge %d: %s + %s (%s), course %s + %s (%d)"):format(k, merges[k][1], merges[k][2],
                                                               merges[k].count, m[1], m[2], m[3]))
end
local all = {}
for id = 1, tok:vocab_size() do all[id] = id end
assert(table.concat(tok:tokens(all), ",") == "\u{FFFD}, ,b,g,h,n,p,s,u,ug,un,hug", table.concat(tok:tokens(all), ","))
assert(table.concat(tok:tokens(tok:encode("bug")), ",") == "b,ug")
local ids = tok:encode("bug")
assert(#ids == 2 and ids[1] == 3 and ids[2] == 10, "ids from 1: b is 3, ug is 10")
local x = tok:encode("hugx")
assert(#x == 2 and x[1] == 12 and x[2] == 1, "an unseen character is the unknown symbol, id 1")
assert(tok:decode(x) == "hug\u{FFFD}", "the unknown symbol decodes as U+FFFD")
assert(tostring(tok):find("12 symbols", 1, true))

-- Fewer merges: the vocabulary after the first one.
local one = lunet.bpe.train{ text = course, vocab = 10 }
assert(table.concat(one:tokens(one:encode("hugs pun")), ",") == "h,ug,s, ,p,u,n")

-- Round trips.
local text = ("naïve café  über\n\n日本語 🎉\tthe theory, then there.  "):rep(40)
local chars = lunet.bpe.train{ text = text, vocab = 45, base = "chars" }
for _, s in ipairs{ text, "", "   ", "\n\t \n", "日本 naïve", text:sub(1, 97) } do
  assert(chars:decode(chars:encode(s)) == s, ("chars round trip of %q"):format(s))
end
assert(#chars:encode("") == 0)
local bytes = lunet.bpe.train{ text = text, vocab = 280, base = "bytes" }
assert(bytes:base() == "bytes" and bytes:vocab_size() == 280)
local odd = "\xff\xfe\0\xc3( \xed\xa0\x80 ABC\r\n"
assert(bytes:decode(bytes:encode(odd)) == odd, "bytes: any input, invalid UTF-8 and NUL included")
assert(#bytes:encode("Q") == 1 and bytes:encode("Q")[1] == 82, "byte Q (81) is id 82")
assert(#bytes:encode(text) < 0.6 * #text, "24 merges shorten the training text by 40% or more")

-- Save and load.
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p '" .. dir .. "'")
local path = dir .. "/tok.txt"
chars:save(path)
local back = lunet.bpe.load(path)
assert(back:vocab_size() == chars:vocab_size() and back:base() == "chars")
assert(table.concat(back:encode(text), ",") == table.concat(chars:encode(text), ","))
local f = io.open(path, "rb")
local saved = f:read("a")
f:close()
assert(saved:find("lunet-bpe 1\nbase chars\nsymbols 45\n0 ", 1, true) == 1, saved:sub(1, 40))
f = io.open(path, "wb")
f:write(saved:sub(1, saved:find("\n", #saved // 2, true))) -- whole lines: cut short
f:close()
errs(path .. ":", lunet.bpe.load, path)
errs("ends before its last symbol", lunet.bpe.load, path)

-- Training from a file, plain and gzip.
f = io.open(dir .. "/corpus.txt", "wb")
f:write(text)
f:close()
local from_file = lunet.bpe.train{ file = dir .. "/corpus.txt", vocab = 45 }
assert(table.concat(from_file:encode(text), ",") == table.concat(chars:encode(text), ","))
if os.execute("gzip -k '" .. dir .. "/corpus.txt' 2>/dev/null") then
  local gz = lunet.bpe.train{ file = dir .. "/corpus.txt.gz", vocab = 45 }
  assert(table.concat(gz:encode(text), ",") == table.concat(chars:encode(text), ","), "gzip reads as its contents")
end

-- Errors name the function and what was expected.
errs("lunet.bpe.train: give one of text = STRING or file = PATH, not neither", lunet.bpe.train, { vocab = 10 })
errs("not both", lunet.bpe.train, { text = "a", file = "b", vocab = 10 })
errs("lunet.bpe.train: vocab = nil, expected", lunet.bpe.train, { text = "a" })
errs("expected vocab >= 256", lunet.bpe.train, { text = "a", vocab = 100, base = "bytes" })
errs("base = \"utf8\", expected \"chars\" or \"bytes\"", lunet.bpe.train, { text = "a", vocab = 10, base = "utf8" })
errs("unknown option 'vocabulary'", lunet.bpe.train, { text = "a", vocabulary = 10 })
errs("lunet.bpe.train: cannot open " .. dir .. "/absent.txt", lunet.bpe.train, { file = dir .. "/absent.txt", vocab = 10 })
errs("tok:decode: ids[2] is 13, expected a token id 1..12", tok.decode, tok, { 1, 13 })
errs("tok:tokens: ids[1] is 0", tok.tokens, tok, { 0 })
errs("tok:save: " .. dir .. "/no/such/dir/t.txt: cannot create", tok.save, tok, dir .. "/no/such/dir/t.txt")
errs("lunet.bpe.load: " .. dir .. "/absent.txt: cannot open it", lunet.bpe.load, dir .. "/absent.txt")

os.execute("rm -rf '" .. dir .. "'")
