-- scripts/bias_variance.lua --quick shows the signature of PRML figure 3.6:
-- bias^2 rises and variance falls with lambda (up to the noise of 20 data
-- sets), and bias^2 + variance is smallest inside the lambda range, next
-- to the smallest test error.
local lunet = require "lunet"

local run_script = require("testlib").run_script

local dir = os.tmpname()
os.remove(dir)
local out = dir .. "/bias_variance.csv"
run_script("bias_variance", "--quick", "--out", out)
local rows = lunet.read_csv(out)
assert(#rows == 11, "11 values of lambda, got " .. #rows)

local top_bias, top_var = 0, 0
for _, r in ipairs(rows) do
  top_bias, top_var = math.max(top_bias, r.bias2), math.max(top_var, r.variance)
  assert(math.abs(r.bias2 + r.variance - r.bias2_plus_variance) < 1e-12)
end
for k = 2, #rows do
  local a, b = rows[k - 1], rows[k]
  assert(b.ln_lambda > a.ln_lambda)
  assert(b.bias2 >= a.bias2 - 0.05 * top_bias, ("bias2 falls at ln lambda %g"):format(b.ln_lambda))
  assert(b.variance <= a.variance + 0.05 * top_var, ("variance rises at ln lambda %g"):format(b.ln_lambda))
end
assert(rows[#rows].bias2 > 5 * rows[1].bias2, "bias2 should grow several-fold over the range")
assert(rows[1].variance > 2 * rows[#rows].variance, "variance should shrink several-fold over the range")

local function argmin(col)
  local best = 1
  for k = 2, #rows do if rows[k][col] < rows[best][col] then best = k end end
  return best
end
local k_sum, k_test = argmin("bias2_plus_variance"), argmin("test_error")
assert(k_sum > 1 and k_sum < #rows, "the minimum of bias2 + variance is at an end of the range")
assert(math.abs(rows[k_sum].ln_lambda - rows[k_test].ln_lambda) <= 1.0,
       ("minima of bias2 + variance (ln lambda %g) and test error (%g) are far apart"):format(
         rows[k_sum].ln_lambda, rows[k_test].ln_lambda))

os.remove(out)
os.remove(dir .. "/bias_variance.png")
os.remove(dir)
