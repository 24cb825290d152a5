-- bench/conv.lua -- achieved GFLOP/s of conv2d forward + backward.
--
--   lunet run bench/conv.lua [--threads 1] [--batch 64]
--
-- The second convolution of cnn_fashion.lua: 32 -> 64 channels, 3x3,
-- padding 1, on 14x14 maps, trained alone against an MSE target. One step
-- is three GEMMs of 2 B K C k^2 Ho Wo flops each (forward, weight gradient,
-- input gradient). Prints "RESULT gflops=<median rate> m=.. n=.. k=.." with
-- the forward GEMM's shape, for bench/run.py to time sgemm on.
local lunet = require "lunet"

local opt = lunet.options{ threads = 1, batch = 64, n = 2048 }
lunet.threads(opt.threads)
local C, K, H, k = 32, 64, 14, 3
local xs, ys = {}, {}
math.randomseed(1)
for i = 1, opt.n do
  local x, y = {}, {}
  for j = 1, C * H * H do x[j] = math.random() - 0.5 end
  for j = 1, K * H * H do y[j] = 0 end
  xs[i], ys[i] = x, y
end
local data = lunet.data{ x = xs, y = ys, shape = { C, H, H } }
local model = lunet.sequential{ input = { C, H, H },
  lunet.layer("conv2d", { out_channels = K, kernel = k, padding = 1, bias = false }), lunet.layer("flatten") }
local times = {}
lunet.train{ model = model, data = data, loss = lunet.loss("mse"), optimizer = lunet.optimizer("sgd", { lr = 1e-4 }),
  epochs = 5, batch = opt.batch, verbose = false, on_epoch = function(_, m) times[#times + 1] = m.seconds end }
table.sort(times)
local flops = 3 * 2 * opt.n * K * C * k * k * H * H
print(("RESULT gflops=%.3f m=%d n=%d k=%d"):format(flops / times[(#times + 1) // 2] / 1e9, K, opt.batch * H * H, C * k * k))
