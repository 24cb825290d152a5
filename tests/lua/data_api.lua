-- lunet.data, predict, parameters and set_parameter against hand-computed
-- values of a dense layer, y = x W^T + b.
local lunet = require "lunet"

local data = lunet.data{ x = { {1, 2}, {3, 4}, {-1, 0.5} }, y = { 1, 2, 2 } }
assert(data:size() == 3 and data:classes() == 2)
local x1, y1 = data:sample(1)
assert(x1[1] == 1 and x1[2] == 2 and y1 == 1)

local model = lunet.sequential{ input = { 2 }, lunet.layer("dense", { out = 2 }) }
local ps = model:parameters()
assert(#ps == 2 and ps[1].name == "1.dense.weight" and ps[2].name == "1.dense.bias")
assert(ps[1].shape[1] == 2 and ps[1].shape[2] == 2 and ps[1].trainable)
model:set_parameter("1.dense.weight", { 1, 0.5, -2, 3 }) -- W = [[1, .5], [-2, 3]]
model:set_parameter("1.dense.bias", { 0.25, -1 })
local out = model:predict(data)
local function near(a, b) return math.abs(a - b) < 1e-6 end
-- row 1: x = (1, 2): y = (1 + 1 + .25, -2 + 6 - 1)
assert(near(out[1][1], 2.25) and near(out[1][2], 3))
-- row 3: x = (-1, .5): y = (-1 + .25 + .25, 2 + 1.5 - 1)
assert(near(out[3][1], -0.5) and near(out[3][2], 2.5))
-- set_parameter refuses a wrong length and an unknown name
assert(not pcall(model.set_parameter, model, "1.dense.bias", { 1, 2, 3 }))
local ok, err = pcall(model.set_parameter, model, "nope", { 1 })
assert(not ok and err:find("no parameter named 'nope'"), err)

-- evaluate: cross-entropy by hand for the same weights
local ev = model:evaluate(data, lunet.loss("cross_entropy"))
local function ce(z, k) return math.log(math.exp(z[1]) + math.exp(z[2])) - z[k] end
local want = (ce(out[1], 1) + ce(out[2], 2) + ce(out[3], 2)) / 3
assert(math.abs(ev.loss - want) < 1e-5, ("loss %g, by hand %g"):format(ev.loss, want))
-- argmax: row 1 (2.25, 3) -> class 2 (wrong), row 2 (3 + 2 + .25, -6 + 12 - 1) = (5.25, 5)
-- -> class 1 (wrong), row 3 (-0.5, 2.5) -> class 2 (right)
assert(math.abs(ev.error - 2 / 3) < 1e-12, "error " .. ev.error)

-- regression data: arrays as y, and a shape for x
local reg = lunet.data{ x = { {1, 2, 3, 4} }, y = { {0.5, 1.5} }, shape = { 1, 2, 2 } }
assert(reg:classes() == 0 and #reg:input_shape() == 3)
assert(not pcall(lunet.data, { x = { {1, 2}, {3} }, y = { 1, 2 } }))
