-- ensembles.lua -- averaging predictions and averaging weights: an
-- ensemble of independently trained networks (Hansen & Salamon 1990;
-- Lakshminarayanan et al. 2017) and stochastic weight averaging along one
-- trajectory (SWA, Izmailov et al. 2018), against a single network; the
-- course's ensembles and model averaging.
--
-- Data: the first 2000 Fashion-MNIST training images at 14x14 (downsample
-- 2), 5000 test images. Model: 196-128-10 ReLU, cross-entropy, SGD with
-- Nesterov momentum 0.9, lr 0.05, batch 50.
--   single    K = 5 networks, seeds 1..5, 30 epochs each: their test errors;
--   ensemble  the mean of the softmax outputs of the first k of them, k = 1..5;
--   swa       network 1 trained on for 30 more epochs at the same rate, its
--             weights averaged at the end of each: the test error of the
--             running average of s = 1..30 snapshots (no batch norm here, so
--             nothing to recompute), and of the last snapshot alone.
-- Columns: method, models (k networks or s snapshots averaged), test_error,
-- test_loss (the mean cross-entropy of the averaged probabilities).
-- What to see: the ensemble's error falls with k below every one of its
-- members; SWA's average beats the network it averages over, at the
-- training cost of a single network.
--
--   lunet run scripts/ensembles.lua [--quick] [--out FILE.csv] [--no_plot]
--
-- Writes FILE.csv (default results/ensembles.csv) and FILE.png. Takes about
-- 1 minute on 2 cores; --quick (500 images, 3 networks, 4 + 4 epochs) 2 s.

local lunet = require "lunet"

local opt = lunet.options{ quick = false, out = "results/ensembles.csv", no_plot = false }
local out, quick = opt.out, opt.quick
local K = quick and 3 or 5
local epochs = quick and 4 or 30

local function fashion(split, n)
  return lunet.dataset("fashion_mnist", { split = split, n = n, downsample = 2, flatten = true })
end
local train, test = fashion("train", quick and 500 or 2000), fashion("test", quick and 1000 or 5000)
local labels = {}
for i = 1, test:size() do labels[i] = select(2, test:sample(i)) end

local function new_model(seed)
  return lunet.sequential{ input = train:input_shape(), seed = seed,
    lunet.layer("dense", { out = 128 }), lunet.layer("relu"), lunet.layer("dense", { out = 10 }) }
end

local function fit(model, seed, n_epochs, on_epoch)
  lunet.train{ model = model, data = train, loss = lunet.loss("cross_entropy"), epochs = n_epochs, batch = 50,
               optimizer = lunet.optimizer("sgd", { lr = 0.05, momentum = 0.9, nesterov = true }),
               seed = seed, verbose = false, on_epoch = on_epoch }
end

-- softmax probabilities of the model on the test set, (n) arrays of 10
local function probabilities(model)
  local out = model:predict(test)
  for _, z in ipairs(out) do
    local top, sum = math.max(table.unpack(z)), 0
    for j = 1, #z do z[j] = math.exp(z[j] - top); sum = sum + z[j] end
    for j = 1, #z do z[j] = z[j] / sum end
  end
  return out
end

-- test error and cross-entropy of the mean of a list of probability tables
local function score(list)
  local wrong, nll = 0, 0
  for i, label in ipairs(labels) do
    local best, arg, p_true = -1, 0, 0
    for j = 1, 10 do
      local p = 0
      for _, probs in ipairs(list) do p = p + probs[i][j] end
      p = p / #list
      if p > best then best, arg = p, j end
      if j == label then p_true = p end
    end
    if arg ~= label then wrong = wrong + 1 end
    nll = nll - math.log(math.max(p_true, 1e-30))
  end
  return wrong / #labels, nll / #labels
end

os.remove(out)
local log = lunet.csv(out, { columns = { "method", "models", "test_error", "test_loss" } })
local members, probs = {}, {}
for k = 1, K do
  members[k] = new_model(k)
  fit(members[k], k, epochs)
  probs[k] = probabilities(members[k])
  local err, loss = score{ probs[k] }
  log:write{ method = "single", models = k, test_error = err, test_loss = loss }
  local e_err, e_loss = score({ table.unpack(probs, 1, k) })
  log:write{ method = "ensemble", models = k, test_error = e_err, test_loss = e_loss }
  print(("network %d: test error %.4f;  ensemble of %d: %.4f (loss %.4f)"):format(k, err, k, e_err, e_loss))
end

-- SWA: network 1 trained on, its weights averaged after every epoch
local sums, snapshots = {}, 0
local average = new_model(1)
local last_err
fit(members[1], 1, epochs, function(epoch)
  snapshots = snapshots + 1
  for _, p in ipairs(members[1]:parameters()) do
    local s = sums[p.name] or {}
    for j, v in ipairs(p.values) do s[j] = (s[j] or 0) + v end
    sums[p.name] = s
  end
  for name, s in pairs(sums) do
    local mean = {}
    for j, v in ipairs(s) do mean[j] = v / snapshots end
    average:set_parameter(name, mean)
  end
  local err, loss = score{ probabilities(average) }
  log:write{ method = "swa", models = snapshots, test_error = err, test_loss = loss }
  if epoch == epochs then
    last_err = score{ probabilities(members[1]) }
    print(("SWA of %d snapshots: test error %.4f (loss %.4f); the last snapshot alone %.4f"):format(
          snapshots, err, loss, last_err))
  end
end)
log:close()

if opt.no_plot then return end -- e.g. without gnuplot
local png = out:gsub("%.csv$", "") .. ".png"
lunet.plot{ csv = out, x = "models", y = "test_error", group = "method", out = png,
            title = "Fashion-MNIST, 2000 images: networks averaged (ensemble) or snapshots averaged (SWA)" }
print("wrote " .. out .. " and " .. png)
