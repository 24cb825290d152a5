-- Bad input gives errors that name the thing and what was expected.
local lunet = require "lunet"

local fails = require("testlib").fails

fails({ "dense", "unknown parameter 'outs'" }, lunet.layer, "dense", { outs = 3 })
fails({ "dense", "'out'", "required" }, lunet.layer, "dense")
fails({ "dense", "'out'", "got 0" }, lunet.layer, "dense", { out = 0 })
fails({ "sgd", "'lr'", "'fast'" }, lunet.optimizer, "sgd", { lr = "fast" })
fails({ "no layer plugin named 'convolution'", "known:", "dense" }, lunet.layer, "convolution")
fails({ "lunet.train", "unknown option 'epoch'" }, lunet.train, { epoch = 3 })
fails({ "lunet.sequential", "item 2" }, lunet.sequential, { lunet.layer("relu"), 42 })

-- a model whose output does not fit the data: names the loss and both shapes
local data = lunet.data{ x = { {1, 2}, {3, 4} }, y = { 1, 3 } }
local model = lunet.sequential{ lunet.layer("dense", { out = 5 }) }
fails({ "cross_entropy", "(5)", "3 classes" }, lunet.train, { model = model, data = data,
  loss = lunet.loss("cross_entropy"), optimizer = lunet.optimizer("sgd"), verbose = false })

-- a residual block must keep its input's shape: names the block and both shapes
fails({ "residual", "(4)", "(3)" }, lunet.sequential, { input = { 4 },
  lunet.residual{ lunet.layer("dense", { out = 3 }) } })

-- a model built for one input shape refuses data of another, naming both
local m2 = lunet.sequential{ input = { 3 }, lunet.layer("dense", { out = 2 }) }
fails({ "(3)", "(2)" }, m2.evaluate, m2, data, lunet.loss("cross_entropy"))

-- a csv dataset that does not exist names the path
fails({ "/nonexistent/file.csv" }, lunet.dataset, "csv", { path = "/nonexistent/file.csv" })

-- a wrong dataset names the option it came from
do
  local d = lunet.data{ x = { { 1 }, { 2 } }, y = { { 1 }, { 2 } } }
  local m = lunet.sequential{ input = { 1 }, lunet.layer("dense", { out = 1 }) }
  local base = { model = m, loss = lunet.loss("mse"), verbose = false, epochs = 1 }
  local function with(extra)
    local o = {}
    for k, v in pairs(base) do o[k] = v end
    for k, v in pairs(extra) do o[k] = v end
    return o
  end
  fails({ "lunet.train: 'data'", "expected a dataset", "got number" }, lunet.train, with{ data = 5 })
  fails({ "lunet.train: eval.test", "expected a dataset", "got number" }, lunet.train,
        with{ data = d, eval = { test = 3 } })
  fails({ "eval must be a table", "got string" }, lunet.train, with{ data = d, eval = "test" })
end
