-- The --quick runs of the course-toolbox scripts, each checked for what
-- its header claims: the perceptron never exceeds Novikoff's bound and
-- needs more corrections for a smaller margin, and one against all
-- separates three blobs; LMS converges towards the
-- least-squares weights; every optimizer and regularizer writes its rows;
-- the CNN trains and logs every epoch.
local lunet = require "lunet"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")
local dir = os.tmpname()
os.remove(dir)

local function rows_of(name, ...)
  local path = here .. "/../../scripts/" .. name .. ".lua"
  local out = dir .. "/" .. name .. ".csv"
  arg = { [0] = path, "--quick", "--no_plot", "--out", out, ... }
  dofile(path)
  local rows = lunet.read_csv(out)
  os.remove(out)
  return rows
end

local perc = rows_of("perceptron")
assert(#perc == 2)
for _, r in ipairs(perc) do
  assert(r.corrections > 0 and r.corrections <= r.bound, "Novikoff's bound violated at margin " .. r.gamma)
end
assert(perc[1].gamma > perc[2].gamma and perc[1].bound < perc[2].bound)
-- one against all on three blobs: each perceptron separates its class, the argmax all three
local ova_path = dir .. "/perceptron_ova.csv"
local ova = lunet.read_csv(ova_path)
os.remove(ova_path)
assert(#ova == 4 and ova[4].classifier == "argmax")
for k = 1, 3 do assert(ova[k].classifier == "class " .. k and ova[k].train_error == 0, "class " .. k .. " separated") end
assert(ova[4].train_error == 0 and ova[4].test_error < 0.02, "argmax of the three scores")

local ada = rows_of("adaline")
assert(#ada == 10)
assert(ada[10].distance < ada[1].distance / 3, "LMS did not approach the least-squares weights")
assert(math.abs(ada[10].train_mse - ada[10].least_squares_mse) < 0.01)

local logreg = rows_of("logistic_regression")
assert(#logreg == 6 and logreg[3].test_error < 0.35, "binary logistic regression error " .. logreg[3].test_error)

local opt = rows_of("optimizers")
local seen = {}
for _, r in ipairs(opt) do seen[r.optimizer] = (seen[r.optimizer] or 0) + 1 end
for _, name in ipairs{ "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw" } do
  assert(seen[name] == 2, "no curve for " .. name)
end

local reg = rows_of("regularization")
assert(#reg == 5 and reg[1].method == "none" and reg[5].method == "early_stopping")
for _, r in ipairs(reg) do assert(r.weight_norm > 0 and r.test_error < 0.9) end
os.remove(dir .. "/regularization_epochs.csv")

local cnn = rows_of("cnn_fashion")
assert(#cnn == 2 and cnn[2].train_loss < cnn[1].train_loss, "the CNN did not learn")
os.remove(dir)
