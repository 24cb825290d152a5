-- lasso_ridge.lua -- the lasso by soft-thresholding beside ridge: exact
-- zeros against none (Tibshirani 1996; Hastie, Tibshirani & Friedman, ESL,
-- section 3.4 and figure 3.11; the course's L1 against L2 regularisation).
--
-- Data: n = 100 samples of d = 30 standard normal features (seeded), y =
-- X w* + N(0, 0.5^2) with 5 non-zero weights in w* (3, -2, 1.5, -1, 0.5),
-- and 1000 test samples of the same law. Model: one dense unit, no bias.
-- Objectives, with mse = mean_i (y_i - w.x_i)^2:
--   lasso  mse + lambda |w|_1, by ISTA (proximal gradient): a gradient step
--          from model:gradients, then the soft-threshold
--          S_t(w) = sign(w) max(|w| - t, 0), t = lambda / L, with L = 2
--          s_max(X)^2 / n the gradient's Lipschitz constant (power
--          iteration), warm-started from the previous, larger lambda,
--          run until no weight moves by 1e-6 (at most 3000 steps);
--   ridge  mse + lambda |w|^2, in closed form by the `lstsq` optimizer
--          (which weighs the SUM of squares: its lambda is n lambda here);
--   l1     the trainer's own l1 option on the lasso objective: plain SGD
--          (full batch, lr 1 / L, 500 epochs) on the subgradient
--          lambda sign(w) -- what lunet.train{ l1 = } does.
-- For lambda from 3 down to 0.0017 (steps of 10^(1/4)), per method: non-zero weights,
-- train and test MSE; for the lasso also the largest violation of its
-- optimality (KKT) conditions, from model:gradients at the answer: g_j +
-- lambda sign(w_j) = 0 where w_j != 0, |g_j| <= lambda where w_j = 0.
-- Columns: lambda, method, nonzeros, true_nonzeros (of the 5 true weights),
-- train_mse, test_mse, kkt.
-- What to see: the lasso's non-zeros fall from 30 to 0 as lambda grows,
-- keeping the 5 true weights longest; ridge shrinks every weight but keeps
-- all 30 non-zero; the subgradient of the l1 option never lands on 0 either.
--
--   lunet run scripts/lasso_ridge.lua [--quick] [--out FILE.csv] [--no_plot]
--
-- Writes FILE.csv (default results/lasso_ridge.csv) and FILE.png. Takes
-- about 5 s; --quick (5 values of lambda, 200 SGD epochs) about 1 s.

local lunet = require "lunet"
local linalg = require "linalg"

local opt = lunet.options{ quick = false, out = "results/lasso_ridge.csv", no_plot = false, seed = 1 }
local out = opt.out
local n, d, sigma = 100, 30, 0.5
local w_true = { 3, -2, 1.5, -1, 0.5 } -- the rest are 0

local function sample(count)
  local xs, ys = {}, {}
  for i = 1, count do
    local x, y = {}, sigma * linalg.normal()
    for j = 1, d do
      x[j] = linalg.normal()
      y = y + (w_true[j] or 0) * x[j]
    end
    xs[i], ys[i] = x, y
  end
  return xs, ys
end

math.randomseed(opt.seed)
local train_x, train_y = sample(n)
local test_x, test_y = sample(1000)
local train, test = lunet.data{ x = train_x, y = train_y }, lunet.data{ x = test_x, y = test_y }
local mse = lunet.loss("mse")

local function soft_threshold(w, t)
  if w > t then return w - t elseif w < -t then return w + t end
  return 0
end

local function new_model(std)
  return lunet.sequential{ input = { d }, seed = opt.seed,
                           lunet.layer("dense", { out = 1, bias = false, init = "normal", std = std }) }
end

local function weights(model) return model:parameters()[1].values end
local function set_weights(model, w) model:set_parameter(model:parameters()[1].name, w) end
local function gradient(model) return model:gradients(train, mse, { batch = n }).parameters[1].values end

-- non-zero weights: of all, and of the 5 true ones
local function nonzeros(w)
  local k, true_k = 0, 0
  for j, v in ipairs(w) do
    if v ~= 0 then
      k = k + 1
      if w_true[j] then true_k = true_k + 1 end
    end
  end
  return k, true_k
end

-- ISTA from the model's weights; returns the number of steps
local function lasso(model, lambda, L)
  local w = weights(model)
  for step = 1, 3000 do
    local g, moved = gradient(model), 0
    for j = 1, d do
      local v = soft_threshold(w[j] - g[j] / L, lambda / L)
      moved = math.max(moved, math.abs(v - w[j]))
      w[j] = v
    end
    set_weights(model, w)
    w = weights(model) -- as float32 holds them
    if moved < 1e-6 then return step end
  end
  return 3000
end

-- the largest violation of the lasso's optimality conditions at the model
local function kkt(model, lambda)
  local w, g, worst = weights(model), gradient(model), 0
  for j = 1, d do
    local v = w[j] ~= 0 and math.abs(g[j] + lambda * (w[j] > 0 and 1 or -1)) or math.max(0, math.abs(g[j]) - lambda)
    worst = math.max(worst, v)
  end
  return worst
end

local L = 2 * linalg.top_eigenvalue(train_x) / n -- 2 s_max^2 / n
assert(soft_threshold(1.5, 1) == 0.5 and soft_threshold(-0.25, 1) == 0 and soft_threshold(-3, 1) == -2)

local lambdas = {}
local step = opt.quick and 1 or 0.25 -- in log10 lambda
for e = math.log(3, 10), -3 - 1e-9, -step do lambdas[#lambdas + 1] = 10 ^ e end

os.remove(out)
local log = lunet.csv(out, { columns = { "lambda", "method", "nonzeros", "true_nonzeros", "train_mse", "test_mse", "kkt" } })
local function record(lambda, method, model, extra)
  local k, true_k = nonzeros(weights(model))
  local row = { lambda = lambda, method = method, nonzeros = k, true_nonzeros = true_k,
                train_mse = model:evaluate(train, mse).loss, test_mse = model:evaluate(test, mse).loss, kkt = extra }
  log:write(row)
  return row
end

local path = new_model(0) -- the lasso path starts at w = 0, warm from one lambda to the next
for _, lambda in ipairs(lambdas) do
  local steps = lasso(path, lambda, L)
  local las = record(lambda, "lasso", path, kkt(path, lambda))

  local ridge = new_model(0.01)
  lunet.train{ model = ridge, data = train, loss = mse, verbose = false,
               optimizer = lunet.optimizer("lstsq", { lambda = n * lambda }) }
  local rid = record(lambda, "ridge", ridge, 0)

  local sub = new_model(0.01)
  lunet.train{ model = sub, data = train, loss = mse, l1 = lambda, batch = n, epochs = opt.quick and 200 or 500,
               optimizer = lunet.optimizer("sgd", { lr = 1 / L }), verbose = false, seed = opt.seed }
  local l1 = record(lambda, "l1", sub, 0)
  print(("lambda %8.4f  non-zeros: lasso %2d (%d true; %4d steps, kkt %.1e), ridge %2d, l1 option %2d   test mse %.3f %.3f %.3f")
        :format(lambda, las.nonzeros, las.true_nonzeros, steps, las.kkt, rid.nonzeros, l1.nonzeros, las.test_mse, rid.test_mse, l1.test_mse))
end
log:close()

if opt.no_plot then return end -- e.g. without gnuplot
local png = out:gsub("%.csv$", "") .. ".png"
lunet.plot{ csv = out, x = "lambda", y = "nonzeros", group = "method", logx = true, out = png,
            title = string.format("Non-zero weights of %d (5 true) against lambda: lasso (ISTA), ridge, l1 subgradient", d) }
print("wrote " .. out .. " and " .. png)
