-- double_descent_rff.lua -- double descent of random Fourier features with
-- minimum-norm least squares: Belkin, Hsu, Ma & Mandal, "Reconciling modern
-- machine-learning practice and the classical bias-variance trade-off",
-- PNAS 2019, figure 2 (there on MNIST, n = 10^4), scaled to a laptop.
--
-- Model: x -> rff (p = `features` outputs: cos and sin of p/2 random
-- projections v.x, v ~ N(0, sigma^-2 I), sigma = 2) -> dense (10 outputs, no
-- bias), the dense layer fitted in closed form by `lstsq` with lambda = 0:
-- the least-squares fit while p < n, the interpolant of least norm once
-- p >= n. Data: the first n = 1000 Fashion-MNIST training images, 14x14
-- (downsample 2), one-hot targets; the 10,000 test images. p is swept from
-- 40 to 10,000 (10 n), densely around the interpolation threshold p = n;
-- 3 seeds of the frequencies. Columns: features, params, seed, train_mse,
-- test_mse, train_error, test_error, coef_norm (|W|, Frobenius).
-- What to see: the training error reaches 0 at p = n and stays there; test
-- error and test MSE first fall, then rise to a sharp peak at p = n, where
-- the coefficient norm peaks too (the interpolant must bend to fit every
-- point); past the threshold both descend again, and the test error of the
-- widest models ends below the best of the under-parametrised ones.
--
--   lunet run scripts/double_descent_rff.lua [--quick] [--out FILE.csv] [--no_plot] [--n N]
--
-- Writes FILE.csv (default results/double_descent_rff.csv), FILE.png (test
-- and training error) and FILE_mse.png (test MSE and coefficient norm, log
-- scale). Takes about 2 minutes on 2 cores (1 min 49 s measured); --quick
-- (n = 200, 1000 test images, 2 seeds) about 1 s.

local lunet = require "lunet"

local opt = lunet.options{ quick = false, out = "results/double_descent_rff.csv", n = 1000, no_plot = false }
local quick, out = opt.quick, opt.out
local n = quick and 200 or opt.n
local n_test = quick and 1000 or 10000
local seeds = quick and { 1, 2 } or { 1, 2, 3 }

-- Feature counts as multiples of n: sparse far from the threshold, dense near it.
local ratios = { 0.04, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.2,
                 1.4, 1.7, 2, 3, 4, 6, 8, 10 }
if quick then ratios = { 0.1, 0.3, 0.5, 0.7, 0.9, 1, 1.1, 1.3, 2, 4, 10 } end

local data = { flatten = true, downsample = 2, targets = "onehot" }
local function fashion(split, count)
  local params = { split = split, n = count }
  for k, v in pairs(data) do params[k] = v end
  return lunet.dataset("fashion_mnist", params)
end
local train, test = fashion("train", n), fashion("test", n_test)

-- |W|: the Frobenius norm of the trained weights (the frequencies are a
-- fixed buffer, not trainable, and do not count).
local function coef_norm(model)
  local sum = 0
  for _, p in ipairs(model:parameters()) do
    if p.trainable then
      for _, v in ipairs(p.values) do sum = sum + v * v end
    end
  end
  return math.sqrt(sum)
end

os.remove(out)
local log = lunet.csv(out, { columns = { "features", "params", "seed", "train_mse", "test_mse",
                                         "train_error", "test_error", "coef_norm" } })
local mse, min_norm = lunet.loss("mse"), lunet.optimizer("lstsq", { lambda = 0 })
for _, seed in ipairs(seeds) do
  for _, ratio in ipairs(ratios) do
    local features = 2 * math.floor(ratio * n / 2 + 0.5) -- cos/sin pairs: even
    local model = lunet.sequential{
      input = train:input_shape(),
      lunet.layer("rff", { features = features, sigma = 2, seed = seed }),
      lunet.layer("dense", { out = 10, bias = false }),
    }
    local r = lunet.train{ model = model, data = train, loss = mse, optimizer = min_norm,
                           eval = { test = test }, verbose = false }
    local row = { features = features, params = model:param_count(), seed = seed,
                  train_mse = r.train.loss, test_mse = r.test.loss, train_error = r.train.error,
                  test_error = r.test.error, coef_norm = coef_norm(model) }
    log:write(row)
    print(string.format("seed %d  features %5d  train mse %.2e err %.3f  test mse %.4f err %.3f  |W| %.1f  (%.1f s)",
                        seed, features, row.train_mse, row.train_error, row.test_mse, row.test_error,
                        row.coef_norm, r.seconds))
  end
end
log:close()

if opt.no_plot then return end -- e.g. without gnuplot
local base = out:gsub("%.csv$", "")
lunet.plot{ csv = out, x = "features", y = { "test_error", "train_error" }, out = base .. ".png",
            title = string.format("RFF + min-norm least squares, Fashion-MNIST n = %d: zero-one error", n) }
lunet.plot{ csv = out, x = "features", y = { "test_mse", "coef_norm" }, logy = true, out = base .. "_mse.png",
            title = string.format("RFF + min-norm least squares, n = %d: test MSE and |W|", n) }
print("wrote " .. out .. ", " .. base .. ".png and " .. base .. "_mse.png")
