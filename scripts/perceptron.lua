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
--   lunet run scripts/perceptron.lua [--quick] [--out FILE.csv]     (~1 s)

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
