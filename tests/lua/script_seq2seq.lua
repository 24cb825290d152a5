-- scripts/seq2seq.lua --quick: the encoder-decoder reverses held-out digit
-- strings under greedy decoding (measured: 96.5-100% exact over seeds 1-6,
-- asserted >= 90%), from near chance before training (epoch 0 of its CSV);
-- its cross-attention weights are rows of a softmax (mean over heads) that
-- put most weight on the anti-diagonal, output t reading source T+1-t.
local lunet = require "lunet"
local run_script = require("testlib").run_script

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p '" .. dir .. "'")
local out = dir .. "/s2s.csv"
local plotted = run_script("seq2seq", "--quick", "--out", out)

local r = assert(SEQ2SEQ, "seq2seq.lua left no SEQ2SEQ results")
assert(r.exact >= 0.9, ("held-out exact-sequence accuracy %.3f, expected >= 0.9"):format(r.exact))
assert(r.token >= 0.97, ("held-out per-token accuracy %.4f, expected >= 0.97"):format(r.token))

local rows = lunet.read_csv(out)
assert(#rows == 4 and rows[1].epoch == 0 and rows[4].epoch == 3, "epochs 0..3 in the CSV")
assert(rows[1].greedy_token < 0.3 and rows[1].greedy_exact < 0.01,
       "before training the greedy outputs are near chance: per token " .. rows[1].greedy_token)
assert(rows[4].greedy_exact == r.exact, "the CSV's last row is the reported accuracy")
assert(rows[4].train_loss < rows[2].train_loss, "the training loss falls")

local T, anti = #r.alignment, 0
assert(T == 8, "an (8, 8) alignment")
for t = 1, T do
  local sum = 0
  for s = 1, T do sum = sum + r.alignment[t][s] end
  assert(math.abs(sum - 1) < 1e-5, ("alignment row %d sums to %g, expected 1 (softmax)"):format(t, sum))
  anti = anti + r.alignment[t][T + 1 - t]
end
assert(anti / T > 0.5, ("mean weight on the anti-diagonal %.3f, expected > 0.5 (uniform: 1/8)"):format(anti / T))
assert(r.peaks >= 6, r.peaks .. " of 8 rows peak on the anti-diagonal, expected >= 6")

if plotted then
  for _, f in ipairs{ dir .. "/s2s.png", dir .. "/s2s_alignment.png" } do
    local h = assert(io.open(f, "rb"), "no figure " .. f)
    assert(h:seek("end") > 1000, f .. " is nearly empty")
    h:close()
  end
end
SEQ2SEQ = nil
os.execute("rm -rf '" .. dir .. "'")
