-- resume_child.lua -- the training run that resume.lua interrupts: a small
-- MLP with dropout, trained with a cosine schedule and early-stopping
-- bookkeeping, logging one CSV row per epoch from on_epoch.
--   lunet run resume_child.lua CHECKPOINT|none OUT [OPTIMIZER [EPOCHS]]
-- writes OUT.csv (the rows of on_epoch) and, when training returns,
-- OUT.out: every parameter value and every returned metric as exact hex
-- floats, so that two runs can be compared byte for byte. Progress (and
-- "resuming from ...: K of N epochs done") goes to stderr.
local lunet = require "lunet"

local ck, out = arg[1], arg[2]
local opt, epochs = arg[3] or "adam", tonumber(arg[4] or "8")
local hyper = {
  adam = { lr = 0.01 }, adamw = { lr = 0.01, weight_decay = 0.01 },
  sgd = { lr = 0.05, momentum = 0.9, nesterov = true, weight_decay = 1e-4 },
  adagrad = { lr = 0.05, initial_accumulator_value = 0.1 },
  rmsprop = { lr = 0.005, momentum = 0.5, centered = true },
}

-- three classes in the plane, from a seeded linear congruential generator
local state = 12345
local function rnd()
  state = (state * 1103515245 + 12345) % 2147483648
  return state / 2147483648
end
local function points(n)
  local x, y = {}, {}
  for i = 1, n do
    local a, b = rnd() * 2 - 1, rnd() * 2 - 1
    x[i] = { a, b, a * b, rnd() - 0.5 }
    y[i] = (a + b > 0.3) and 1 or ((a - b > 0) and 2 or 3)
  end
  return lunet.data{ x = x, y = y }
end
local train, val = points(5000), points(500)

local model = lunet.sequential{ seed = 7,
  lunet.layer("dense", { out = 48 }), lunet.layer("relu"), lunet.layer("dropout", { p = 0.2 }),
  lunet.layer("dense", { out = 48 }), lunet.layer("relu"), lunet.layer("dense", { out = 3 }) }
local log = lunet.csv(out .. ".csv")
local r = lunet.train{ model = model, data = train, eval = { val = val },
  loss = lunet.loss("cross_entropy"), optimizer = lunet.optimizer(opt, hyper[opt]),
  epochs = epochs, batch = 16, seed = 3, schedule = { kind = "cosine", min_lr = 1e-4 },
  patience = epochs, verbose = true, checkpoint = ck ~= "none" and ck or nil,
  on_epoch = function(e, m)
    log:write{ epoch = e, train_loss = m.train.loss, val_loss = m.val.loss, val_error = m.val.error }
  end }

local lines = {}
for _, p in ipairs(model:parameters()) do
  for _, v in ipairs(p.values) do lines[#lines + 1] = ("%s %a"):format(p.name, v) end
end
for _, set in ipairs{ "train", "val" } do
  for _, k in ipairs{ "loss", "error" } do lines[#lines + 1] = ("%s.%s %a"):format(set, k, r[set][k]) end
end
lines[#lines + 1] = ("epochs %d best_epoch %d status %s"):format(r.epochs, r.best_epoch or 0, r.status)
local f = assert(io.open(out .. ".out.tmp", "w"))
f:write(table.concat(lines, "\n"), "\n")
f:close()
assert(os.rename(out .. ".out.tmp", out .. ".out"))
