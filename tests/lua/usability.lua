-- Small fixes from a new user's trial (issue 17, item 7): model:save makes
-- missing folders; lunet.data without y serves model:predict, and training
-- or evaluating on it says what is missing; ds:sample gives nil targets
-- there, and flat inputs with a class from 1 or an array of targets elsewhere.
local lunet = require "lunet"
local fails = require("testlib").fails

local xs = { { 1, 2 }, { 3, 4 }, { 5, 6 } }
local model = lunet.sequential{ input = { 2 }, seed = 3, lunet.layer("dense", { out = 2 }) }

-- model:save into folders that do not exist yet, and back
local dir = os.tmpname()
os.remove(dir)
local path = dir .. "/a/b/model.lunet"
local labelled = lunet.data{ x = xs, y = { { 1, 0 }, { 0, 1 }, { 1, 1 } } }
model:save(path)
local back = lunet.load(path)
local p1, p2 = model:predict(labelled), back:predict(labelled)
for i = 1, #xs do
  for j = 1, 2 do assert(p1[i][j] == p2[i][j], "the saved model predicts the same") end
end
os.remove(path)
os.remove(dir .. "/a/b")
os.remove(dir .. "/a")
os.remove(dir)

-- inputs only: predict works and matches the labelled data's predictions
local bare = lunet.data{ x = xs }
assert(bare:size() == 3)
local p3 = model:predict(bare)
for i = 1, #xs do
  for j = 1, 2 do assert(p3[i][j] == p1[i][j], "the same predictions without y") end
end
local x2, y2 = bare:sample(2)
assert(x2[1] == 3 and x2[2] == 4 and y2 == nil, "sample(2) gives x and no target")
-- ds:sample(i) -> x (flat), y: an array of regression targets, a class from 1
local _, y2l = labelled:sample(2)
assert(y2l[1] == 0 and y2l[2] == 1, "a labelled sample gives its target")
local classes = lunet.data{ x = { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } }, y = { 2, 1 }, shape = { 1, 2, 2 } }
local xc, yc = classes:sample(2)
assert(#xc == 4 and xc[4] == 8 and yc == 1 and math.type(yc) == "integer", "images come flat, classes from 1")

fails({ "no targets", "lunet.data without y", "model:predict" }, lunet.train,
      { model = model, data = bare, loss = lunet.loss("mse"), optimizer = lunet.optimizer("sgd"), verbose = false })
fails({ "no targets" }, model.evaluate, model, bare, lunet.loss("mse"))
fails({ "x is empty" }, lunet.data, { x = {} })
fails({ "y is a number" }, lunet.data, { x = xs, y = 3 })
fails({ "x has 3 rows but y has 2" }, lunet.data, { x = xs, y = { 1, 2 } })
