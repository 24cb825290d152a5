-- word2vec.lua -- word vectors by skip-gram and CBOW with negative sampling
-- (Mikolov et al. 2013; the course's word2vec section) on the default corpus,
-- the Jargon File (the text dataset's train split at word level: 90% of it,
-- 311,297 tokens, 5,538 of its 21,366 words seen at least 5 times).
--
-- For each method: 50 dimensions, window C = 5 (R drawn in 1..5 per word),
-- 5 noise words from count^0.75, subsampling t = 1e-3 (word2vec.c's keep
-- chance sqrt(t/f) + t/f), min_count 5, 10 epochs, the learning rate
-- decayed linearly from 0.025 (skip-gram) or 0.05 (CBOW). It prints and
-- logs:
--   - the 5 nearest neighbours (cosine) of a few words;
--   - an analogy score: 33 questions "a is to b as c is to d" whose words
--     the corpus holds at least 5 times (pronouns and determiners, plurals,
--     verb forms, ordinals, comparatives), answered by the word nearest to
--     b - a + c (a, b, c left out): how many come out first, and how many
--     in the first five;
--   - the PCA picture of singular and plural nouns (arrows from each
--     singular to its plural), as Mikolov's figure of countries and capitals.
-- What to see: neighbours that share contexts (he/she, Unix/BSD/ITS,
-- IBM/MIT/Sun, bug/feature); about a third of the analogies right in first
-- place (skip-gram 10, CBOW 11 of 33) and half in the first five (16, 19)
-- -- far from the paper's scores on 783M words, as a 1.6 MB corpus leaves
-- to expect (gensim 4.2 with the same settings: 8 and 10 right); plural
-- arrows that point roughly the same way.
--
--   lunet run scripts/word2vec.lua [--quick] [--method both|skipgram|cbow]
--                                  [--out FILE.csv] [--no_plot]
--
-- Writes FILE.csv (default results/word2vec.csv; a column `kind` tells the
-- rows apart: neighbor, analogy, pca) and FILE.png (drawn by gnuplot from
-- FILE.gp, written beside). About 11 s on 2 cores (one is used); --quick
-- (CBOW only, 8 epochs) 2 s.

local lunet = require "lunet"

local opt = lunet.options{ quick = false, out = "results/word2vec.csv", no_plot = false, method = "both",
                           file = "", epochs = 10, dim = 50, seed = 1 }
local methods = opt.method == "both" and { "skipgram", "cbow" } or { opt.method }
if opt.quick then methods, opt.epochs = { "cbow" }, 8 end

local data = lunet.dataset("text", { file = opt.file, level = "word", seq_len = 64, split = "train" })

-- a word's id, or nil when it is not one token of the vocabulary
local function id(word)
  local ids = data:encode(word)
  return #ids == 1 and data:decode(ids) == word and ids[1] or nil
end
local function words(ids)
  local out = {}
  for i, v in ipairs(ids) do out[i] = data:decode{ v } end
  return out
end

local probes = { "he", "two", "Unix", "IBM", "bug", "program", "hacker", "file" }
local analogies = { -- a : b :: c : d
  { "he", "she", "his", "her" }, { "he", "his", "she", "her" }, { "he", "him", "she", "her" },
  { "I", "my", "you", "your" }, { "I", "me", "he", "him" }, { "we", "our", "they", "their" },
  { "they", "them", "we", "us" }, { "you", "your", "we", "our" }, { "it", "its", "he", "his" },
  { "this", "these", "that", "those" },
  { "program", "programs", "file", "files" }, { "computer", "computers", "machine", "machines" },
  { "hacker", "hackers", "program", "programs" }, { "user", "users", "system", "systems" },
  { "word", "words", "program", "programs" }, { "bug", "bugs", "hack", "hacks" },
  { "user", "users", "program", "programs" }, { "game", "games", "program", "programs" },
  { "machine", "machines", "system", "systems" }, { "character", "characters", "word", "words" },
  { "line", "lines", "file", "files" },
  { "write", "writes", "read", "reads" }, { "do", "does", "have", "has" }, { "is", "was", "are", "were" },
  { "is", "are", "was", "were" }, { "run", "running", "write", "writing" }, { "say", "said", "use", "used" },
  { "one", "two", "first", "second" }, { "two", "three", "second", "third" }, { "one", "two", "three", "four" },
  { "good", "better", "bad", "worse" }, { "big", "bigger", "small", "smaller" }, { "small", "large", "little", "big" },
}
local pairs_pca = { { "program", "programs" }, { "file", "files" }, { "computer", "computers" }, { "user", "users" },
                    { "machine", "machines" }, { "hacker", "hackers" }, { "system", "systems" }, { "word", "words" } }

os.remove(opt.out)
local log = lunet.csv(opt.out, { columns = { "kind", "method", "word", "rank", "neighbor", "cosine", "question",
                                             "expected", "answer", "correct", "top5", "x", "y" } })
local scores = {}
local figure -- the first method's embeddings draw the picture
for _, method in ipairs(methods) do
  local e = lunet.word2vec{ data = data, method = method, dim = opt.dim, window = 5, negative = 5, subsample = 1e-3,
                            min_count = 5, epochs = opt.epochs, seed = opt.seed }
  local info = e:info()
  print(("%s: %d dimensions, %d words trained of %d, %d epochs in %.1f s (%.0f words/s), loss %.3f -> %.3f")
        :format(method, info.dim, info.trained, info.vocab, #info.loss, info.seconds, info.words_per_second,
                info.loss[1], info.loss[#info.loss]))
  local function known(w) return id(w) and e:trained(id(w)) end
  for _, w in ipairs(probes) do
    if not known(w) then goto next_probe end
    local near, cos = e:neighbors(id(w), 5)
    local names = words(near)
    print(("  %-8s %s"):format(w, table.concat(names, ", ")))
    for r = 1, #near do
      log:write{ kind = "neighbor", method = method, word = w, rank = r, neighbor = names[r], cosine = cos[r] }
    end
    ::next_probe::
  end
  local right, top5, asked = 0, 0, 0
  for _, q in ipairs(analogies) do
    if known(q[1]) and known(q[2]) and known(q[3]) and known(q[4]) then
      local a, b, c, d = id(q[1]), id(q[2]), id(q[3]), id(q[4])
      asked = asked + 1
      local best = e:analogy(b, a, c, 5) -- b - a + c
      local hit5 = false
      for _, v in ipairs(best) do hit5 = hit5 or v == d end
      right, top5 = right + (best[1] == d and 1 or 0), top5 + (hit5 and 1 or 0)
      log:write{ kind = "analogy", method = method, question = table.concat(q, " ", 1, 3), expected = q[4],
                 answer = data:decode{ best[1] }, correct = best[1] == d and 1 or 0, top5 = hit5 and 1 or 0 }
    end
  end
  scores[method] = { right = right, top5 = top5, asked = asked }
  print(("  analogies: %d of %d right, %d in the first five"):format(right, asked, top5))
  if not figure then
    local list = {}
    for _, p in ipairs(pairs_pca) do
      if known(p[1]) and known(p[2]) then list[#list + 1], list[#list + 2] = id(p[1]), id(p[2]) end
    end
    figure = { method = method, names = words(list), xy = #list > 0 and e:pca2(list) or {} }
    for i, p in ipairs(figure.xy) do
      log:write{ kind = "pca", method = method, word = figure.names[i], x = p[1], y = p[2] }
    end
  end
end
log:close()

if opt.no_plot then return end -- e.g. without gnuplot

-- The PCA picture: a labelled scatter with arrows, which `lunet plot` (lines
-- of means) does not draw; the gnuplot script is written beside the figure.
local png, gp = opt.out:gsub("%.csv$", "") .. ".png", opt.out:gsub("%.csv$", "") .. ".gp"
local f = assert(io.open(gp, "w"))
f:write("if (strstrt(' '.GPVAL_TERMINALS.' ', ' pngcairo ') > 0) {\n",
        "  set terminal pngcairo size 900,700 font 'Sans,11' noenhanced\n",
        "} else {\n  set terminal png size 900,700 noenhanced\n}\n",
        ("set output '%s'\n"):format(png:gsub("'", "''")),
        ("set title 'word2vec (%s, %d dimensions): PCA of singular and plural nouns'\n"):format(figure.method, opt.dim),
        "set key off\nset grid\nset xlabel 'first principal component'\nset ylabel 'second principal component'\n",
        "set offsets graph 0.08, graph 0.08, graph 0.08, graph 0.08\n$words << EOD\n")
for i, p in ipairs(figure.xy) do
  f:write(("%.6g %.6g \"%s\"\n"):format(p[1], p[2], figure.names[i]))
end
f:write("EOD\n$arrows << EOD\n")
for i = 1, #figure.xy, 2 do
  local s, p = figure.xy[i], figure.xy[i + 1]
  f:write(("%.6g %.6g %.6g %.6g\n"):format(s[1], s[2], p[1] - s[1], p[2] - s[2]))
end
f:write("EOD\n",
        "plot $arrows using 1:2:3:4 with vectors head filled lc rgb '#9db4d6' lw 1.5, \\\n",
        "     $words using 1:2 with points pt 7 ps 1.2 lc rgb '#2a4d8f', \\\n",
        "     $words using 1:2:3 with labels offset char 0.8, char 0.6 left\n")
f:close()
if not os.execute("command -v gnuplot >/dev/null 2>&1") then
  error("word2vec.lua: gnuplot not found: apt-get install gnuplot-nox, or run with --no_plot")
end
assert(os.execute(("gnuplot '%s'"):format(gp:gsub("'", "'\\''"))), "word2vec.lua: gnuplot failed on " .. gp)
print("wrote " .. opt.out .. " and " .. png)
