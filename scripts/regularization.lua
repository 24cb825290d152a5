-- regularization.lua -- fighting overfitting: no penalty, L2, L1, dropout
-- and early stopping on the same over-sized MLP and small training set.
--
-- 1,000 Fashion-MNIST training images and a 784-512-512-10 MLP (670k
-- parameters) overfit: the training error reaches 0 while the test error
-- stalls. Each regularizer is applied through lunet.train (l2, l1 penalties
-- on the weights, biases excluded), a `dropout` layer, or `patience` with a
-- validation set of 1,000 other training images (best weights restored).
--
-- Per method: final train/test error and the L2 norm of all weights; per
-- epoch: test error. What to see: the unregularized net has the largest
-- weights and the widest train-test gap; each method trades a little
-- training fit for a smaller gap.
--
--   lunet run scripts/regularization.lua [--quick] [--out FILE.csv]     (~2 min; --quick ~5 s)

local lunet = require "lunet"

local opt = lunet.options{ quick = false, no_plot = false, out = "results/regularization.csv", seed = 1 }
local n, epochs, width = opt.quick and 300 or 1000, opt.quick and 4 or 40, opt.quick and 64 or 512

local train = lunet.dataset("fashion_mnist", { split = "train", n = n })
local val = lunet.dataset("fashion_mnist", { split = "train", n = 1000, offset = 50000 })
local test = lunet.dataset("fashion_mnist", { split = "test", n = opt.quick and 1000 or 0 })

local function mlp(dropout)
  local layers = { input = train:input_shape(), seed = opt.seed }
  for _ = 1, 2 do
    layers[#layers + 1] = lunet.layer("dense", { out = width })
    layers[#layers + 1] = lunet.layer("relu")
    if dropout then layers[#layers + 1] = lunet.layer("dropout", { p = 0.5 }) end
  end
  layers[#layers + 1] = lunet.layer("dense", { out = 10 })
  return lunet.sequential(layers)
end

local function weight_norm(model)
  local s = 0
  for _, p in ipairs(model:parameters()) do
    if p.name:match("weight$") then for _, v in ipairs(p.values) do s = s + v * v end end
  end
  return math.sqrt(s)
end

local methods = {
  { "none", {} },
  { "l2", { l2 = 1e-3 } },
  { "l1", { l1 = 1e-4 } },
  { "dropout", {}, true },
  { "early_stopping", { patience = 5, monitor = "val" } },
}

os.remove(opt.out)
local curves = opt.out:gsub("%.csv$", "") .. "_epochs.csv"
os.remove(curves)
local log = lunet.csv(opt.out, { columns = { "method", "train_error", "test_error", "weight_norm", "epochs" } })
local per_epoch = lunet.csv(curves, { columns = { "method", "epoch", "test_error" } })
print(("%-15s %11s %10s %12s %7s"):format("method", "train error", "test error", "weight norm", "epochs"))
for _, m in ipairs(methods) do
  local name, extra, dropout = m[1], m[2], m[3]
  local model = mlp(dropout)
  local cfg = { model = model, data = train, eval = { test = test, val = val },
    loss = lunet.loss("cross_entropy"), optimizer = lunet.optimizer("sgd", { lr = 0.01, momentum = 0.9 }),
    epochs = epochs, batch = 32, seed = opt.seed, verbose = false,
    on_epoch = function(epoch, mt) per_epoch:write{ method = name, epoch = epoch, test_error = mt.test.error } end }
  for k, v in pairs(extra) do cfg[k] = v end
  local r = lunet.train(cfg)
  local train_error = model:evaluate(train, lunet.loss("cross_entropy")).error
  local row = { method = name, train_error = train_error, test_error = r.test.error,
                weight_norm = weight_norm(model), epochs = r.epochs }
  log:write(row)
  print(("%-15s %11.4f %10.4f %12.2f %7d"):format(name, row.train_error, row.test_error, row.weight_norm, row.epochs))
end
log:close()
per_epoch:close()
if not opt.no_plot then
  print("figure: " .. lunet.plot{ csv = curves, x = "epoch", y = "test_error", group = "method",
                                  title = "Test error per epoch with each regularizer" })
end
