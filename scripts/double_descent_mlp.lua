-- double_descent_mlp.lua -- model-wise double descent of a one-hidden-layer
-- network: Belkin, Hsu, Ma & Mandal, PNAS 2019, figure 3 (there MNIST,
-- n = 4000, squared loss), and Nakkiran et al., "Deep Double Descent",
-- ICLR 2020 (model-wise, with label noise), scaled to a laptop.
--
-- Model: 7x7 Fashion-MNIST images (downsample 4, 49 inputs) -> dense(H) ->
-- relu -> dense(10), trained with the squared loss on one-hot targets
-- (Belkin's choice), Adam lr 2e-3, batch 50, for 1000 epochs -- long enough
-- for every width past the threshold to reach zero training error.
-- Data: the first n = 500 training images, 20% of their labels replaced by
-- a random other class (--noise); the first 5000 test images, clean. The
-- hidden width H is swept from 4 to 2048: parameters 49 H + H + 10 H + 10
-- from 250 to 123,000, across the interpolation threshold n K = 5000
-- parameters (H ~ 83). 3 seeds (initialisation and batch order).
-- Columns: width, params, seed, label_noise, train_loss, train_error,
-- test_loss, test_error.
-- What to see: training error falls to 0 as the width grows; test error
-- falls, then rises to a peak a little past the threshold (H ~ 192, 11,500
-- parameters here: the width where the training error reaches 0, i.e. where
-- the network has just enough capacity to memorise the noisy labels), then
-- falls again as the width keeps growing.
--
--   lunet run scripts/double_descent_mlp.lua [--quick] [--out FILE.csv]
--                                            [--noise F] [--no_plot]
--
-- Writes FILE.csv (default results/double_descent_mlp.csv) and FILE.png.
-- Takes about 3 minutes on 2 cores (3 min 12 s measured); --quick (n = 100,
-- 5 widths, 60 epochs) under a second.

local lunet = require "lunet"

local opt = lunet.options{ quick = false, out = "results/double_descent_mlp.csv", noise = 0.2, no_plot = false }
local quick, out, noise = opt.quick, opt.out, opt.noise
local n = quick and 100 or 500
local epochs = quick and 60 or 1000
local widths = quick and { 4, 16, 32, 128, 512 }
                     or { 4, 8, 16, 32, 48, 64, 96, 128, 192, 256, 512, 1024, 2048 }
local seeds = quick and { 1 } or { 1, 2, 3 }

local function fashion(split, count, label_noise)
  return lunet.dataset("fashion_mnist", { split = split, n = count, downsample = 4, flatten = true,
                                          targets = "onehot", label_noise = label_noise })
end
local train, test = fashion("train", n, noise), fashion("test", quick and 1000 or 5000, 0)

os.remove(out)
local log = lunet.csv(out, { columns = { "width", "params", "seed", "label_noise", "train_loss",
                                         "train_error", "test_loss", "test_error" } })
for _, seed in ipairs(seeds) do
  for _, width in ipairs(widths) do
    local model = lunet.sequential{
      input = train:input_shape(), seed = seed,
      lunet.layer("dense", { out = width }), lunet.layer("relu"),
      lunet.layer("dense", { out = 10 }),
    }
    -- eval = { train = ... }: the final training metrics in eval mode, on
    -- the noisy labels the network was trained on
    local r = lunet.train{ model = model, data = train, loss = lunet.loss("mse"),
                           optimizer = lunet.optimizer("adam", { lr = 2e-3 }),
                           epochs = epochs, batch = 50, seed = seed, verbose = false,
                           eval = { train = train, test = test }, eval_every = epochs }
    log:write{ width = width, params = model:param_count(), seed = seed, label_noise = noise,
               train_loss = r.train.loss, train_error = r.train.error,
               test_loss = r.test.loss, test_error = r.test.error }
    print(string.format("seed %d  width %4d  params %6d  train err %.3f  test err %.3f mse %.4f  (%.0f s)",
                        seed, width, model:param_count(), r.train.error, r.test.error, r.test.loss, r.seconds))
  end
end
log:close()

if opt.no_plot then return end -- e.g. without gnuplot
local png = out:gsub("%.csv$", "") .. ".png"
lunet.plot{ csv = out, x = "params", y = { "test_error", "train_error", "test_loss" }, logx = true, out = png,
            title = string.format("One hidden layer, Fashion-MNIST n = %d, %g%% label noise (threshold n K = %d)",
                                  n, 100 * noise, 10 * n) }
print("wrote " .. out .. " and " .. png)
