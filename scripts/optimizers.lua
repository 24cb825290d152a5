-- optimizers.lua -- the optimizer zoo on one problem: SGD, momentum,
-- Nesterov, Adagrad, RMSprop, Adam and AdamW on the same MLP, data and seed
-- (the comparison of Ruder 2016, "An overview of gradient descent
-- optimization algorithms", on Fashion-MNIST).
--
-- Model 784-128-10 with ReLU, 10,000 training images, batch 64, each
-- optimizer at its usual learning rate. Per epoch and optimizer: training
-- loss and test error. What to see: plain SGD is slowest; momentum and
-- Nesterov speed it up several-fold; the adaptive methods (Adagrad,
-- RMSprop, Adam, AdamW) drive the training loss down fastest at these
-- rates, and overfit soonest.
--
--   lunet run scripts/optimizers.lua [--quick] [--out FILE.csv]     (~40 s; --quick ~3 s)

local lunet = require "lunet"

local opt = lunet.options{ quick = false, no_plot = false, out = "results/optimizers.csv", seed = 1 }
local n, epochs = opt.quick and 1000 or 10000, opt.quick and 2 or 15

local train = lunet.dataset("fashion_mnist", { split = "train", n = n })
local test = lunet.dataset("fashion_mnist", { split = "test", n = opt.quick and 1000 or 0 })

local zoo = {
  { "sgd", { lr = 0.05 } },
  { "momentum", { lr = 0.05, momentum = 0.9 }, "sgd" },
  { "nesterov", { lr = 0.05, momentum = 0.9, nesterov = true }, "sgd" },
  { "adagrad", { lr = 0.05 } },
  { "rmsprop", { lr = 0.001 } },
  { "adam", { lr = 0.001 } },
  { "adamw", { lr = 0.001, weight_decay = 0.01 } },
}

os.remove(opt.out)
local log = lunet.csv(opt.out, { columns = { "optimizer", "epoch", "train_loss", "test_error" } })
for _, z in ipairs(zoo) do
  local name, params, plugin = z[1], z[2], z[3] or z[1]
  local model = lunet.sequential{ input = train:input_shape(), seed = opt.seed,
    lunet.layer("dense", { out = 128 }), lunet.layer("relu"), lunet.layer("dense", { out = 10 }) }
  local r = lunet.train{ model = model, data = train, eval = { test = test },
    loss = lunet.loss("cross_entropy"), optimizer = lunet.optimizer(plugin, params),
    epochs = epochs, batch = 64, seed = opt.seed, verbose = false,
    on_epoch = function(epoch, m)
      log:write{ optimizer = name, epoch = epoch, train_loss = m.train.loss, test_error = m.test.error }
    end }
  print(("%-9s final training loss %.4f, test error %.4f"):format(name, r.train.loss, r.test.error))
end
log:close()
if not opt.no_plot then
  print("figure: " .. lunet.plot{ csv = opt.out, x = "epoch", y = "train_loss", group = "optimizer", logy = true,
                                  title = "Training loss of each optimizer (same model, data, seed)" })
end
