-- bench/gpu_train.lua -- the same training on the CPU and on the GPU must
-- agree (bench/gpu_check.sh, docs/cuda.md): an MLP (dense, relu, gelu,
-- layernorm, softmax-free cross-entropy) on 2000 synthetic samples of 64
-- features and 10 classes, 3 epochs of Adam, same seeds. Compares the
-- per-epoch training losses, the final parameters and a save on the GPU
-- loaded on the CPU. Prints "RESULT max_loss_rel=... max_param_rel=...".
--
--   lunet run bench/gpu_train.lua [--device cuda]
local lunet = require "lunet"

local opt = { device = "cuda", n = "2000", epochs = "3" }
for i = 1, #arg - 1, 2 do opt[arg[i]:gsub("^%-%-", "")] = arg[i + 1] end
local n, F, K = tonumber(opt.n), 64, 10

local state = 1
local function uniform() -- a small LCG: the same data everywhere
  state = (state * 1103515245 + 12345) % 2147483648
  return state / 2147483648
end
local x, y = {}, {}
for s = 1, n do
  x[s] = {}
  local sum = 0
  for f = 1, F do x[s][f] = 2 * uniform() - 1; sum = sum + x[s][f] * (f % 7 - 3) end
  y[s] = math.floor((math.tanh(sum / 4) + 1) / 2 * K * 0.999) + 1
end
local data = lunet.data{ x = x, y = y }

local function train(device)
  local m = lunet.sequential{ seed = 3, device = device, input = { F },
    lunet.layer("dense", { out = 128 }), lunet.layer("relu"),
    lunet.layer("linear", { out = 64 }), lunet.layer("layernorm"), lunet.layer("gelu"),
    lunet.layer("dense", { out = K }) }
  local losses = {}
  lunet.train{ model = m, data = data, loss = lunet.loss("cross_entropy"),
    optimizer = lunet.optimizer("adam", { lr = 1e-3 }), epochs = tonumber(opt.epochs), batch = 64, seed = 5,
    verbose = false, on_epoch = function(e, r) losses[e] = r.train.loss end }
  return m, losses
end

local cpu, lc = train("cpu")
local gpu, lg = train(opt.device)
local worst_loss, worst_param = 0, 0
for e = 1, #lc do
  worst_loss = math.max(worst_loss, math.abs(lg[e] - lc[e]) / math.abs(lc[e]))
  print(("epoch %d  train loss cpu %.6f  %s %.6f"):format(e, lc[e], opt.device, lg[e]))
end
local pc, pg = cpu:parameters(), gpu:parameters()
for i, p in ipairs(pc) do
  local diff, scale = 0, 0
  for j, v in ipairs(p.values) do
    diff = math.max(diff, math.abs(pg[i].values[j] - v))
    scale = math.max(scale, math.abs(v))
  end
  worst_param = math.max(worst_param, diff / scale)
end
-- a model saved on the GPU loads on the CPU with the same numbers
local path = os.tmpname()
gpu:save(path)
local back = lunet.load(path)
os.remove(path)
local a, b = back:evaluate(data, lunet.loss("cross_entropy")).loss, gpu:evaluate(data, lunet.loss("cross_entropy")).loss
assert(math.abs(a - b) <= 1e-5 * math.abs(b), ("saved on %s, loaded on the CPU: loss %.7f, expected %.7f"):format(opt.device, a, b))
print(("RESULT max_loss_rel=%.3g max_param_rel=%.3g"):format(worst_loss, worst_param))
assert(worst_loss <= 1e-3 and worst_param <= 1e-3, "the CPU and GPU runs disagree")
