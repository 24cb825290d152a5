-- lunet.ngram and lunet.word2vec from Lua: random digits have perplexity 10
-- (the course's example) at every order; a second-order source orders
-- unigram > bigram > trigram; a token dataset's windows give the same model
-- as its stream, and its perplexity is the mean over every target of every
-- window, recomputed here from m:prob; distributions sum to 1; sampling is
-- seeded; word2vec finds planted neighbours and analogies, saves the
-- word2vec text format, and is the same for the same seed; errors name the
-- function, the option and what was expected.
local lunet = require "lunet"

local function fails(needles, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error containing " .. needles[1])
  for _, s in ipairs(needles) do
    assert(tostring(err):find(s, 1, true), ("error %q lacks %q"):format(tostring(err), s))
  end
end

local function close(a, b, tol, what)
  assert(math.abs(a - b) <= tol, ("%s: %.12g, expected %.12g (within %g)"):format(what, a, b, tol))
end

-- Random digits, the text dataset's train and test splits.
local train = lunet.dataset("text", { digits = true, n = 200000, seq_len = 50, seed = 3 })
local test = lunet.dataset("text", { digits = true, n = 200000, seq_len = 50, seed = 3, split = "test" })
for order = 1, 3 do
  local m = lunet.ngram{ order = order, data = train }
  local ppl, nll, count = m:perplexity(test)
  assert(count == test:size() * 50, "every target of every window is scored")
  close(ppl, 10, 0.1, ("random digits, order %d: perplexity"):format(order))
  close(nll, math.log(ppl), 1e-12, "nll is ln perplexity")
end

-- A second-order source over 8 values v = id - 1: mostly
-- v_t = v_(t-1) + 1 + 4 [v_(t-2) >= 4] mod 8, else uniform; v_(t-1) alone
-- leaves two next values equally likely.
local function rule(a, b) return (b + (a > 4 and 4 or 0)) % 8 + 1 end
local seed = 12345
local function rnd(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed >> 8) % n
end
local ids = { 1, 2 }
for t = 3, 30000 do
  ids[t] = rnd(10) < 8 and rule(ids[t - 2], ids[t - 1]) or rnd(8) + 1
end
local head, tail = table.move(ids, 1, 27000, 1, {}), table.move(ids, 27001, 30000, 1, {})
local ppl = {}
for order = 1, 3 do
  local m = lunet.ngram{ order = order, ids = head, vocab = 8 }
  ppl[order] = m:perplexity(tail)
end
assert(ppl[1] > 7.5 and ppl[1] > 1.8 * ppl[2] and ppl[2] > 1.4 * ppl[3],
       ("unigram > bigram > trigram: %g %g %g"):format(ppl[1], ppl[2], ppl[3]))

-- Windows of a stream as lunet.data (stride = T): the same counts as the ids.
local T, xs, ys = 10, {}, {}
for i = 0, 2698 do
  xs[i + 1] = table.move(head, i * T + 1, i * T + T, 1, {})
  ys[i + 1] = table.move(head, i * T + 2, i * T + T + 1, 1, {})
end
local ds = lunet.data{ x = xs, y = ys, tokens = 8 }
local stream = table.move(head, 1, 2699 * T + 1, 1, {})
for _, smoothing in ipairs{ "kneser_ney", { kind = "add_k", k = 0.5 },
                            { kind = "interpolation", lambdas = { 0.1, 0.2, 0.3, 0.4 } } } do
  local from_ds = lunet.ngram{ order = 3, data = ds, smoothing = smoothing }
  local from_ids = lunet.ngram{ order = 3, ids = stream, vocab = 8, smoothing = smoothing }
  assert(from_ds:info().tokens == #stream, "the stream behind the windows")
  for _, ctx in ipairs{ {}, { 3 }, { 1, 2 }, { 8, 8 }, { 5, 6, 7 } } do
    local p, q = from_ds:distribution(ctx), from_ids:distribution(ctx)
    local sum = 0
    for w = 1, 8 do
      assert(p[w] == q[w] and p[w] > 0 and p[w] == from_ds:prob(ctx, w))
      sum = sum + p[w]
    end
    close(sum, 1, 1e-9, "sum of a distribution")
  end
  -- perplexity over windows: each target after the ids before it in its window
  local nll = 0
  for i = 1, 50 do
    for t = 1, T do
      nll = nll - math.log(from_ds:prob(table.move(xs[i], 1, t, 1, {}), ys[i][t]))
    end
  end
  local few = lunet.data{ x = table.move(xs, 1, 50, 1, {}), y = table.move(ys, 1, 50, 1, {}), tokens = 8 }
  local p, mean = from_ds:perplexity(few)
  close(mean, nll / (50 * T), 1e-12, "mean nll over windows")
  close(p, math.exp(nll / (50 * T)), 1e-9, "perplexity over windows")
end
-- overlapping windows (stride 1) are not one stream
local ox, oy = {}, {}
for i = 1, 20 do ox[i], oy[i] = table.move(head, i, i + T - 1, 1, {}), table.move(head, i + 1, i + T, 1, {}) end
local overlapping = lunet.data{ x = ox, y = oy, tokens = 8 }
fails({ "lunet.ngram", "not consecutive windows", "sample 2", "stride = seq_len" }, lunet.ngram,
  { order = 2, data = overlapping })

-- Sampling: seeded, prompt kept, ids in range.
local m = lunet.ngram{ order = 3, ids = head, vocab = 8 }
local a, b = m:sample{ prompt = { 1, 2 }, steps = 200, seed = 4 }, m:sample{ prompt = { 1, 2 }, steps = 200, seed = 4 }
local c = m:sample{ prompt = { 1, 2 }, steps = 200, seed = 5 }
assert(#a == 202 and a[1] == 1 and a[2] == 2)
assert(#m:sample{ steps = 5 } == 5, "no prompt: from the unigram level on")
local same, follows = true, 0
for i = 1, #a do
  same = same and a[i] == b[i]
  assert(math.type(a[i]) == "integer" and a[i] >= 1 and a[i] <= 8)
  if i > 2 and a[i] == rule(a[i - 2], a[i - 1]) then follows = follows + 1 end
end
assert(same, "the same seed draws the same ids")
assert(table.concat(a, ",") ~= table.concat(c, ","), "another seed, other ids")
assert(follows > 0.7 * 200, ("samples follow the source's rule: %d of 200"):format(follows))

-- Errors.
fails({ "lunet.ngram", "order must be 1, 2 or 3" }, lunet.ngram, { order = 4, ids = head, vocab = 8 })
fails({ "lunet.ngram", "vocab = V" }, lunet.ngram, { order = 2, ids = head })
fails({ "lunet.ngram", "ids[3]", "expected a token id 1..2" }, lunet.ngram, { order = 2, ids = { 1, 2, 3 }, vocab = 2 })
fails({ "lunet.ngram", "smoothing kind", "backoff", "kneser_ney" }, lunet.ngram,
  { order = 2, ids = head, vocab = 8, smoothing = "backoff" })
fails({ "lunet.ngram", "lambdas = { uniform, unigram, bigram }" }, lunet.ngram,
  { order = 2, ids = head, vocab = 8, smoothing = { kind = "interpolation", lambdas = { 0.5, 0.5 } } })
fails({ "lunet.ngram", "unknown option 'oder'" }, lunet.ngram, { oder = 2, ids = head, vocab = 8 })
fails({ "ngram:perplexity", "vocabulary of 10, the model 8" }, m.perplexity, m, test)
fails({ "ngram:prob", "the next id", "1..8" }, m.prob, m, { 1 }, 9)

-- word2vec: words 2p - 1 and 2p (p = 1..10) share their contexts (marker
-- 20 + p on both sides, a noise word 31..40): each is the other's nearest.
local words = {}
for i = 1, 8000 do
  local p = rnd(10) + 1
  words[#words + 1] = 20 + p
  words[#words + 1] = 2 * p - 1 + rnd(2)
  words[#words + 1] = 20 + p
  words[#words + 1] = 31 + rnd(10)
end
local opts = { ids = words, vocab = 40, dim = 16, window = 2, epochs = 3, subsample = 0, min_count = 1, seed = 1 }
local e = lunet.word2vec(opts)
for w = 1, 20 do
  local near, cos = e:neighbors(w, 3)
  local partner = w % 2 == 1 and w + 1 or w - 1
  assert(near[1] == partner, ("nearest to %d is %d, expected %d"):format(w, near[1], partner))
  assert(#near == 3 and cos[1] >= cos[2] and cos[2] >= cos[3])
  close(cos[1], e:similarity(w, partner), 1e-6, "neighbors' cosine is similarity")
end
local info = e:info()
assert(info.vocab == 40 and info.dim == 16 and info.trained == 40 and info.tokens == #words)
assert(info.words == 3 * #words, "no subsampling: every word, every epoch")
assert(#info.loss == 3 and info.loss[3] < info.loss[1] and info.words_per_second > 0)
local again = lunet.word2vec(opts)
local v, w2 = e:vector(7), again:vector(7)
assert(#v == 16)
for d = 1, 16 do assert(v[d] == w2[d], "the same seed gives the same vectors") end
-- analogy: a - b + c leaves out a, b and c
local best = e:analogy(1, 2, 4, 3)
for _, id in ipairs(best) do assert(id ~= 1 and id ~= 2 and id ~= 4) end
-- pca2: one point per id, centred
local xy = e:pca2{ 1, 2, 3, 4, 5, 6 }
local sx, sy = 0, 0
for _, p in ipairs(xy) do sx, sy = sx + p[1], sy + p[2] end
assert(#xy == 6 and #xy[1] == 2)
close(sx, 0, 1e-9, "PCA coordinates are centred (x)")
close(sy, 0, 1e-9, "PCA coordinates are centred (y)")
-- the word2vec text format, with names
local names = {}
for i = 1, 40 do names[i] = "w" .. i end
names[3] = "two words" -- a blank: written as its id
local path = os.tmpname()
e:save(path, names)
local f = assert(io.open(path))
assert(f:read("l") == "40 16", "header: words and dimensions")
local lines = {}
for line in f:lines() do lines[#lines + 1] = line end
f:close()
os.remove(path)
assert(#lines == 40 and lines[1]:match("^w1 ") and lines[3]:match("^3 "))
local first = {}
for x in lines[1]:gmatch("%S+") do first[#first + 1] = x end
local as_float = string.unpack("f", string.pack("f", tonumber(first[2])))
assert(#first == 17 and as_float == e:vector(1)[1], "a value reads back to the same float")
-- CBOW runs too and finds the same partners
local cb = lunet.word2vec{ ids = words, vocab = 40, dim = 16, window = 2, epochs = 3, subsample = 0, min_count = 1,
                           method = "cbow" }
assert(cb:neighbors(5, 1)[1] == 6)

fails({ "lunet.word2vec", "method", "skipgram" }, lunet.word2vec, { ids = words, vocab = 40, method = "glove" })
fails({ "word2vec", "window = 0, expected 1 to 1000" }, lunet.word2vec, { ids = words, vocab = 40, window = 0 })
local rare = lunet.word2vec{ ids = { 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 3 }, vocab = 3, dim = 4, subsample = 0 }
fails({ "embeddings:neighbors", "word 3", "min_count = 5" }, rare.neighbors, rare, 3)
