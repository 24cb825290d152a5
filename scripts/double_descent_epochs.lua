-- double_descent_epochs.lua -- epoch-wise double descent: Nakkiran, Kaplun,
-- Bansal, Yang, Barak & Sutskever, "Deep Double Descent: Where Bigger
-- Models and More Data Hurt", ICLR 2020, figures 1 (right) and 9 (there
-- ResNet18 on CIFAR-10 with label noise, Adam, 4K epochs), scaled to a
-- laptop.
--
-- A fixed, large model -- a 196-512-512-512-10 ReLU network, 631,306
-- parameters for n = 1000 samples -- trained for a long time with Adam
-- (lr 1e-3, batch 50) and cross-entropy on 14x14 Fashion-MNIST (downsample
-- 2), 30% of the training labels replaced by a random other class
-- (--noise). Test error on 5000 clean test images is logged every 2
-- epochs for 150 epochs; 2 seeds (initialisation and batch order).
-- Columns: epoch, seed, train_loss, train_error (on the noisy labels),
-- test_loss, test_error.
-- What to see: the test error falls for a few epochs (the clean signal is
-- learnt first, 0.25 at epoch 4-8), rises while the network memorises the
-- noisy labels (training error between 3% and 1%, epochs 30-55, test error
-- up to 0.37), and falls again once the training set is interpolated
-- (training error 0 from epoch ~60, test error 0.33). Unlike the ResNets of
-- the paper, this small network does not come back below its early minimum
-- within 150 epochs, and its test loss keeps growing.
--
--   lunet run scripts/double_descent_epochs.lua [--quick] [--out FILE.csv]
--                                               [--noise F] [--no_plot]
--
-- Writes FILE.csv (default results/double_descent_epochs.csv) and FILE.png.
-- Takes about 2 minutes on 2 cores (1 min 51 s measured); --quick (n = 200,
-- width 64, 20 epochs) under a second.

local lunet = require "lunet"

local opt = lunet.options{ quick = false, out = "results/double_descent_epochs.csv", noise = 0.3, no_plot = false }
local quick, out, noise = opt.quick, opt.out, opt.noise
local n = quick and 200 or 1000
local width = quick and 64 or 512
local epochs = quick and 20 or 150
local every = 2 -- epochs between two evaluations
local seeds = quick and { 1 } or { 1, 2 }

local train = lunet.dataset("fashion_mnist", { split = "train", n = n, downsample = 2, flatten = true,
                                               label_noise = noise })
local test = lunet.dataset("fashion_mnist", { split = "test", n = quick and 500 or 5000, downsample = 2,
                                              flatten = true })

os.remove(out)
local log = lunet.csv(out, { columns = { "epoch", "seed", "train_loss", "train_error", "test_loss", "test_error" } })
for _, seed in ipairs(seeds) do
  local model = lunet.sequential{
    input = train:input_shape(), seed = seed,
    lunet.layer("dense", { out = width }), lunet.layer("relu"),
    lunet.layer("dense", { out = width }), lunet.layer("relu"),
    lunet.layer("dense", { out = width }), lunet.layer("relu"),
    lunet.layer("dense", { out = 10 }),
  }
  if seed == seeds[1] then print(model:summary()) end
  lunet.train{
    model = model, data = train, loss = lunet.loss("cross_entropy"),
    optimizer = lunet.optimizer("adam", { lr = 1e-3 }),
    epochs = epochs, batch = 50, seed = seed, verbose = false,
    eval = { test = test }, eval_every = every,
    on_epoch = function(epoch, m)
      if not m.test then return end -- not an evaluation epoch
      -- m.train: the running means of the epoch, on the noisy labels
      log:write{ epoch = epoch, seed = seed, train_loss = m.train.loss, train_error = m.train.error,
                 test_loss = m.test.loss, test_error = m.test.error }
      if epoch % (5 * every) == 0 then
        print(string.format("seed %d  epoch %3d  train err %.3f  test err %.3f loss %.3f",
                            seed, epoch, m.train.error, m.test.error, m.test.loss))
      end
    end,
  }
end
log:close()

if opt.no_plot then return end -- e.g. without gnuplot
local png = out:gsub("%.csv$", "") .. ".png"
lunet.plot{ csv = out, x = "epoch", y = { "test_error", "train_error" }, out = png,
            title = string.format("3x%d ReLU network, Fashion-MNIST n = %d, %g%% label noise",
                                  width, n, 100 * noise) }
print("wrote " .. out .. " and " .. png)
