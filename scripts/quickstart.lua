-- quickstart.lua -- an MLP 784-256-128-10 on Fashion-MNIST.
--
-- Trains on the 60,000 training images with SGD + momentum, evaluates on the
-- 10,000 test images after every epoch, writes one CSV row per epoch and
-- prints the final test accuracy (about 0.88 after 5 epochs; ~3 s an epoch
-- on 2 cores).
--
--   lunet run scripts/quickstart.lua [--epochs N] [--out FILE.csv]

local lunet = require "lunet"

local opt = lunet.options{ epochs = 5, out = "results/quickstart.csv" }

local train = lunet.dataset("fashion_mnist", { split = "train" })
local test = lunet.dataset("fashion_mnist", { split = "test" })

local model = lunet.sequential{
  input = train:input_shape(),
  lunet.layer("dense", { out = 256 }), lunet.layer("relu"),
  lunet.layer("dense", { out = 128 }), lunet.layer("relu"),
  lunet.layer("dense", { out = 10 }),
}
print(model:summary())

os.remove(opt.out) -- a fresh file each run (lunet.csv appends)
local log = lunet.csv(opt.out)
local result = lunet.train{
  model = model, data = train, eval = { test = test },
  loss = lunet.loss("cross_entropy"),
  optimizer = lunet.optimizer("sgd", { lr = 0.05, momentum = 0.9 }),
  epochs = opt.epochs, batch = 128, seed = 1,
  on_epoch = function(epoch, m)
    log:write{ epoch = epoch, train_loss = m.train.loss, train_error = m.train.error,
               test_loss = m.test.loss, test_error = m.test.error, seconds = m.seconds }
  end,
}
log:close()

print(string.format("test accuracy %.4f after %d epochs (%.1f s of training); per-epoch rows in %s",
                    1 - result.test.error, result.epochs, result.seconds, opt.out))
