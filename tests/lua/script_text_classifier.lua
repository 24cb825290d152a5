-- scripts/text_classifier.lua --quick: both poolings train on the fortunes
-- (the training loss falls over its 2 epochs, accuracies are fractions, the
-- majority baseline is that of the test split), and attention pooling's
-- weights over a test text are a softmax over its bytes: they sum to 1 and
-- the pads after the text get none (the key-padding mask at work).
local lunet = require "lunet"
local t = require "testlib"

local dir = t.tmpdir()
local out = dir .. "/tc.csv"
local plotted = t.run_script("text_classifier", "--quick", "--out", out)

local r = assert(TEXT_CLASSIFIER, "text_classifier.lua left no TEXT_CLASSIFIER results")
assert(r.baseline > 0.25 and r.baseline < 0.5, "majority baseline " .. r.baseline)
local rows = lunet.read_csv(out)
assert(#rows == 4, "2 poolings x 2 epochs in the CSV, got " .. #rows)
for i, row in ipairs(rows) do
  for _, c in ipairs{ "train_accuracy", "valid_accuracy", "test_accuracy" } do
    assert(row[c] >= 0 and row[c] <= 1, c .. " " .. row[c])
  end
  if row.epoch == 2 then
    assert(row.train_loss < rows[i - 1].train_loss, row.pooling .. ": the training loss falls")
  end
end
assert(rows[1].pooling == "mean_pool" and rows[3].pooling == "attention_pool")
assert(r.attention_pool.params == r.mean_pool.params + 18 * 16, "attention pooling adds W (16, 16), b and u_w (16)")

assert(#r.examples == 4, "one example per class")
for _, e in ipairs(r.examples) do
  local sum = 0
  for t = 1, r.T do
    if t > #e.text then assert(e.weights[t] == 0, ("a pad (byte %d of '%s') has weight %g"):format(t, e.text, e.weights[t])) end
    sum = sum + e.weights[t]
  end
  assert(math.abs(sum - 1) < 1e-5, "weights sum to " .. sum)
end
if plotted then
  for _, f in ipairs{ dir .. "/tc.png", dir .. "/tc_weights.png" } do
    assert(io.open(f), f .. " was not drawn")
  end
end
os.execute("rm -rf '" .. dir .. "'")
