-- An MLP trained on 2000 Fashion-MNIST images must reach at least 75% test
-- accuracy on 1000 test images in 8 epochs (it reaches ~80%), and the
-- reported metrics must agree with an independent evaluation.
local lunet = require "lunet"

local train = lunet.dataset("fashion_mnist", { split = "train", n = 2000 })
local test = lunet.dataset("fashion_mnist", { split = "test", n = 1000 })
assert(train:size() == 2000 and test:size() == 1000)
assert(train:classes() == 10)
local shape = train:input_shape()
assert(#shape == 3 and shape[1] == 1 and shape[2] == 28 and shape[3] == 28)

local model = lunet.sequential{
  lunet.layer("dense", { out = 64 }), lunet.layer("relu"), lunet.layer("dense", { out = 10 }),
}
local ce = lunet.loss("cross_entropy")
local r = lunet.train{
  model = model, data = train, loss = ce, eval = { test = test },
  optimizer = lunet.optimizer("sgd", { lr = 0.05, momentum = 0.9 }),
  epochs = 8, batch = 32, seed = 3, verbose = false,
}
assert(r.status == "ok", r.message)
assert(r.epochs == 8)
assert(model:param_count() == 784 * 64 + 64 + 64 * 10 + 10)
assert(1 - r.test.error >= 0.75, "test accuracy " .. (1 - r.test.error))

-- the result's test metrics equal a separate evaluation of the final model
local ev = model:evaluate(test, ce)
assert(math.abs(ev.loss - r.test.loss) < 1e-9 and ev.error == r.test.error)

-- and the error equals counting argmax mistakes over predict's outputs
local out, wrong = model:predict(test), 0
assert(#out == 1000 and #out[1] == 10)
for i = 1, #out do
  local best = 1
  for k = 2, 10 do if out[i][k] > out[i][best] then best = k end end
  local _, label = test:sample(i)
  if best ~= label then wrong = wrong + 1 end
end
assert(wrong / 1000 == ev.error, ("predict says %g, evaluate says %g"):format(wrong / 1000, ev.error))
