-- scripts/masked_lm.lua --quick: BERT's masking (15% of the non-pad bytes
-- chosen, 80% of those [MASK], 10% a random byte), the masked-token loss
-- falls over pretraining, every encoder tensor (16) is copied into the
-- classifier, and both classifiers (from scratch, fine-tuned) train.
local lunet = require "lunet"
local t = require "testlib"

local dir = t.tmpdir()
local out = dir .. "/mlm.csv"
t.run_script("masked_lm", "--quick", "--out", out)

local r = assert(MASKED_LM, "masked_lm.lua left no MASKED_LM results")
local s = r.stats
local chosen, masked, random = s.chosen / s.positions, s.masked / s.chosen, s.random / s.chosen
assert(chosen > 0.13 and chosen < 0.17, "chosen fraction " .. chosen)
assert(masked > 0.75 and masked < 0.85, "[MASK] fraction " .. masked)
assert(random > 0.07 and random < 0.13, "random-byte fraction " .. random)
assert(r.pre_losses[2] < r.pre_losses[1], "the masked-token loss falls")
assert(r.copied == 16, "16 encoder tensors copied, got " .. r.copied)
local rows = lunet.read_csv(out)
assert(#rows == 6, "2 pretraining, 2 scratch and 2 fine-tuning epochs, got " .. #rows)
for _, row in ipairs(rows) do
  assert(row.valid_accuracy >= 0 and row.valid_accuracy <= 1, row.phase .. " accuracy " .. row.valid_accuracy)
end
assert(r.results.scratch.valid > 0 and r.results.finetuned.valid > 0)
os.execute("rm -rf '" .. dir .. "'")
