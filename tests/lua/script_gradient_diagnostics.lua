-- scripts/gradient_diagnostics.lua --quick: a row per activation, init,
-- stage and layer; what the course's figure shows holds at initialisation:
-- with sigmoid the first layer's gradient is far below the last's (under a
-- tenth, with Xavier and He alike), while tanh with Xavier and ReLU, leaky
-- ReLU and ELU with He keep every layer within a factor 10 of the others;
-- the norms are those of model:gradients on the script's network.
local lunet = require "lunet"
local t = require "testlib"

local file = os.tmpname()
t.run_script("gradient_diagnostics", "--quick", "--no_plot", "--out", file)
local rows = lunet.read_csv(file)
os.remove(file)
assert(#rows == 6 * 2 * 2 * 5, #rows .. " rows")

local norms = {}
for _, r in ipairs(rows) do
  local key = r.activation .. " " .. r.init .. " " .. r.stage
  norms[key] = norms[key] or {}
  norms[key][r.layer] = r.grad_norm
  assert(r.grad_norm > 0 and r.grad_norm < math.huge, key .. " layer " .. r.layer)
end

local function spread(v)
  local lo, hi = math.huge, 0
  for _, x in ipairs(v) do lo, hi = math.min(lo, x), math.max(hi, x) end
  return hi / lo
end

for _, init in ipairs{ "xavier", "he" } do
  local s = norms["sigmoid " .. init .. " init"]
  assert(#s == 5 and s[1] < s[5] / 10, ("sigmoid, %s: first layer %g, last %g"):format(init, s[1], s[5]))
  for l = 1, 4 do assert(s[l] < s[l + 1], "sigmoid, " .. init .. ": the gradient grows towards the output") end
end
for _, k in ipairs{ "tanh xavier", "relu he", "leaky_relu he", "elu he" } do
  local v = norms[k .. " init"]
  assert(spread(v) < 10, ("%s: layers within a factor %g"):format(k, spread(v)))
end

-- the first row again, from model:gradients directly: the sigmoid network
-- with Xavier weights (seed 1), the first 256 training images
local data = lunet.dataset("fashion_mnist", { split = "train", n = 256, flatten = true })
local layers = { input = { 784 }, seed = 1 }
for _, h in ipairs{ 512, 256, 256, 128 } do
  layers[#layers + 1] = lunet.layer("dense", { out = h, init = "xavier" })
  layers[#layers + 1] = lunet.layer("sigmoid")
end
layers[#layers + 1] = lunet.layer("dense", { out = 10, init = "xavier" })
local g = lunet.sequential(layers):gradients(data, lunet.loss("cross_entropy"), { batch = 256, train = false })
local sq = 0
for _, v in ipairs(g.parameters[1].values) do sq = sq + v * v end
local want = norms["sigmoid xavier init"][1]
assert(math.abs(math.sqrt(sq) - want) <= 1e-6 * want, ("layer 1: %g, the script %g"):format(math.sqrt(sq), want))
