-- perceptron.lua -- Rosenblatt's perceptron and Novikoff's mistake bound.
--
-- On linearly separable data the perceptron makes at most R^2 / rho^2
-- corrections, where R bounds the norm of the inputs and rho is the margin
-- of some separating hyperplane (Novikoff 1962; the course's perceptron
-- chapter). Here: 2-D points labelled by a random line, with every point
-- closer than `gamma` to the line removed, so the margin is known. The
-- perceptron is lunet's `perceptron` loss, max(0, -t p), minimised by SGD
-- with learning rate 1 and batches of one sample: each misclassified sample
-- adds t x to the weights (and t to the bias), exactly Rosenblatt's rule.
-- It runs until an epoch makes no mistake. Weights start at ~1e-9, so the
-- bound, proved for a zero start, holds up to a negligible term.
--
-- For each margin: corrections made, the bound, epochs to converge. The
-- count must never exceed the bound (the script checks it) and both grow
-- as the margin shrinks.
--
-- Then the multi-class perceptron, one against all (Bishop, PRML section
-- 4.1.2 and figure 4.2): 3 classes of 2-D points, Gaussian blobs of
-- standard deviation 0.35 around (2, 0), (-1, 1.7), (-1, -1.7) (200 points
-- each, seeded; near separable), and 3 perceptrons, perceptron k trained as
-- above on "class k (t = +1) against the rest (t = -1)" for at most 100
-- epochs. The class of a point is the k with the largest score w_k.x + b_k.
-- Writes FILE_ova.csv (classifier: "class k" or "argmax"; train_error,
-- test_error on 600 fresh points; epochs) and FILE_ova.png, the plane
-- [-3.5, 3.5]^2 coloured by the argmax class, and 0 where no perceptron or
-- more than one claims the point (score > 0): the ambiguous regions of one
-- against all, which the argmax resolves.
--
--   lunet run scripts/perceptron.lua [--quick] [--out FILE.csv]     (~2 s)

local lunet = require "lunet"

local opt = lunet.options{ quick = false, no_plot = false, out = "results/perceptron.csv", n = 400, seed = 1 }
local margins = opt.quick and { 0.2, 0.05 } or { 0.4, 0.2, 0.1, 0.05, 0.02, 0.01 }

-- n points in [-1, 1]^2 labelled by the line w.x + b = 0, at least gamma away from it.
local function separable(n, gamma, seed)
  math.randomseed(seed)
  local a = 2 * math.pi * math.random()
  local w, b = { math.cos(a), math.sin(a) }, 0.2 * (math.random() - 0.5)
  local xs, ys = {}, {}
  while #xs < n do
    local x = { 2 * math.random() - 1, 2 * math.random() - 1 }
    local d = w[1] * x[1] + w[2] * x[2] + b -- signed distance: |w| = 1
    if math.abs(d) >= gamma then
      xs[#xs + 1], ys[#ys + 1] = x, d > 0 and 2 or 1 -- class 2 is t = +1, class 1 is t = -1
    end
  end
  return xs, ys, { w[1], w[2], b }
end

-- Novikoff in the augmented space x' = (x, 1): R = max |x'|, and the margin
-- of the true separator u = (w, b) / |(w, b)| is rho = min t u.x'.
local function novikoff_bound(xs, ys, u)
  local norm = math.sqrt(u[1] ^ 2 + u[2] ^ 2 + u[3] ^ 2)
  local R2, rho = 0, math.huge
  for i, x in ipairs(xs) do
    R2 = math.max(R2, x[1] ^ 2 + x[2] ^ 2 + 1)
    local t = ys[i] == 2 and 1 or -1
    rho = math.min(rho, t * (u[1] * x[1] + u[2] * x[2] + u[3]) / norm)
  end
  return R2 / rho ^ 2
end

os.remove(opt.out) -- a fresh file each run
local log = lunet.csv(opt.out, { columns = { "gamma", "corrections", "bound", "epochs" } })
for _, gamma in ipairs(margins) do
  local xs, ys, u = separable(opt.n, gamma, opt.seed)
  local data = lunet.data{ x = xs, y = ys }
  local model = lunet.sequential{ input = { 2 }, seed = opt.seed,
    lunet.layer("dense", { out = 1, init = "normal", std = 1e-9 }) }
  local corrections = 0
  local r = lunet.train{ model = model, data = data, loss = lunet.loss("perceptron"),
    optimizer = lunet.optimizer("sgd", { lr = 1 }), batch = 1, epochs = 10000, seed = opt.seed,
    verbose = false,
    on_epoch = function(_, m)
      corrections = corrections + math.floor(m.train.error * opt.n + 0.5)
      if m.train.error == 0 then return false end -- converged: a clean pass
    end }
  local bound = novikoff_bound(xs, ys, u)
  print(("margin %-5g  corrections %6d  bound %10.1f  epochs %d"):format(gamma, corrections, bound, r.epochs))
  assert(corrections <= bound, "Novikoff's bound violated")
  log:write{ gamma = gamma, corrections = corrections, bound = bound, epochs = r.epochs }
end
log:close()
if not opt.no_plot then
  print("figure: " .. lunet.plot{ csv = opt.out, x = "gamma", y = { "corrections", "bound" },
                                  logx = true, logy = true, title = "Perceptron corrections vs Novikoff's bound" })
end

-- ---- one against all ------------------------------------------------------

local centres = { { 2, 0 }, { -1, 1.7 }, { -1, -1.7 } }
local function blobs(per_class)
  local xs, cls = {}, {}
  for _ = 1, per_class do
    for k, c in ipairs(centres) do
      local r, a = 0.35 * math.sqrt(-2 * math.log(1 - math.random())), 2 * math.pi * math.random()
      xs[#xs + 1], cls[#cls + 1] = { c[1] + r * math.cos(a), c[2] + r * math.sin(a) }, k
    end
  end
  return xs, cls
end
math.randomseed(opt.seed)
local train_x, train_c = blobs(opt.quick and 50 or 200)
local test_x, test_c = blobs(200)

local perceptrons, scores = {}, {}
local function scores_of(xs)
  local s = {}
  for k, m in ipairs(perceptrons) do s[k] = m:predict(lunet.data{ x = xs }) end
  return s
end
local function argmax_error(xs, cls)
  local s, wrong = scores_of(xs), 0
  for i = 1, #xs do
    local best = 1
    for k = 2, #centres do if s[k][i][1] > s[best][i][1] then best = k end end
    if best ~= cls[i] then wrong = wrong + 1 end
  end
  return wrong / #xs
end

local ova_out = opt.out:gsub("%.csv$", "") .. "_ova.csv"
os.remove(ova_out)
local ova = lunet.csv(ova_out, { columns = { "classifier", "train_error", "test_error", "epochs" } })
for k = 1, #centres do
  local function against(cls) -- class 2 is t = +1, class 1 is t = -1
    local ys = {}
    for i, c in ipairs(cls) do ys[i] = c == k and 2 or 1 end
    return ys
  end
  local data = lunet.data{ x = train_x, y = against(train_c) }
  local model = lunet.sequential{ input = { 2 }, seed = opt.seed,
    lunet.layer("dense", { out = 1, init = "normal", std = 1e-9 }) }
  local r = lunet.train{ model = model, data = data, loss = lunet.loss("perceptron"),
    optimizer = lunet.optimizer("sgd", { lr = 1 }), batch = 1, epochs = 100, seed = opt.seed, verbose = false,
    on_epoch = function(_, m) if m.train.error == 0 then return false end end }
  perceptrons[k] = model
  local test = lunet.data{ x = test_x, y = against(test_c) }
  local tr, te = model:evaluate(data, lunet.loss("perceptron")).error, model:evaluate(test, lunet.loss("perceptron")).error
  ova:write{ classifier = "class " .. k, train_error = tr, test_error = te, epochs = r.epochs }
  print(("class %d against the rest: train error %.4f, test error %.4f, %d epochs"):format(k, tr, te, r.epochs))
end
local tr, te = argmax_error(train_x, train_c), argmax_error(test_x, test_c)
ova:write{ classifier = "argmax", train_error = tr, test_error = te, epochs = 0 }
ova:close()
print(("one against all, argmax: train error %.4f, test error %.4f"):format(tr, te))

if not opt.no_plot then
  local grid, cells, lo, hi, steps = {}, {}, -3.5, 3.5, 56
  for i = 0, steps - 1 do
    for j = 0, steps - 1 do
      grid[#grid + 1] = { lo + (j + 0.5) * (hi - lo) / steps, hi - (i + 0.5) * (hi - lo) / steps }
    end
  end
  local s = scores_of(grid)
  for i = 0, steps - 1 do
    local row = {}
    for j = 1, steps do
      local at, best, claims = i * steps + j, 1, 0
      for k = 1, #centres do
        if s[k][at][1] > s[best][at][1] then best = k end
        if s[k][at][1] > 0 then claims = claims + 1 end
      end
      row[j] = claims == 1 and best or 0
    end
    cells[#cells + 1] = row
  end
  print("figure: " .. lunet.heatmap{ matrix = cells, out = ova_out:gsub("%.csv$", "") .. ".png",
    xlabel = "x1 from -3.5 to 3.5", ylabel = "x2 from 3.5 down to -3.5",
    title = "One against all: argmax class 1-3; 0 where no perceptron or several claim the point" })
end
