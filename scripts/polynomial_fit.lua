-- polynomial_fit.lua -- over-fitting with polynomials: Bishop, Pattern
-- Recognition and Machine Learning (2006), section 1.1, figures 1.4 and 1.5.
--
-- N = 10 points t = sin(2 pi x) + e, x evenly spaced over [0, 1], e ~
-- N(0, 0.3^2) (the `sinusoid` dataset, x = "grid"), fitted by least squares
-- with polynomials y(x) = w0 + w1 u + ... + wM u^M of degree M = 0..9. The
-- fit is lunet's closed-form `lstsq` optimizer (lambda = 0: minimum-norm
-- least squares, float64 SVD) on a dense layer without bias over the
-- features u^0..u^M, built here with lunet.data. u = 2x - 1 spans [-1, 1]:
-- the same polynomials as Bishop's powers of x, with coefficients 1000 times
-- smaller at M = 9, so the float32 forward pass does not cancel them away.
--
-- Writes two CSVs:
--   FILE.csv        M, train_rms, test_rms: E_RMS = sqrt(mean (y - t)^2) on
--                   the 10 points and on 100 fresh noisy test points (fig. 1.5);
--   FILE_curves.csv x, y, curve: the fits of M = 0, 1, 3, 9 on 101 points of
--                   [0, 1] and sin(2 pi x) (fig. 1.4), clipped to [-1.5, 1.5]
--                   as the book's axes are, and the data (curve "data").
-- What to see: M = 0 and 1 under-fit; M = 3 is close to sin(2 pi x); M = 9
-- passes through every point (train RMS ~ 0, checked below) and swings
-- wildly between them; the test RMS falls, then rises again for M >= 8
-- (Bishop: same shape, M = 9 test RMS far above the others).
--
--   lunet run scripts/polynomial_fit.lua [--quick] [--out FILE.csv] [--no_plot]
--
-- Takes well under a second; --quick is the same run with 30 test points.

local lunet = require "lunet"

local opt = lunet.options{ quick = false, out = "results/polynomial_fit.csv", no_plot = false, seed = 1 }
local out = opt.out
local curves_out = out:gsub("%.csv$", "") .. "_curves.csv"

-- x and t of a sinusoid dataset, as Lua arrays (ds:sample(i) -> x, t)
local function points(ds)
  local xs, ts = {}, {}
  for i = 1, ds:size() do
    local x, t = ds:sample(i)
    xs[i], ts[i] = x[1], t[1]
  end
  return xs, ts
end

local function features(xs, M)
  local rows = {}
  for i, x in ipairs(xs) do
    local u, row = 2 * x - 1, {}
    for j = 0, M do row[j + 1] = u ^ j end
    rows[i] = row
  end
  return rows
end

local train_x, train_t = points(lunet.dataset("sinusoid", { n = 10, noise = 0.3, x = "grid", seed = opt.seed }))
local test_x, test_t = points(lunet.dataset("sinusoid", { n = opt.quick and 30 or 100, noise = 0.3, seed = 1000 }))

local function fit(M)
  local model = lunet.sequential{ input = { M + 1 }, lunet.layer("dense", { out = 1, bias = false }) }
  lunet.train{ model = model, data = lunet.data{ x = features(train_x, M), y = train_t },
               loss = lunet.loss("mse"), optimizer = lunet.optimizer("lstsq"), verbose = false }
  return model
end

-- predictions of the model on xs (lunet.data without targets: predict only)
local function predict(model, xs, M)
  local p = model:predict(lunet.data{ x = features(xs, M) })
  local y = {}
  for i = 1, #p do y[i] = p[i][1] end
  return y
end

local function rms(y, t)
  local s = 0
  for i = 1, #t do s = s + (y[i] - t[i]) ^ 2 end
  return math.sqrt(s / #t)
end

os.remove(out)
os.remove(curves_out)
local log = lunet.csv(out, { columns = { "M", "train_rms", "test_rms" } })
local curves = lunet.csv(curves_out, { columns = { "x", "y", "curve" } })
local grid = {}
for i = 0, 100 do grid[#grid + 1] = i / 100 end
for i = 1, #grid do curves:write{ x = grid[i], y = math.sin(2 * math.pi * grid[i]), curve = "sin(2 pi x)" } end
for i = 1, #train_x do curves:write{ x = train_x[i], y = train_t[i], curve = "data" } end
local result = {}
for M = 0, 9 do
  local model = fit(M)
  local tr, te = rms(predict(model, train_x, M), train_t), rms(predict(model, test_x, M), test_t)
  result[M] = { train = tr, test = te }
  log:write{ M = M, train_rms = tr, test_rms = te }
  print(("M = %d  train RMS %.4f  test RMS %.4f"):format(M, tr, te))
  if M == 0 or M == 1 or M == 3 or M == 9 then
    local y = predict(model, grid, M)
    for i = 1, #grid do
      curves:write{ x = grid[i], y = math.max(-1.5, math.min(1.5, y[i])), curve = "M = " .. M }
    end
  end
end
log:close()
curves:close()

-- what the figures show, checked
assert(result[9].train < 1e-3, "M = 9 passes through all 10 points")
for M = 1, 9 do assert(result[M].train <= result[M - 1].train + 1e-6, "train RMS never rises with M") end
assert(result[3].test < result[0].test and result[3].test < result[9].test, "M = 3 generalises best of 0, 3, 9")

if opt.no_plot then return end -- e.g. without gnuplot
local png = out:gsub("%.csv$", "") .. ".png"
lunet.plot{ csv = out, x = "M", y = { "train_rms", "test_rms" }, logy = true, out = png,
            title = "Polynomial fits of 10 points of sin(2 pi x) + noise: E_RMS against degree M" }
lunet.plot{ csv = curves_out, x = "x", y = "y", group = "curve", out = curves_out:gsub("%.csv$", "") .. ".png",
            title = "Polynomials of degree M = 0, 1, 3, 9 fitted to 10 points (clipped to [-1.5, 1.5])" }
print("wrote " .. out .. ", " .. curves_out .. " and their figures")
