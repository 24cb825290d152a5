-- bench/cnn.lua -- times a training epoch of the CNN of scripts/cnn_fashion.lua.
--
--   lunet run bench/cnn.lua [--n 10000] [--epochs 2] [--threads 2]
--
-- Prints "RESULT epoch_seconds=<median>" for bench/run.py.
local lunet = require "lunet"

local opt = lunet.options{ n = 10000, epochs = 2, threads = 2, device = "cpu" }
lunet.threads(opt.threads)
local data = lunet.dataset("fashion_mnist", { split = "train", n = opt.n })
local layers = { input = data:input_shape(), device = opt.device }
for _, c in ipairs{ 32, 64 } do
  for _, l in ipairs{ lunet.layer("conv2d", { out_channels = c, kernel = 3, padding = 1 }), lunet.layer("batchnorm"),
                      lunet.layer("relu"), lunet.layer("maxpool2d", { kernel = 2 }) } do
    layers[#layers + 1] = l
  end
end
for _, l in ipairs{ lunet.layer("flatten"), lunet.layer("dense", { out = 128 }), lunet.layer("relu"),
                    lunet.layer("dropout", { p = 0.3 }), lunet.layer("dense", { out = 10 }) } do
  layers[#layers + 1] = l
end
local times = {}
lunet.train{ model = lunet.sequential(layers), data = data, loss = lunet.loss("cross_entropy"),
  optimizer = lunet.optimizer("adam", { lr = 0.002 }), epochs = opt.epochs, batch = 128, verbose = false,
  on_epoch = function(_, m) times[#times + 1] = m.seconds end }
table.sort(times)
print(("RESULT epoch_seconds=%.6f"):format(times[(#times + 1) // 2]))
