-- logistic_regression.lua -- logistic regression on Fashion-MNIST, binary
-- and multiclass (softmax regression).
--
-- Binary: T-shirt/top (class 0) against shirt (class 6), the hardest pair,
-- with one output p = w.x + b and the loss log(1 + exp(-p)) for the right
-- class (binary cross-entropy on logits). Multiclass: ten outputs and the
-- softmax cross-entropy. Both are a single `dense` layer trained with SGD:
-- linear models, whose only capacity is where they put their hyperplanes.
--
-- Per epoch and model: training loss and test error. What to see: the
-- binary problem stays near 20% error (the two classes overlap), the
-- ten-class one reaches about 16%, a linear model's ceiling here (an MLP
-- gets to ~11%, see quickstart.lua).
--
--   lunet run scripts/logistic_regression.lua [--quick] [--out FILE.csv]   (~20 s; --quick ~2 s)

local lunet = require "lunet"

local opt = lunet.options{ quick = false, no_plot = false, out = "results/logistic_regression.csv", seed = 1 }
local n, epochs = opt.quick and 2000 or 0, opt.quick and 3 or 15 -- n = 0: the whole training set

local problems = {
  { name = "binary (T-shirt vs shirt)", classes = "0,6", outputs = 1, loss = "binary_cross_entropy" },
  { name = "softmax (10 classes)", classes = "", outputs = 10, loss = "cross_entropy" },
}

os.remove(opt.out)
local log = lunet.csv(opt.out, { columns = { "model", "epoch", "train_loss", "test_error" } })
for _, p in ipairs(problems) do
  local train = lunet.dataset("fashion_mnist", { split = "train", classes = p.classes, n = n })
  local test = lunet.dataset("fashion_mnist", { split = "test", classes = p.classes })
  local model = lunet.sequential{ input = train:input_shape(), seed = opt.seed,
                                  lunet.layer("dense", { out = p.outputs, init = "normal", std = 0 }) }
  local r = lunet.train{ model = model, data = train, eval = { test = test },
    loss = lunet.loss(p.loss), optimizer = lunet.optimizer("sgd", { lr = 0.1 }),
    epochs = epochs, batch = 64, seed = opt.seed, verbose = false,
    on_epoch = function(epoch, m)
      log:write{ model = p.name, epoch = epoch, train_loss = m.train.loss, test_error = m.test.error }
    end }
  print(("%-28s test accuracy %.4f after %d epochs"):format(p.name, 1 - r.test.error, r.epochs))
end
log:close()
if not opt.no_plot then
  print("figure: " .. lunet.plot{ csv = opt.out, x = "epoch", y = "test_error", group = "model",
                                  title = "Logistic regression on Fashion-MNIST" })
end
