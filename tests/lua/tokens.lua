-- Token ids: lunet.data{ tokens = V } feeds an embedding layer; ids are
-- checked against the vocabulary, a float layer refuses ids, and a model
-- taking ids learns a token -> class mapping.
local lunet = require "lunet"

local x, y = {}, {}
for i = 1, 40 do
  local a, b = (i % 5) + 1, ((i * 3) % 5) + 1
  x[i] = { a, b }
  y[i] = (a > b) and 1 or 2
end
local data = lunet.data{ x = x, y = y, tokens = 5 }
local s1, s2 = data:sample(1)
assert(s1[1] == x[1][1] and s1[2] == x[1][2], "ids read back as given (from 1)")
local m = lunet.sequential{ seed = 1, lunet.layer("embedding", { vocab = 5, dim = 4 }), lunet.layer("flatten"),
  lunet.layer("dense", { out = 16 }), lunet.layer("relu"), lunet.layer("dense", { out = 2 }) }
local r = lunet.train{ model = m, data = data, loss = lunet.loss("cross_entropy"),
  optimizer = lunet.optimizer("adam", { lr = 0.05 }), epochs = 80, batch = 8, verbose = false }
assert(r.status == "ok" and r.train.error == 0, "learns a > b from ids: error " .. tostring(r.train.error))
assert(m:parameters()[1].name == "1.embedding.weight" and m:parameters()[1].shape[1] == 5)
local g = m:gradients(data, lunet.loss("cross_entropy"), { batch = 8 })
assert(g.parameters[1].norm > 0, "the embedding gets a gradient")

local ok, err = pcall(lunet.data, { x = { { 1, 6 } }, y = { 1 }, tokens = 5 })
assert(not ok and err:find("1..5", 1, true), err)
local small = lunet.sequential{ lunet.layer("embedding", { vocab = 3, dim = 2 }), lunet.layer("flatten"),
  lunet.layer("dense", { out = 2 }) }
ok, err = pcall(small.evaluate, small, data, lunet.loss("cross_entropy"))
assert(not ok and err:find("embedding") and err:find("vocab", 1, true), err)
local float_first = lunet.sequential{ lunet.layer("dense", { out = 2 }) }
ok, err = pcall(float_first.evaluate, float_first, data, lunet.loss("cross_entropy"))
assert(not ok and err:find("token ids", 1, true) and err:find("embedding", 1, true), err)
