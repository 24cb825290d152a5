-- scripts/double_descent_rff.lua --quick (n = 200) shows Belkin et al.'s
-- double descent: zero training error from features = n on; test MSE and
-- coefficient norm peak near features = n; the widest model's test MSE is
-- far below the peak.
local lunet = require "lunet"

local run_script = require("testlib").run_script

local dir = os.tmpname()
os.remove(dir)
local out = dir .. "/rff.csv"
run_script("double_descent_rff", "--quick", "--out", out)
local n = 200

-- mean over the seeds, per feature count
local by, widths = {}, {}
for _, r in ipairs(lunet.read_csv(out)) do
  local m = by[r.features]
  if not m then
    m = { features = r.features, count = 0, train_error = 0, train_mse = 0, test_mse = 0, coef_norm = 0 }
    by[r.features] = m
    widths[#widths + 1] = r.features
  end
  assert(r.params == 10 * r.features, "params counts the 10 x features weights")
  m.count = m.count + 1
  for _, c in ipairs{ "train_error", "train_mse", "test_mse", "coef_norm" } do m[c] = m[c] + r[c] end
end
table.sort(widths)
local mean = {}
for i, f in ipairs(widths) do
  local m = by[f]
  for _, c in ipairs{ "train_error", "train_mse", "test_mse", "coef_norm" } do m[c] = m[c] / m.count end
  mean[i] = m
end
assert(#mean >= 8 and mean[1].features < n / 2 and mean[#mean].features >= 5 * n)

local peak_mse, peak_norm = mean[1], mean[1]
for _, m in ipairs(mean) do
  if m.features >= n then
    assert(m.train_error == 0 and m.train_mse < 1e-6,
           ("features %d >= n: training error %g, mse %g"):format(m.features, m.train_error, m.train_mse))
  end
  if m.test_mse > peak_mse.test_mse then peak_mse = m end
  if m.coef_norm > peak_norm.coef_norm then peak_norm = m end
end
for what, m in pairs{ ["test MSE"] = peak_mse, ["coefficient norm"] = peak_norm } do
  assert(m.features >= 0.8 * n and m.features <= 1.25 * n,
         ("the %s peaks at features = %d, expected near n = %d"):format(what, m.features, n))
end
local last = mean[#mean]
assert(last.test_mse < peak_mse.test_mse / 10,
       ("widest test MSE %g is not far below the peak %g"):format(last.test_mse, peak_mse.test_mse))
assert(last.test_mse < mean[2].test_mse * 1.5)

for _, f in ipairs{ out, dir .. "/rff.png", dir .. "/rff_mse.png" } do os.remove(f) end
os.remove(dir)
