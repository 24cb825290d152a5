-- bias_variance.lua -- the bias-variance trade-off of regularised least
-- squares: Bishop, Pattern Recognition and Machine Learning (2006), section
-- 3.2, figures 3.5 and 3.6.
--
-- L = 100 data sets of N = 25 points t = sin(2 pi x) + e, x ~ U(0, 1),
-- e ~ N(0, 0.3^2) (the `sinusoid` dataset). On each, a model of 24 Gaussian
-- basis functions (width s = 0.1, centres evenly spaced over [0, 1]) plus a
-- bias is fitted in closed form by ridge regression (the `lstsq` optimizer,
-- penalty lambda on every weight, bias included, as PRML eq. 3.28), for
-- ln lambda from -3 to 2 in steps of 0.2. Against 1000 test points it
-- computes, per lambda (columns ln_lambda, bias2, variance,
-- bias2_plus_variance, test_error):
--   bias2     the squared distance of the average fit from sin(2 pi x),
--   variance  the spread of the L fits around their average,
--   test_error  the mean squared error on noisy test targets, averaged
--               over the L fits (about bias2 + variance + 0.09, the noise).
-- What to see (figure 3.6): bias2 rises and variance falls as lambda grows;
-- their sum is smallest in between, near ln lambda = -0.3 in Bishop, and
-- the test error follows the sum, 0.09 above it.
--
--   lunet run scripts/bias_variance.lua [--quick] [--out FILE.csv] [--no_plot]
--
-- Writes FILE.csv (default results/bias_variance.csv) and FILE.png.
-- Takes about 2 s on 2 cores; --quick (L = 20, 11 values of lambda) 0.3 s.

local lunet = require "lunet"

local opt = lunet.options{ quick = false, out = "results/bias_variance.csv", no_plot = false }
local quick, out = opt.quick, opt.out
local L = quick and 20 or 100             -- data sets
local step = quick and 0.5 or 0.2         -- of ln lambda, over [-3, 2]

-- The test points: the same 1000 x with and without noise, so the second
-- gives the true function h(x) = sin(2 pi x) at each test point.
local noisy = lunet.dataset("sinusoid", { n = 1000, noise = 0.3, seed = 1000 })
local clean = lunet.dataset("sinusoid", { n = 1000, noise = 0, seed = 1000 })
local truth, targets = {}, {}
for i = 1, clean:size() do
  truth[i] = select(2, clean:sample(i))[1]
  targets[i] = select(2, noisy:sample(i))[1]
end

local sets = {}
for l = 1, L do sets[l] = lunet.dataset("sinusoid", { n = 25, noise = 0.3, seed = l }) end

-- One model, refitted from scratch for every data set and lambda: lstsq
-- overwrites the final dense layer; the basis layer has nothing to train.
local model = lunet.sequential{
  input = { 1 },
  lunet.layer("gaussian_basis", { centers = 24, lo = 0, hi = 1, s = 0.1 }),
  lunet.layer("dense", { out = 1 }),
}

os.remove(out)
local log = lunet.csv(out, { columns = { "ln_lambda", "bias2", "variance", "bias2_plus_variance", "test_error" } })
for k = 0, math.floor(5 / step + 0.5) do
  local ln_lambda = -3 + k * step
  local fit = lunet.optimizer("lstsq", { lambda = math.exp(ln_lambda), penalize_bias = true })
  local predictions = {}
  for l = 1, L do
    lunet.train{ model = model, data = sets[l], loss = lunet.loss("mse"), optimizer = fit, verbose = false }
    predictions[l] = model:predict(clean)
  end
  local bv = lunet.bias_variance{ predictions = predictions, truth = truth, targets = targets }
  log:write{ ln_lambda = ln_lambda, bias2 = bv.bias2, variance = bv.variance,
             bias2_plus_variance = bv.bias2 + bv.variance, test_error = bv.test_error }
  print(string.format("ln lambda %5.2f  bias^2 %.4f  variance %.4f  sum %.4f  test error %.4f",
                      ln_lambda, bv.bias2, bv.variance, bv.bias2 + bv.variance, bv.test_error))
end
log:close()

if opt.no_plot then return end -- e.g. without gnuplot
local png = lunet.plot{ csv = out, x = "ln_lambda", y = { "bias2", "variance", "bias2_plus_variance", "test_error" },
                        title = "Bias-variance decomposition (PRML fig. 3.6)", out = out:gsub("%.csv$", "") .. ".png" }
print("wrote " .. out .. " and " .. png)
