-- lunet.graph: nodes with several inputs (add, concat) and a model with two
-- inputs, trained from in-memory data with two inputs; the same graph
-- written as lunet.sequential + lunet.residual gives the same numbers.
local lunet = require "lunet"

-- y = 1 if a1 + b1 > 0 else 2, from two inputs a (3 values) and b (2 values)
local xa, xb, y = {}, {}, {}
local rng = 12345
local function rand()
  rng = (rng * 1103515245 + 12345) % 2147483648
  return rng / 2147483648 * 2 - 1
end
for i = 1, 64 do
  xa[i] = { rand(), rand(), rand() }
  xb[i] = { rand(), rand() }
  y[i] = (xa[i][1] + xb[i][1] > 0) and 1 or 2
end
local data = lunet.data{ inputs = { xa, xb }, y = y }
assert(data:size() == 64 and data:input_shape(2)[1] == 2, "two inputs: (3) and (2)")

local g = lunet.graph{
  inputs = { "a", "b" }, seed = 7,
  nodes = {
    { "ha", lunet.layer("dense", { out = 8 }), "a" },
    { "hb", lunet.layer("dense", { out = 8 }), "b" },
    { "s", lunet.layer("add"), { "ha", "hb" } },
    { "c", lunet.layer("concat"), { "s", "ha" } },
    { "r", lunet.layer("relu"), "c" },
    { "out", lunet.layer("dense", { out = 2 }), "r" },
  },
}
local r = lunet.train{ model = g, data = data, loss = lunet.loss("cross_entropy"),
  optimizer = lunet.optimizer("adam", { lr = 0.02 }), epochs = 60, batch = 16, verbose = false }
assert(r.status == "ok", r.message)
assert(r.train.error < 0.1, "the two-input graph learns a1 + b1 > 0: error " .. r.train.error)
local s = g:summary()
assert(s:find("concat") and s:find("ha") and s:find("(16)", 1, true), s)
local names = {}
for _, p in ipairs(g:parameters()) do names[#names + 1] = p.name end
assert(table.concat(names, " ") == "ha.dense.weight ha.dense.bias hb.dense.weight hb.dense.bias out.dense.weight out.dense.bias",
  table.concat(names, " "))

-- the misfits name both nodes and both shapes
local ok, err = pcall(lunet.graph, { inputs = { "a", "b" }, input = { { 3 }, { 2 } },
  nodes = { { "s", lunet.layer("add"), { "a", "b" } } } })
assert(not ok and err:find("node 's'", 1, true) and err:find("(3)", 1, true) and err:find("(2)", 1, true), err)
ok, err = pcall(lunet.graph, { nodes = { { "h", lunet.layer("dense", { out = 2 }), "nope" } } })
assert(not ok and err:find("'nope'", 1, true), err)
ok, err = pcall(lunet.graph, { input = { 4 }, nodes = { { "h", lunet.layer("dense", { out = 2 }), "x" },
  { "dead", lunet.layer("relu"), "x" }, { "o", lunet.layer("relu"), "h" } } })
assert(not ok and err:find("'dead'", 1, true) and err:find("output", 1, true), err)
ok, err = pcall(lunet.graph, { input = { 4 }, nodes = { { "a", lunet.layer("add"), "x" } } })
assert(not ok and err:find("2 to 8 inputs", 1, true), err)

-- sequential + residual is sugar: the same graph written out gives the same numbers
local one = lunet.data{ x = xa, y = y }
local seq = lunet.sequential{ seed = 3, input = { 3 }, lunet.layer("dense", { out = 3 }),
  lunet.residual{ lunet.layer("tanh"), lunet.layer("dense", { out = 3 }) }, lunet.layer("dense", { out = 2 }) }
local gr = lunet.graph{ seed = 3, input = { 3 }, nodes = {
  { "1", lunet.layer("dense", { out = 3 }), "x" },
  { "t", lunet.layer("tanh"), "1" },
  { "d", lunet.layer("dense", { out = 3 }), "t" },
  { "2", lunet.layer("add"), { "1", "d" } },
  { "3", lunet.layer("dense", { out = 2 }), "2" } } }
local a = seq:predict(one)
local b = gr:predict(one)
for i = 1, #a do
  for j = 1, 2 do assert(a[i][j] == b[i][j], "sequential and graph differ at " .. i) end
end
