-- Token cross-entropy, perplexity and generation on a tiny language: the
-- stream a b c a b c ... is perfectly predictable from the current token, so
-- a bigram model (an embedding of width V read as next-token logits) drives
-- the perplexity to 1, and greedy generation continues the cycle. A uniform
-- model (all logits 0) has perplexity exactly V: exp(log V).
local lunet = require "lunet"

local V, T = 3, 6
local x, y = {}, {}
for s = 1, 12 do
  x[s], y[s] = {}, {}
  for t = 1, T do
    local id = (s + t - 2) % V + 1
    x[s][t], y[s][t] = id, id % V + 1
  end
end
local data = lunet.data{ x = x, y = y, tokens = V }
assert(data:classes() == V and data:vocab_size() == V, "tokens = V: classes and vocabulary")

local function bigram(seed)
  return lunet.sequential{ seed = seed, input = { T }, lunet.layer("embedding", { vocab = V, dim = V }) }
end
local loss = lunet.loss("cross_entropy")

-- uniform logits: loss log V per token, perplexity V, every token an error or not
local flat = bigram(1)
for _, p in ipairs(flat:parameters()) do
  local zeros = {}
  for i = 1, #p.values do zeros[i] = 0 end
  flat:set_parameter(p.name, zeros)
end
local e = flat:evaluate(data, loss)
assert(math.abs(e.loss - math.log(V)) < 1e-6, "uniform logits: loss " .. e.loss)
assert(math.abs(e.perplexity - V) < 1e-5, "uniform logits: perplexity " .. e.perplexity)

local m = bigram(2)
local r = lunet.train{ model = m, data = data, loss = loss, optimizer = lunet.optimizer("adam", { lr = 0.1 }),
  epochs = 60, batch = 4, verbose = false, eval = { valid = data } }
assert(r.status == "ok", r.message)
assert(r.valid.perplexity < 1.05 and r.valid.error == 0, ("trained: perplexity %g, error %g"):format(
  r.valid.perplexity, r.valid.error))
assert(math.abs(r.valid.perplexity - math.exp(r.valid.loss)) < 1e-9, "perplexity = exp(mean token loss)")

local seq = m:generate{ prompt = { 1 }, steps = 8, temperature = 0 }
assert(table.concat(seq, " ") == "1 2 3 1 2 3 1 2 3", "greedy continues the cycle: " .. table.concat(seq, " "))
local a = m:generate{ prompt = { 2, 3 }, steps = 20, temperature = 1.5, top_k = 2, seed = 7 }
local b = m:generate{ prompt = { 2, 3 }, steps = 20, temperature = 1.5, top_k = 2, seed = 7 }
assert(#a == 22 and table.concat(a, ",") == table.concat(b, ","), "the same seed samples the same ids")
for i = 1, #a do assert(a[i] >= 1 and a[i] <= V) end

-- ignore: a padding id left out of the loss
local padded = lunet.loss("cross_entropy", { ignore = 3 })
local ep = m:evaluate(data, padded)
assert(ep.loss < e.loss, "ignore works on token targets")
local ok, err = pcall(m.generate, m, { prompt = { 4 }, steps = 1 })
assert(not ok and err:find("vocabulary", 1, true), err)

-- the error rate counts the tokens the loss counts: a model that always
-- predicts id 1, on targets cycling 1 2 3, misses 2 of 3 tokens; with id 3
-- ignored it misses the 2s among the 1s and 2s: one of two
local always1 = bigram(3)
local p = always1:parameters()[1]
local w = {}
for i = 1, #p.values do w[i] = (i - 1) % V == 0 and 5 or 0 end
always1:set_parameter(p.name, w)
local plain, ignoring = always1:evaluate(data, loss), always1:evaluate(data, padded)
assert(math.abs(plain.error - 2 / 3) < 1e-12, "every token counted: error " .. plain.error)
assert(math.abs(ignoring.error - 1 / 2) < 1e-12, "ignored tokens left out of the error rate: " .. ignoring.error)

-- the mean loss is over counted tokens, whatever the batches: one row with
-- one counted token (target 1) and one with six (five 2s and a 1) give
-- (2 a + 5 b) / 7 with a = log(e^5 + 2) - 5, b = log(e^5 + 2), at batch 1
-- as at batch 2 (a mean of the batches' means would give (a + (a + 5 b) / 6) / 2)
local uneven = lunet.data{ x = { { 1, 2, 3, 1, 2, 3 }, { 1, 2, 3, 1, 2, 3 } },
  y = { { 1, 3, 3, 3, 3, 3 }, { 2, 2, 2, 2, 2, 1 } }, tokens = V }
local la, lb = math.log(math.exp(5) + 2) - 5, math.log(math.exp(5) + 2)
local want = (2 * la + 5 * lb) / 7
for _, batch in ipairs{ 1, 2 } do
  local u = always1:evaluate(uneven, padded, { batch = batch })
  assert(math.abs(u.loss - want) < 1e-5, ("batch %d: token-mean loss %.7f, expected %.7f"):format(batch, u.loss, want))
  assert(math.abs(u.error - 5 / 7) < 1e-12, "batch " .. batch .. ": error " .. u.error)
end
