-- A learning rate that blows the loss up is reported as "diverged" with a
-- message, training stops there, and nothing crashes.
local lunet = require "lunet"

local xs, ys = {}, {}
for i = 1, 64 do xs[i] = { i, -i }; ys[i] = { 1000 * i } end
local data = lunet.data{ x = xs, y = ys }
local model = lunet.sequential{ lunet.layer("dense", { out = 8 }), lunet.layer("dense", { out = 1 }) }
local r = lunet.train{ model = model, data = data, loss = lunet.loss("mse"),
  optimizer = lunet.optimizer("sgd", { lr = 10 }), epochs = 50, batch = 8, verbose = false }
assert(r.status == "diverged", "status " .. tostring(r.status))
assert(r.message:find("loss became"), r.message)
assert(r.epochs < 50, "training went on after diverging")
