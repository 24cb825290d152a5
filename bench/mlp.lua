-- bench/mlp.lua -- times training epochs of an MLP on Fashion-MNIST.
--
--   lunet run bench/mlp.lua --hidden 256,128 --batch 128 --epochs 3 --threads 1 [--flatten 1] [--device cuda]
--
-- Prints one line "RESULT epoch_seconds=<median> batch_us=<median per batch>"
-- for bench/run.py. Only the training steps are timed (the trainer's own
-- per-epoch clock); data loading and evaluation are not.
local lunet = require "lunet"

local opt = { hidden = "256,128", batch = "128", epochs = "3", threads = "1", n = "60000", flatten = "0", device = "cpu" }
for i = 1, #arg - 1, 2 do opt[arg[i]:gsub("^%-%-", "")] = arg[i + 1] end
lunet.threads(tonumber(opt.threads))

local data = lunet.dataset("fashion_mnist", { split = "train", n = tonumber(opt.n) })
local layers = { input = data:input_shape(), device = opt.device } -- "cuda": bench/gpu_check.sh
if opt.flatten == "1" then layers[1] = lunet.layer("flatten") end -- costs nothing: no input gradient is computed
for width in opt.hidden:gmatch("%d+") do
  layers[#layers + 1] = lunet.layer("dense", { out = tonumber(width) })
  layers[#layers + 1] = lunet.layer("relu")
end
layers[#layers + 1] = lunet.layer("dense", { out = 10 })
local model = lunet.sequential(layers)

local times = {}
lunet.train{ model = model, data = data, loss = lunet.loss("cross_entropy"),
  optimizer = lunet.optimizer("sgd", { lr = 0.01, momentum = 0.9 }),
  epochs = tonumber(opt.epochs), batch = tonumber(opt.batch), seed = 1, verbose = false,
  on_epoch = function(_, m) times[#times + 1] = m.seconds end }
table.sort(times)
local med = times[(#times + 1) // 2]
local batches = math.ceil(data:size() / tonumber(opt.batch))
print(("RESULT epoch_seconds=%.6f batch_us=%.3f"):format(med, med / batches * 1e6))
