-- scripts/char_transformer.lua --quick asserts what its header claims: a
-- causal transformer and char_lm.lua's LSTM of about the same parameter
-- count (within 5%), both with falling validation perplexity, and a sample
-- per model and epoch that starts with the prompt.
local lunet = require "lunet"

if not io.open("/usr/share/doc/jargon-text/jargon.txt.gz") then
  print("script_char_transformer: jargon-text is not installed; skipped")
  return
end

local dir = os.tmpname()
os.remove(dir)
local out = dir .. "/char_transformer.csv"
require("testlib").run_script("char_transformer", "--quick", "--out", out, "--no_plot")
local by = {}
for _, r in ipairs(lunet.read_csv(out)) do
  by[r.model] = by[r.model] or {}
  by[r.model][r.epoch] = r
end
os.remove(out)
for _, name in ipairs{ "lstm", "transformer" } do
  local e1, e2 = by[name] and by[name][1], by[name] and by[name][2]
  assert(e1 and e2, "two epochs of " .. name)
  assert(e2.valid_perplexity < e1.valid_perplexity, ("%s: validation perplexity falls, %g -> %g"):format(
    name, e1.valid_perplexity, e2.valid_perplexity))
end
local a, b = by.lstm[1].params, by.transformer[1].params
assert(math.abs(a - b) / a < 0.05, ("parameter counts %d (LSTM) and %d (transformer) within 5%%"):format(a, b))
local samples = dir .. "/char_transformer_samples.txt"
local text = assert(io.open(samples)):read("a")
os.remove(samples)
os.remove(dir)
assert(select(2, text:gsub("== ", "")) == 4, "a sample per model and epoch")
assert(select(2, text:gsub("\nThe ", "")) == 4, "each sample starts with the prompt")
