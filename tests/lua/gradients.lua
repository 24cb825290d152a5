-- model:gradients against central finite differences of model:evaluate, for
-- parameters and for a layer's output; and a custom Lua loop (lunet.trainer)
-- reproduces lunet.train's losses exactly on the same seed.
local lunet = require "lunet"

local xs, ys = {}, {}
for i = 1, 12 do
  local a, b = math.sin(i), math.cos(3 * i)
  xs[i] = { a, b, a * b }
  ys[i] = (a + b > 0) and 1 or 2
end
local data = lunet.data{ x = xs, y = ys }
local loss = lunet.loss("cross_entropy")
local m = lunet.sequential{ seed = 2, input = { 3 }, lunet.layer("dense", { out = 4 }), lunet.layer("tanh"),
  lunet.residual{ lunet.layer("dense", { out = 4 }), lunet.layer("sigmoid") }, lunet.layer("dense", { out = 2 }) }

local g = m:gradients(data, loss, { batch = 12 })
assert(#g.parameters == 6, "three dense layers: " .. #g.parameters)
assert(g.parameters[1].name == "1.dense.weight" and g.parameters[1].shape[1] == 4 and g.parameters[1].shape[2] == 3)
assert(#g.outputs == 6, "one output gradient per node: " .. #g.outputs)
assert(math.abs(g.loss - m:evaluate(data, loss).loss) < 1e-6, "the loss the gradients are of")

local function close(a, b, what)
  local tol = 1e-3 + 2e-2 * math.abs(b)
  assert(math.abs(a - b) <= tol, ("%s: backward %g, finite difference %g"):format(what, a, b))
end

-- every parameter value against (L(w + h) - L(w - h)) / 2h in float64 from float32 forwards
for _, p in ipairs(m:parameters()) do
  local grad
  for _, q in ipairs(g.parameters) do if q.name == p.name then grad = q end end
  local sq = 0
  for i, v in ipairs(p.values) do
    local h = 1e-2
    p.values[i] = v + h
    m:set_parameter(p.name, p.values)
    local up = m:evaluate(data, loss).loss
    p.values[i] = v - h
    m:set_parameter(p.name, p.values)
    local down = m:evaluate(data, loss).loss
    p.values[i] = v
    m:set_parameter(p.name, p.values)
    close(grad.values[i], (up - down) / (2 * h), p.name .. "[" .. i .. "]")
    sq = sq + grad.values[i] ^ 2
  end
  assert(math.abs(grad.norm - math.sqrt(sq)) < 1e-6 * (1 + grad.norm), "norm of " .. p.name)
end

-- the gradient at the output of layer 1 (dense): perturbing its bias by h moves
-- that output by h for every sample, so dL/db_j = sum over samples of dL/dy1_j
local out1 = g.outputs[1]
assert(out1.name:find("1 (dense", 1, true), out1.name)
assert(out1.shape[1] == 12 and out1.shape[2] == 4, "batch rows by 4")
local dbias = g.parameters[2]
for j = 1, 4 do
  local s = 0
  for i = 0, 11 do s = s + out1.values[i * 4 + j] end
  close(dbias.values[j], s, "sum of dL/dy1 column " .. j)
end

-- a custom loop reproduces lunet.train, batch by batch, on the same seed
local function model_for_loop()
  return lunet.sequential{ seed = 5, lunet.layer("dense", { out = 6 }), lunet.layer("dropout", { p = 0.25 }),
    lunet.layer("relu"), lunet.layer("dense", { out = 2 }) }
end
local opt = lunet.optimizer("adam", { lr = 0.01 })
local reference = {}
lunet.train{ model = model_for_loop(), data = data, loss = loss, optimizer = opt, epochs = 4, batch = 5,
  seed = 9, verbose = false, on_epoch = function(e, mt) reference[e] = mt.train.loss end }
local mine = model_for_loop()
local tr = lunet.trainer{ model = mine, data = data, loss = loss, optimizer = opt, batch = 5, seed = 9 }
for epoch = 1, 4 do
  local sum, n = 0, 0
  for b in tr:batches() do
    local l = tr:forward(b)
    tr:backward()
    tr:update()
    sum, n = sum + l * b:size(), n + b:size()
  end
  assert(n == 12, "every sample once per epoch")
  assert(sum / n == reference[epoch], ("epoch %d: custom loop %.17g, lunet.train %.17g"):format(epoch, sum / n, reference[epoch]))
end
local ok, err = pcall(tr.set, tr, "momentum", 0.9)
assert(not ok and err:find("adam") and err:find("momentum"), err)
tr:set("lr", 0.001)
