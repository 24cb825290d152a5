-- double_descent_samples.lua -- sample-wise double descent ("more data can
-- hurt"): Nakkiran, Kaplun, Bansal, Yang, Barak & Sutskever, "Deep Double
-- Descent", ICLR 2020, section 7 and figure 11 (there transformers on
-- translation; their "more data hurts" also holds for linear models),
-- with the random-features model of Belkin et al. 2019 so that each fit
-- is exact and the experiment takes a minute.
--
-- A fixed model -- rff (p features, sigma = 2, feature seed 1) -> dense (10
-- outputs, no bias), fitted by minimum-norm least squares (`lstsq`, lambda
-- = 0) -- trained on n Fashion-MNIST images, 14x14, one-hot targets, with
-- n swept from 100 to 4000. Two model sizes, p = 500 and p = 1000; 3 seeds,
-- each a different slice of the training set (offset 4000 (seed - 1)).
-- Test: the 10,000 test images. Columns: n, features, seed, train_mse,
-- test_mse, train_error, test_error.
-- What to see: for each model the test error falls with n, then RISES as
-- n approaches the number of features and peaks at n = p (the model can
-- just interpolate n points, with a huge norm), then falls again; so
-- between about p/2 and p, more data makes the same model worse, and the
-- larger model's peak sits further right.
--
--   lunet run scripts/double_descent_samples.lua [--quick] [--out FILE.csv] [--no_plot]
--
-- Writes FILE.csv (default results/double_descent_samples.csv) and
-- FILE.png. Takes about 1.5 minutes on 2 cores (1 min 32 s measured);
-- --quick (p = 100, 200; n up to 400; 1000 test images; one seed) 4 s.

local lunet = require "lunet"

local opt = lunet.options{ quick = false, out = "results/double_descent_samples.csv", no_plot = false }
local quick, out = opt.quick, opt.out
local sizes = quick and { 100, 200 } or { 500, 1000 }
local ns = quick and { 40, 80, 100, 120, 160, 200, 240, 300, 400 }
                 or { 100, 200, 300, 400, 450, 500, 550, 600, 700, 800, 900, 950, 1000, 1050, 1100,
                      1200, 1500, 2000, 3000, 4000 }
local seeds = quick and { 1 } or { 1, 2, 3 }

local data = { downsample = 2, flatten = true, targets = "onehot" }
local function fashion(split, count, offset)
  local params = { split = split, n = count, offset = offset }
  for k, v in pairs(data) do params[k] = v end
  return lunet.dataset("fashion_mnist", params)
end
local test = fashion("test", quick and 1000 or 10000, 0)

os.remove(out)
local log = lunet.csv(out, { columns = { "n", "features", "seed", "train_mse", "test_mse", "train_error", "test_error" } })
local mse, min_norm = lunet.loss("mse"), lunet.optimizer("lstsq", { lambda = 0 })
for _, seed in ipairs(seeds) do
  for _, n in ipairs(ns) do
    local train = fashion("train", n, 4000 * (seed - 1))
    for _, features in ipairs(sizes) do
      -- the same model for every n: same features, same frequencies
      local model = lunet.sequential{
        input = train:input_shape(),
        lunet.layer("rff", { features = features, sigma = 2, seed = 1 }),
        lunet.layer("dense", { out = 10, bias = false }),
      }
      local r = lunet.train{ model = model, data = train, loss = mse, optimizer = min_norm,
                             eval = { test = test }, verbose = false }
      log:write{ n = n, features = features, seed = seed, train_mse = r.train.loss, test_mse = r.test.loss,
                 train_error = r.train.error, test_error = r.test.error }
      print(string.format("seed %d  n %4d  features %4d  train err %.3f  test err %.3f mse %.4f",
                          seed, n, features, r.train.error, r.test.error, r.test.loss))
    end
  end
end
log:close()

if opt.no_plot then return end -- e.g. without gnuplot
local png = out:gsub("%.csv$", "") .. ".png"
lunet.plot{ csv = out, x = "n", y = "test_error", group = "features", out = png,
            title = "RFF + min-norm least squares: test error vs training samples, per feature count" }
print("wrote " .. out .. " and " .. png)
