-- adaline.lua -- Widrow and Hoff's Adaline: the LMS rule on a noisy linear
-- problem, against the closed-form least-squares solution.
--
-- Adaline is a linear unit trained on the squared error one sample at a
-- time, w <- w + lr (t - w.x) x: lunet's `dense` layer with the `mse` loss
-- and SGD with batches of one. Its fixed point is the least-squares
-- solution, which lunet's `lstsq` optimizer computes in closed form (SVD).
-- Data: y = w*.x + b* + N(0, 0.1^2) for d = 5 inputs drawn from N(0, 1).
--
-- Per epoch: the training MSE of the LMS weights and their distance to the
-- least-squares weights. What to see: the distance falls by orders of
-- magnitude, to the jitter that a constant step leaves (it shrinks with lr),
-- and the MSE settles at the least-squares MSE, the noise level 0.01.
--
--   lunet run scripts/adaline.lua [--quick] [--out FILE.csv]        (~1 s)

local lunet = require "lunet"

local opt = lunet.options{ quick = false, no_plot = false, out = "results/adaline.csv", n = 100, lr = 0.005, seed = 1 }
local d, epochs = 5, opt.quick and 10 or 30

math.randomseed(opt.seed)
local function normal() return math.sqrt(-2 * math.log(1 - math.random())) * math.cos(2 * math.pi * math.random()) end
local w_true, b_true = {}, 0.5
for j = 1, d do w_true[j] = normal() end
local xs, ys = {}, {}
for i = 1, opt.n do
  local x, y = {}, b_true
  for j = 1, d do x[j] = normal(); y = y + w_true[j] * x[j] end
  xs[i], ys[i] = x, { y + 0.1 * normal() }
end
local data = lunet.data{ x = xs, y = ys }

local function weights(model) -- w_1..w_d, then the bias
  local p, v = model:parameters(), {}
  for j = 1, d do v[j] = p[1].values[j] end
  v[d + 1] = p[2].values[1]
  return v
end

-- the closed form: one call of the least-squares optimizer
local exact = lunet.sequential{ input = { d }, lunet.layer("dense", { out = 1 }) }
lunet.train{ model = exact, data = data, loss = lunet.loss("mse"), optimizer = lunet.optimizer("lstsq"),
             verbose = false }
local w_ls = weights(exact)
local mse_ls = exact:evaluate(data, lunet.loss("mse")).loss

os.remove(opt.out)
local log = lunet.csv(opt.out, { columns = { "epoch", "train_mse", "least_squares_mse", "distance" } })
local lms = lunet.sequential{ input = { d }, seed = opt.seed, lunet.layer("dense", { out = 1 }) }
lunet.train{ model = lms, data = data, loss = lunet.loss("mse"), batch = 1, epochs = epochs,
  optimizer = lunet.optimizer("sgd", { lr = opt.lr }), seed = opt.seed, verbose = false,
  on_epoch = function(epoch)
    local w, dist = weights(lms), 0
    for j = 1, d + 1 do dist = dist + (w[j] - w_ls[j]) ^ 2 end
    local mse = lms:evaluate(data, lunet.loss("mse")).loss
    log:write{ epoch = epoch, train_mse = mse, least_squares_mse = mse_ls, distance = math.sqrt(dist) }
    if epoch == epochs then
      print(("after %d epochs: |w_lms - w_ls| = %.2e, MSE %.5f (least squares %.5f)"):format(
        epoch, math.sqrt(dist), mse, mse_ls))
    end
  end }
log:close()
if not opt.no_plot then
  print("figure: " .. lunet.plot{ csv = opt.out, x = "epoch", y = { "train_mse", "least_squares_mse", "distance" },
                                  logy = true, title = "Adaline (LMS) converges to the least-squares solution" })
end
