-- double_descent_mlp.lua -- model-wise double descent of a one-hidden-layer
-- network: Belkin, Hsu, Ma & Mandal, PNAS 2019, figure 3 (there MNIST,
-- n = 4000, squared loss), and Nakkiran et al., "Deep Double Descent",
-- ICLR 2020 (model-wise, with label noise), scaled to a laptop.
--
-- Model: 7x7 Fashion-MNIST images (downsample 4, 49 inputs) -> dense(H) ->
-- relu -> dense(10), trained with the squared loss on one-hot targets
-- (Belkin's choice), Adam lr 2e-3, batch 50, for 500 epochs, no early
-- stopping, no weight decay: every width from H = 768 (4.6 n K parameters)
-- on reaches zero training error, H = 512 0.1%.
-- Data: the first n = 1000 training images, 20% of their labels replaced by
-- a random other class (--noise); the first 5000 test images, clean. The
-- hidden width H is swept from 8 to 4096, densest around the threshold:
-- parameters 49 H + H + 10 H + 10 from 490 to 245,770, across the
-- interpolation threshold n K = 10,000 parameters (H ~ 164). 3 seeds
-- (initialisation and batch order).
-- Columns: width, params, seed, label_noise, train_loss, train_error,
-- test_loss, test_error. At the end it prints the first minimum, the peak
-- and the second descent of the mean test error over seeds.
-- What to see: training error falls to 0 as the width grows; test error
-- falls to its first minimum (H = 24-48), rises while the network becomes
-- able to memorise the noisy labels, peaks where it just does (H = 512,
-- 30,730 parameters, training error 0.1%), then falls again as the width
-- keeps growing. The test MSE peaks more sharply than the error.
--
-- What it takes, measured (mean test error over 3 seeds unless said; the
-- peak as a multiple of the first minimum):
--   this setting, 20% noise      first min 0.250 (H 32), peak 0.345 (H 512),
--                                1.38 x; down to 0.319 at H 4096; test MSE
--                                0.044 -> 0.089 (2.0 x) -> 0.070
--   --noise 0.3                  0.270 (H 24), 0.424 (H 1024), 1.57 x; down
--                                to 0.397 at H 4096
--   the old setting: n = 500,    0.31, 0.41 (H 192), 1.32 x; 0.35 at H 2048
--   1000 epochs
--   n = 1000, 1000 epochs (1 seed)  0.270, 0.362 (H 384), 1.34 x; 0.345 at
--                                H 1536: longer training over-fits the
--                                narrow networks too, lifting the first
--                                minimum more than the peak
--   n = 500, 3000 epochs (1 seed, to H 96)   0.363, 0.438 at H 96, 1.21 x
--   10% noise, 1000 epochs (1 seed, to H 192)   0.234, 0.288, 1.23 x
--   14x14 inputs, 500 epochs (1 seed, to H 128)   0.342 (H 48), 0.377 at
--                                H 128 where the training error reaches 0,
--                                1.10 x: the first minimum is much higher
-- So the 1.5 x peak of the issue needs 30% label noise here, above
-- Nakkiran's 10-20%; at 20% the peak is 1.38 x. The second descent stays
-- above the first minimum at every width we could afford (0.319 against
-- 0.250 at H = 4096, 245,770 parameters, 25 n K): past the peak the test
-- error falls only about 0.01 per doubling of H -- the wide networks,
-- presumably close to a kernel interpolator of the noisy labels in 49
-- dimensions, keep paying for the 200 wrong labels they fit. Belkin's MNIST
-- networks, which do come back down, had no label noise.
--
--   lunet run scripts/double_descent_mlp.lua [--quick] [--out FILE.csv]
--                                            [--noise F] [--no_plot]
--
-- Writes FILE.csv (default results/double_descent_mlp.csv) and FILE.png.
-- Takes about 45 minutes on 2 shared cores (43 min measured, with the
-- --noise 0.3 run beside it); --quick (n = 100, 5 widths, 60 epochs) under
-- a second.

local lunet = require "lunet"

local opt = lunet.options{ quick = false, out = "results/double_descent_mlp.csv", noise = 0.2, no_plot = false }
local quick, out, noise = opt.quick, opt.out, opt.noise
local n = quick and 100 or 1000
local epochs = quick and 60 or 500
local widths = quick and { 4, 16, 32, 128, 512 }
                     or { 8, 16, 24, 32, 48, 64, 128, 192, 256, 384, 512, 768, 1024, 2048, 4096 }
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

-- The shape, on the mean test error over seeds: the peak, the best width
-- before it (the first minimum) and the best after it (the second descent).
local sum = {}
for _, r in ipairs(lunet.read_csv(out)) do sum[r.width] = (sum[r.width] or 0) + r.test_error / #seeds end
local peak = 1
for i, w in ipairs(widths) do if sum[w] > sum[widths[peak]] then peak = i end end
local first, second = math.huge, math.huge
for i, w in ipairs(widths) do
  if i < peak then first = math.min(first, sum[w]) elseif i > peak then second = math.min(second, sum[w]) end
end
if peak > 1 and peak < #widths then
  print(string.format("mean test error: first minimum %.3f, peak %.3f at width %d (%.2f x), then down to %.3f",
                      first, sum[widths[peak]], widths[peak], sum[widths[peak]] / first, second))
else
  print(string.format("mean test error: highest at width %d, an end of the sweep: no peak between", widths[peak]))
end

if opt.no_plot then return end -- e.g. without gnuplot
local png = out:gsub("%.csv$", "") .. ".png"
lunet.plot{ csv = out, x = "params", y = { "test_error", "train_error", "test_loss" }, logx = true, out = png,
            title = string.format("One hidden layer, Fashion-MNIST n = %d, %g%% label noise (threshold n K = %d)",
                                  n, 100 * noise, 10 * n) }
print("wrote " .. out .. " and " .. png)
