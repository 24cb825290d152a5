-- architectures.lua -- the course's classic convolutional networks trained
-- on Fashion-MNIST: a LeNet-style network after LeCun's slide, a small
-- VGG-style stack, a small ResNet (identity and projection shortcuts) and an
-- Inception-style block (branches joined by concat). The networks are built
-- by scripts/nets.lua, where their shapes are written out.
--
-- Each is trained with Adam (lr 1e-3, batch 128, seed 1) on the first N
-- training images and evaluated on the test set after each epoch. Columns
-- (FILE.csv): net, params, epoch, train_loss, train_error, test_error,
-- test_accuracy, seconds (of that epoch). Printed at the end: one table row
-- per network (parameters, final test accuracy, seconds per epoch).
-- --augment trains on fashion_mnist's augmented images (shift = 2, flip =
-- true: a new random move of each image every epoch); the test set is as is.
--
--   lunet run scripts/architectures.lua [--net lenet|vgg|resnet|inception|all]
--       [--n 10000] [--epochs 3] [--augment] [--quick] [--out FILE.csv] [--no_plot]
--
-- The defaults took 47 minutes on 2 cores shared with other jobs (results
-- in docs/architectures.md); --quick trains on 256 images for one epoch and
-- tests on 256 (about a second per network).

local lunet = require "lunet"
local nets = require "nets"

local opt = lunet.options{ net = "all", n = 10000, epochs = 3, quick = false, out = "results/architectures.csv",
                           no_plot = false, seed = 1, augment = false }
local n, n_test, epochs = opt.n, 0, opt.epochs
if opt.quick then n, n_test, epochs = 256, 256, 1 end
local which = opt.net == "all" and nets.names or { opt.net }

local train = lunet.dataset("fashion_mnist", { split = "train", n = n, shift = opt.augment and 2 or 0,
                                               flip = opt.augment, seed = opt.seed })
local test = lunet.dataset("fashion_mnist", { split = "test", n = n_test })

os.remove(opt.out)
local log = lunet.csv(opt.out, { columns = { "net", "params", "epoch", "train_loss", "train_error", "test_error",
                                             "test_accuracy", "seconds" } })
local rows = {}
for _, name in ipairs(which) do
  local model = nets.build(name, { seed = opt.seed })
  local params, seconds = model:param_count(), 0
  local r = lunet.train{ model = model, data = train, eval = { test = test }, loss = lunet.loss("cross_entropy"),
    optimizer = lunet.optimizer("adam", { lr = 1e-3 }), epochs = epochs, batch = 128, seed = opt.seed,
    verbose = false,
    on_epoch = function(epoch, m)
      seconds = seconds + m.seconds
      log:write{ net = name, params = params, epoch = epoch, train_loss = m.train.loss, train_error = m.train.error,
                 test_error = m.test.error, test_accuracy = 1 - m.test.error, seconds = m.seconds }
    end }
  assert(r.status == "ok", name .. ": " .. tostring(r.message))
  rows[#rows + 1] = { name, params, 1 - r.test.error, seconds / r.epochs }
  print(("%-10s %9d parameters  test accuracy %.4f  %.1f s/epoch"):format(name, params, 1 - r.test.error,
                                                                        seconds / r.epochs))
end
log:close()

print(("\n| network | parameters | test accuracy (%d epochs, %d images) | seconds/epoch |"):format(epochs, n))
print("|---|---:|---:|---:|")
for _, r in ipairs(rows) do print(("| %s | %d | %.4f | %.1f |"):format(r[1], r[2], r[3], r[4])) end

if not opt.no_plot and #which > 1 then
  print("figure: " .. lunet.plot{ csv = opt.out, x = "epoch", y = { "test_accuracy" }, group = "net",
                                  title = "Classic architectures on Fashion-MNIST: test accuracy" })
end
