-- The --quick runs of the sequence scripts assert what their headers claim:
-- char_lm: three cells of about equal size, validation perplexity falling,
-- samples decoded; ngram_vs_neural: each longer n-gram context lowers the
-- test perplexity (Kneser-Ney); random_digits: every model within 1% of 10;
-- vanishing_gradients: the tanh RNN's gradient vanishes over the window
-- while the trained gated cells keep orders of magnitude more of theirs,
-- and the scaled RNN's explodes.
local lunet = require "lunet"

if not io.open("/usr/share/doc/jargon-text/jargon.txt.gz") then
  print("script_sequences: jargon-text is not installed; only random_digits runs")
end
local corpus = io.open("/usr/share/doc/jargon-text/jargon.txt.gz") ~= nil

local run_script = require("testlib").run_script

local dir = os.tmpname()
os.remove(dir)
local function rows_of(name, ...)
  local out = dir .. "/" .. name .. ".csv"
  run_script(name, "--quick", "--out", out, ...)
  local rows = lunet.read_csv(out)
  os.remove(out)
  return rows, out
end

local digits = rows_of("random_digits")
assert(#digits == 3)
for _, r in ipairs(digits) do
  assert(r.relative_error < 0.01, ("%s: test perplexity %g is not within 1%% of 10"):format(r.model, r.test_perplexity))
end

if not corpus then return end

local lm, out = rows_of("char_lm", "--no_plot")
local by = {}
for _, r in ipairs(lm) do
  by[r.model] = by[r.model] or {}
  by[r.model][r.epoch] = r
end
for _, cell in ipairs{ "rnn", "gru", "lstm" } do
  local e1, e2 = by[cell][1], by[cell][2]
  assert(e1 and e2, "two epochs of " .. cell)
  assert(e2.valid_perplexity < e1.valid_perplexity, cell .. ": validation perplexity falls")
  assert(math.abs(e1.params - by.lstm[1].params) / by.lstm[1].params < 0.02, cell .. ": about the LSTM's size")
end
local samples = out:gsub("%.csv$", "") .. "_samples.txt"
local text = assert(io.open(samples)):read("a")
assert(select(2, text:gsub("== ", "")) == 6 and text:find("The ", 1, true), "a sample per model and epoch")
os.remove(samples)

local table_rows = rows_of("ngram_vs_neural")
local kn = {}
for _, r in ipairs(table_rows) do
  if r.smoothing == "Kneser-Ney" or r.model == "unigram" then kn[r.model] = r.test_perplexity end
end
assert(kn.unigram > kn.bigram and kn.bigram > kn.trigram, ("unigram %g > bigram %g > trigram %g"):format(
  kn.unigram, kn.bigram, kn.trigram))

local vg = rows_of("vanishing_gradients", "--no_plot")
local far = {}
local deepest = 0
for _, r in ipairs(vg) do if r.distance > deepest then deepest = r.distance end end
for _, r in ipairs(vg) do if r.distance == deepest then far[r.curve] = r.relative end end
assert(far["rnn init"] < 1e-2, "the tanh RNN's gradient vanishes: " .. far["rnn init"])
assert(far["lstm trained"] > 10 * far["rnn trained"] and far["gru trained"] > 10 * far["rnn trained"],
  "gated cells keep more of the gradient after training")
assert(far["rnn x4 init"] > 1, "the scaled RNN's gradient grows with distance: " .. far["rnn x4 init"])
