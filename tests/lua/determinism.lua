-- Two runs with the same seeds give bit-identical losses and weights; a
-- different training seed gives different ones.
local lunet = require "lunet"

local function run(seed)
  local data = lunet.dataset("fashion_mnist", { split = "train", n = 512, label_noise = 0.1, seed = 5 })
  local model = lunet.sequential{ seed = 11,
    lunet.layer("dense", { out = 32 }), lunet.layer("tanh"), lunet.layer("dense", { out = 10 }) }
  local losses = {}
  lunet.train{ model = model, data = data, loss = lunet.loss("cross_entropy"),
    optimizer = lunet.optimizer("adam", { lr = 0.01 }), epochs = 3, batch = 50, seed = seed,
    verbose = false, on_epoch = function(e, m) losses[e] = m.train.loss end }
  return losses, model:parameters()
end

local l1, p1 = run(1)
local l2, p2 = run(1)
local l3 = run(2)
for e = 1, 3 do assert(l1[e] == l2[e], "epoch " .. e .. " losses differ between identical runs") end
for i, p in ipairs(p1) do
  for j, v in ipairs(p.values) do
    assert(v == p2[i].values[j], p.name .. " differs between identical runs")
  end
end
assert(l1[3] ~= l3[3], "another shuffling seed gave the same loss")
