-- The inverse-time schedule, lr_t = lr0 / (1 + decay * t / step) (Keras'
-- InverseTimeDecay with t in epochs), against plain SGD written out here:
-- one sample per epoch, so step k (from 0) runs at t = k and
-- w <- w - lr_k * d/dw (w x - y)^2.
local lunet = require "lunet"
local fails = require("testlib").fails

local x, y = 2.0, 3.0
local data = lunet.data{ x = { { x } }, y = { { y } } }
local model = lunet.sequential{ input = { 1 }, seed = 1,
  lunet.layer("dense", { out = 1, bias = false, init = "normal", std = 0.1 }) }
local w = model:parameters()[1].values[1]

local lr0, decay, step, epochs = 0.05, 0.5, 2, 6
lunet.train{ model = model, data = data, loss = lunet.loss("mse"), epochs = epochs, batch = 1,
             optimizer = lunet.optimizer("sgd", { lr = lr0 }), verbose = false,
             schedule = { kind = "inverse_time", decay = decay, step = step } }
for k = 0, epochs - 1 do
  local lr = lr0 / (1 + decay * k / step)
  w = w - lr * 2 * (w * x - y) * x
end
local got = model:parameters()[1].values[1]
assert(math.abs(got - w) < 1e-5 * math.abs(w), ("inverse_time: w = %.7f, by hand %.7f"):format(got, w))

-- the same run at constant lr ends elsewhere: the schedule did something
model = lunet.sequential{ input = { 1 }, seed = 1,
  lunet.layer("dense", { out = 1, bias = false, init = "normal", std = 0.1 }) }
lunet.train{ model = model, data = data, loss = lunet.loss("mse"), epochs = epochs, batch = 1,
             optimizer = lunet.optimizer("sgd", { lr = lr0 }), verbose = false }
assert(math.abs(model:parameters()[1].values[1] - got) > 1e-4, "a constant rate differs")

fails({ "schedule step must be > 0" }, lunet.train, { model = model, data = data, loss = lunet.loss("mse"),
  optimizer = lunet.optimizer("sgd"), verbose = false, schedule = { kind = "inverse_time", step = 0 } })
fails({ "inverse_time" }, lunet.train, { model = model, data = data, loss = lunet.loss("mse"),
  optimizer = lunet.optimizer("sgd"), verbose = false, schedule = { kind = "inverse" } })
-- the type named is the schedule's, not the options table's
fails({ "schedule must be a table", "got string" }, lunet.train, { model = model, data = data,
  loss = lunet.loss("mse"), optimizer = lunet.optimizer("sgd"), verbose = false, schedule = "cosine" })
