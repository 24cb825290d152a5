-- ngram_vs_neural.lua -- one perplexity table on one test split: unigram,
-- bigram and trigram models against a character-level LSTM (the course's
-- language-model lectures: n-gram models, smoothing, perplexity; its WSJ
-- table, unigram 962 > bigram 170 > trigram 109 on words, is the ordering
-- expected, at character level here).
--
-- Data: the Jargon File (Debian's jargon-text) at character level, windows
-- of T = 64 characters, split 90/5/5 by position. Every model is scored on
-- the same targets of the test split, each predicted from the characters
-- before it in its window (so the n-grams see at most 2 of them, the LSTM up
-- to 63). n-grams: counted on the train split's stream, Kneser-Ney
-- smoothing (interpolated, absolute discounting D = n1 / (n1 + 2 n2)), a
-- proper distribution over the vocabulary; also add-1 for comparison. The
-- LSTM: embedding (V, 32) -> lstm(128) -> linear(V), Adam 2e-3, batch 32,
-- clip 5, --epochs epochs (3).
-- Columns: model, smoothing, params (for an n-gram model, the distinct
-- 1- to n-grams it counted), test_perplexity.
-- What to see: each longer context lowers the perplexity, and the LSTM,
-- with the whole window as context, is lowest.
--
--   lunet run scripts/ngram_vs_neural.lua [--quick] [--out FILE.csv] [--epochs N]
--
-- Writes FILE.csv (default results/ngram_vs_neural.csv) and prints the
-- table. The full run takes about 5 minutes on 2 cores; --quick (the
-- first 60 kB of the text, T = 32, an LSTM of 32 units, 2 epochs) a few
-- seconds.

local lunet = require "lunet"
local corpus = require "corpus"

-- (--no_plot is taken, as by every script, though this one draws no figure)
local opt = lunet.options{ quick = false, out = "results/ngram_vs_neural.csv", epochs = 3, no_plot = false }
local quick, out = opt.quick, opt.out
local T = quick and 32 or 64
local hidden = quick and 32 or 128

os.remove(out)
local log = lunet.csv(out, { columns = { "model", "smoothing", "params", "test_perplexity" } })
local file = ""
if quick then -- the start of the text, in a file beside `out`
  file = corpus.head(out:gsub("%.csv$", "") .. "_text.txt", 60000, "ngram_vs_neural --quick")
end
local function text(split)
  return lunet.dataset("text", { file = file, level = "char", seq_len = T, split = split })
end
local train, valid, test = text("train"), text("valid"), text("test")
local V = train:vocab_size()

local rows = {}
local function report(model, smoothing, params, ppl)
  rows[#rows + 1] = { model, smoothing, params, ppl }
  log:write{ model = model, smoothing = smoothing, params = params, test_perplexity = ppl }
end

for order, name in ipairs{ "unigram", "bigram", "trigram" } do
  for _, smoothing in ipairs{ { kind = "kneser_ney" }, { kind = "add_k", k = 1 } } do
    if not (order == 1 and smoothing.kind == "kneser_ney") then -- a unigram has nothing to back off to
      local m = lunet.ngram{ order = order, data = train, smoothing = smoothing }
      local kind = smoothing.kind == "add_k" and "add-1" or "Kneser-Ney"
      local counted = 0
      for _, g in ipairs(m:info().grams) do counted = counted + g end
      report(name, kind, counted, m:perplexity(test))
    end
  end
end

local lstm = lunet.sequential{ seed = 1, lunet.layer("embedding", { vocab = V, dim = 32 }),
  lunet.layer("lstm", { hidden = hidden }), lunet.layer("linear", { out = V }) }
local loss = lunet.loss("cross_entropy")
lunet.train{ model = lstm, data = train, eval = { valid = valid }, loss = loss,
  optimizer = lunet.optimizer("adam", { lr = 2e-3 }), epochs = quick and 2 or opt.epochs, batch = 32, seed = 1,
  clip_norm = 5, verbose = not quick }
report(("LSTM (%d units)"):format(hidden), "-", lstm:param_count(), lstm:evaluate(test, loss).perplexity)
log:close()
if quick then os.remove(file) end

print(("%-16s %-11s %12s %16s"):format("model", "smoothing", "parameters", "test perplexity"))
for _, r in ipairs(rows) do print(("%-16s %-11s %12.0f %16.3f"):format(r[1], r[2], r[3], r[4])) end
print("wrote " .. out)
