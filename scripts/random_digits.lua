-- random_digits.lua -- the perplexity of random digits (the course's
-- example for reading perplexity as a branching factor): a stream of
-- uniformly random decimal digits cannot be predicted better than 1 in 10,
-- so the best model's perplexity is exactly 10, and no model, however
-- large, goes below it on held-out digits.
--
-- Data: the text dataset with digits = true: 200,000 digits drawn from a
-- seed, windows of 32, split 90/5/5. Models: a unigram count model
-- (lunet.ngram, add-1), a trigram (Kneser-Ney), and a small LSTM
-- (embedding (10, 8) -> lstm(32) -> linear(10)) trained for 3 epochs.
-- Columns: model, test_perplexity, relative_error (|ppl - 10| / 10).
-- What to see: all three within about 1% of 10 on the test split; the
-- LSTM's training perplexity creeps below 10 only by memorising its own
-- training digits, never on held-out ones.
--
--   lunet run scripts/random_digits.lua [--quick] [--out FILE.csv]
--
-- Writes FILE.csv (default results/random_digits.csv). Takes about 3 s
-- on 2 cores; --quick (50,000 digits, 1 epoch) under a second.

local lunet = require "lunet"

-- (--no_plot is taken, as by every script, though this one draws no figure)
local opt = lunet.options{ quick = false, out = "results/random_digits.csv", no_plot = false }
local n = opt.quick and 50000 or 200000
local function digits(split)
  return lunet.dataset("text", { digits = true, n = n, seed = 7, seq_len = 32, split = split })
end
local train, valid, test = digits("train"), digits("valid"), digits("test")
assert(train:vocab_size() == 10, "ten symbols")

os.remove(opt.out)
local log = lunet.csv(opt.out, { columns = { "model", "test_perplexity", "relative_error" } })
local function report(model, ppl)
  log:write{ model = model, test_perplexity = ppl, relative_error = math.abs(ppl - 10) / 10 }
  print(("%-8s test perplexity %.4f  (%.2f%% from 10)"):format(model, ppl, 100 * math.abs(ppl - 10) / 10))
end

report("unigram", lunet.ngram{ order = 1, data = train, smoothing = { kind = "add_k", k = 1 } }:perplexity(test))
report("trigram", lunet.ngram{ order = 3, data = train, smoothing = { kind = "kneser_ney" } }:perplexity(test))
local lstm = lunet.sequential{ seed = 1, lunet.layer("embedding", { vocab = 10, dim = 8 }),
  lunet.layer("lstm", { hidden = 32 }), lunet.layer("linear", { out = 10 }) }
local loss = lunet.loss("cross_entropy")
local r = lunet.train{ model = lstm, data = train, eval = { valid = valid }, loss = loss,
  optimizer = lunet.optimizer("adam", { lr = 3e-3 }), epochs = opt.quick and 1 or 3, batch = 64, seed = 1,
  verbose = false }
print(("LSTM     train perplexity %.4f, valid %.4f"):format(r.train.perplexity, r.valid.perplexity))
report("LSTM", lstm:evaluate(test, loss).perplexity)
log:close()
print("wrote " .. opt.out)
