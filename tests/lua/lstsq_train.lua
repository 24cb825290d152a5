-- lunet.train with a closed-form optimizer (lstsq): one fit of the final
-- dense layer on the features of the fixed layers before it, reported as
-- one epoch; class indices fitted as one-hot rows; clear errors for models
-- and options it cannot honour. Also lunet.bias_variance on numbers worked
-- out by hand.
local lunet = require "lunet"

local fails = require("testlib").fails

local function close(a, b, tol, what)
  assert(math.abs(a - b) <= tol, ("%s = %.9g, expected %.9g"):format(what, a, b))
end

-- Noise-free linear data: the fit is exact, whatever the batch size.
local xs, ys = {}, {}
for i = 1, 50 do
  local a, b = math.sin(i), math.cos(3 * i)
  xs[i], ys[i] = { a, b }, { 2 * a - 3 * b + 1 }
end
local line = lunet.data{ x = xs, y = ys }
local model = lunet.sequential{ input = { 2 }, lunet.layer("dense", { out = 1 }) }
local calls = 0
local r = lunet.train{ model = model, data = line, loss = lunet.loss("mse"), batch = 7,
  optimizer = lunet.optimizer("lstsq"), eval = { line = line }, verbose = false,
  on_epoch = function(epoch, m)
    calls = calls + 1
    assert(epoch == 1 and m.train.loss < 1e-10 and m.line.loss < 1e-10)
  end }
assert(r.status == "ok" and r.epochs == 1 and calls == 1, "one fit, one epoch, one callback")
assert(r.train.loss < 1e-10, "training loss " .. r.train.loss)
local p = model:parameters()
close(p[1].values[1], 2, 1e-5, "w1")
close(p[1].values[2], -3, 1e-5, "w2")
close(p[2].values[1], 1, 1e-5, "b")

-- Ridge shrinks the weights; the unpenalised bias keeps the mean right.
lunet.train{ model = model, data = line, loss = lunet.loss("mse"), verbose = false,
  optimizer = lunet.optimizer("lstsq", { lambda = 1e3 }) }
p = model:parameters()
assert(math.abs(p[1].values[1]) < 1 and math.abs(p[1].values[2]) < 1.5, "ridge shrinks")

-- Fixed layers before the dense one: the fit sees their features.
local curve = {}
for i = 1, 40 do curve[i] = { math.sin(2 * math.pi * (i - 1) / 39) } end
local grid = {}
for i = 1, 40 do grid[i] = { (i - 1) / 39 } end
local sine = lunet.data{ x = grid, y = curve }
local basis = lunet.sequential{ lunet.layer("gaussian_basis", { centers = 12, s = 0.1 }),
                                lunet.layer("dense", { out = 1 }) }
r = lunet.train{ model = basis, data = sine, loss = lunet.loss("mse"), verbose = false,
  optimizer = lunet.optimizer("lstsq", { lambda = 1e-6 }) }
assert(r.train.loss < 1e-4, "12 Gaussians fit a sine: loss " .. r.train.loss)

-- Class indices are fitted as one-hot rows (here evaluated by cross_entropy).
local cx, cy = {}, {}
for i = 1, 60 do
  local k = i % 3 + 1
  cx[i], cy[i] = { k + 0.1 * math.sin(i), -k + 0.1 * math.cos(i) }, k
end
local classes = lunet.data{ x = cx, y = cy }
local clf = lunet.sequential{ lunet.layer("rff", { features = 40, sigma = 1 }), lunet.layer("dense", { out = 3 }) }
r = lunet.train{ model = clf, data = classes, loss = lunet.loss("cross_entropy"), verbose = false,
  optimizer = lunet.optimizer("lstsq") }
assert(r.train.error == 0, "separable classes: training error " .. tostring(r.train.error))

-- What it refuses, and how it says so.
local lstsq, mse = lunet.optimizer("lstsq"), lunet.loss("mse")
local trained = lunet.sequential{ lunet.layer("dense", { out = 4 }), lunet.layer("relu"), lunet.layer("dense", { out = 1 }) }
fails({ "lstsq", "layer 1 (dense(out=4))", "trainable" }, lunet.train,
      { model = trained, data = line, loss = mse, optimizer = lstsq, verbose = false })
local no_dense = lunet.sequential{ lunet.layer("dense", { out = 1 }), lunet.layer("tanh") }
fails({ "lstsq", "must be a dense layer", "2 (tanh)" }, lunet.train,
      { model = no_dense, data = line, loss = mse, optimizer = lstsq, verbose = false })
fails({ "'l2'", "lstsq", "closed-form" }, lunet.train,
      { model = model, data = line, loss = mse, optimizer = lstsq, l2 = 1e-3, verbose = false })
fails({ "rff", "features = 7", "even" }, lunet.sequential, { input = { 2 }, lunet.layer("rff", { features = 7 }) })
fails({ "gaussian_basis", "hi = 0", "lo = 1" }, lunet.sequential,
      { input = { 1 }, lunet.layer("gaussian_basis", { centers = 3, lo = 1, hi = 0 }) })
fails({ "lstsq", "lunet.train" }, lunet.train,
      { model = model, data = line, loss = mse, optimizer = lstsq, schedule = { kind = "cosine" }, verbose = false })

-- lunet.bias_variance: two data sets, two test points, truth {2, 2}:
-- mean {2, 3}, bias2 = (0 + 1) / 2, variance = (1 + 1) / 2, error = 6 / 4.
local bv = lunet.bias_variance{ predictions = { { 1, 2 }, { 3, 4 } }, truth = { 2, 2 }, targets = { 2, 4 } }
close(bv.bias2, 0.5, 1e-12, "bias2")
close(bv.variance, 1, 1e-12, "variance")
close(bv.error, 1.5, 1e-12, "error")
close(bv.noise, 2, 1e-12, "noise")                 -- (0 + 4) / 2
close(bv.test_error, (1 + 4 + 1 + 0) / 4, 1e-12, "test_error")
assert(bv.mean[1] == 2 and bv.mean[2] == 3)
-- the shape model:predict returns is accepted as well
bv = lunet.bias_variance{ predictions = { { { 1 }, { 2 } }, { { 3 }, { 4 } } }, truth = { { 2 }, { 2 } } }
close(bv.bias2 + bv.variance, bv.error, 1e-12, "bias2 + variance")
assert(bv.test_error == nil)
fails({ "lunet.bias_variance", "predictions[2]", "1 values", "expected 2" }, lunet.bias_variance,
      { predictions = { { 1, 2 }, { 3 } }, truth = { 2, 2 } })
fails({ "lunet.bias_variance", "'truth'", "required" }, lunet.bias_variance, { predictions = { { 1 } } })
fails({ "lunet.plot", "'csv'" }, lunet.plot, { x = "a", y = "b" })
