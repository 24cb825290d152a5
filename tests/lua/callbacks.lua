-- on_epoch sees every epoch's metrics, eval_every controls when the eval
-- sets are computed, returning false stops, and an error inside it surfaces
-- as a Lua error with its own message.
local lunet = require "lunet"

local data = lunet.dataset("sinusoid", { n = 50, seed = 2 })
local val = lunet.dataset("sinusoid", { n = 20, seed = 3 })
local model = lunet.sequential{ lunet.layer("dense", { out = 16 }), lunet.layer("tanh"),
                                lunet.layer("dense", { out = 1 }) }
local seen = {}
local r = lunet.train{ model = model, data = data, loss = lunet.loss("mse"), eval = { val = val },
  eval_every = 2, optimizer = lunet.optimizer("adam", { lr = 0.01 }), epochs = 10, verbose = false,
  on_epoch = function(epoch, m)
    seen[#seen + 1] = { epoch = epoch, val = m.val, loss = m.train.loss, seconds = m.seconds }
    if epoch == 5 then return false end
  end }
assert(r.epochs == 5 and #seen == 5, "stopping at epoch 5 did not stop")
for i, s in ipairs(seen) do
  assert(s.epoch == i and s.loss > 0 and s.seconds >= 0)
  assert((s.val ~= nil) == (i % 2 == 0), "eval_every = 2 not honoured at epoch " .. i)
end
assert(seen[2].val.error == nil, "regression has no error rate")

local ok, err = pcall(lunet.train, { model = model, data = data, loss = lunet.loss("mse"),
  optimizer = lunet.optimizer("sgd"), epochs = 3, verbose = false,
  on_epoch = function() error("boom from the callback") end })
assert(not ok and err:find("boom from the callback"), err)
