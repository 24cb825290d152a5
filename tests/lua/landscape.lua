-- lunet.landscape and lunet.interpolate (Li et al. 2018) against the model
-- evaluated by hand: the centre of the plane is the solution, any point is
-- theta + a d1 + b d2 set with set_parameter, the directions are
-- filter-normalised (each row of a weight has the norm of that row of the
-- weights; biases get 0), the line's ends are the two solutions and its
-- middle their mean; the model is left as it was; errors name the option.
local lunet = require "lunet"
local t = require "testlib"

-- two classes of points in 3-D (spread deterministically), apart along x1 + x2
local x, y = {}, {}
for i = 1, 96 do
  x[i] = { math.sin(1.7 * i), math.cos(2.3 * i), math.sin(0.9 * i + 1) }
  y[i] = (x[i][1] + x[i][2] > 0) and 1 or 2
end
local data = lunet.data{ x = x, y = y }
local ce = lunet.loss("cross_entropy")

local function net(seed)
  return lunet.sequential{ input = { 3 }, seed = seed, lunet.layer("dense", { out = 6 }),
                           lunet.layer("tanh"), lunet.layer("dense", { out = 2 }) }
end
local init, trained = net(3), net(3)
lunet.train{ model = trained, data = data, loss = ce, optimizer = lunet.optimizer("sgd", { lr = 0.3 }),
             epochs = 30, batch = 16, seed = 1, verbose = false }

local function values(m)
  local v = {}
  for _, p in ipairs(m:parameters()) do v[p.name] = p.values end
  return v
end
local before = values(trained)
local base = trained:evaluate(data, ce)

-- the plane: 5 x 5 points over [-0.5, 0.5]^2
local r = lunet.landscape{ model = trained, data = data, loss = ce, steps = 5, span = 0.5, seed = 7 }
assert(#r.points == 25 and #r.a == 5 and #r.b == 5 and #r.loss == 5 and #r.loss[1] == 5)
assert(r.a[1] == -0.5 and r.a[3] == 0 and r.a[5] == 0.5 and r.b[3] == 0, "coordinates")
local centre = r.points[13]
assert(centre.a == 0 and centre.b == 0 and r.loss[3][3] == centre.loss)
assert(centre.loss == base.loss and centre.error == base.error,
       ("centre %.9g, the model %.9g"):format(centre.loss, base.loss))
-- the trained model is a minimum of this small grid
for _, p in ipairs(r.points) do
  assert(p.loss >= centre.loss - 1e-6, ("loss %g at (%g, %g) below the centre's %g"):format(p.loss, p.a, p.b, centre.loss))
end
-- the model is restored, bit for bit
local after = values(trained)
for name, v in pairs(before) do
  for i = 1, #v do assert(after[name][i] == v[i], name .. " changed") end
end

-- filter normalisation: each row of a weight matrix has the norm of the
-- same row of the weights; biases are left out (zero)
local function row_norm(v, row, cols)
  local ss = 0
  for j = 1, cols do ss = ss + v[(row - 1) * cols + j] ^ 2 end
  return math.sqrt(ss)
end
for k = 1, 2 do
  local d = r.directions[k]
  for _, p in ipairs(trained:parameters()) do
    local dv = d[p.name]
    assert(dv and #dv == #p.values, p.name .. " missing from directions[" .. k .. "]")
    if #p.shape == 1 then
      for i = 1, #dv do assert(dv[i] == 0, p.name .. ": a bias direction must be 0") end
    else
      local rows = p.shape[1]
      local cols = #p.values // rows
      for row = 1, rows do
        local want, got = row_norm(p.values, row, cols), row_norm(dv, row, cols)
        assert(math.abs(got - want) <= 1e-5 * want, ("%s row %d: |d| %g, |theta| %g"):format(p.name, row, got, want))
      end
    end
  end
end
local d1, d2 = r.directions[1]["1.dense.weight"], r.directions[2]["1.dense.weight"]
local same = true
for i = 1, #d1 do same = same and d1[i] == d2[i] end
assert(not same, "the two directions are independent draws")

-- a corner, by hand: theta + a d1 + b d2 in a copy of the network
local corner = r.points[5] -- a = 0.5, b = -0.5
local copy = net(99)
for name, v in pairs(before) do
  local w = {}
  for i = 1, #v do w[i] = v[i] + corner.a * r.directions[1][name][i] + corner.b * r.directions[2][name][i] end
  copy:set_parameter(name, w)
end
local by_hand = copy:evaluate(data, ce)
assert(math.abs(by_hand.loss - corner.loss) <= 1e-6 * by_hand.loss,
       ("corner %.9g, by hand %.9g"):format(corner.loss, by_hand.loss))

-- the same seed gives the same plane; another seed another
local again = lunet.landscape{ model = trained, data = data, loss = ce, steps = 5, span = 0.5, seed = 7 }
for i, p in ipairs(r.points) do assert(again.points[i].loss == p.loss, "not deterministic") end
local other = lunet.landscape{ model = trained, data = data, loss = ce, steps = 5, span = 0.5, seed = 8 }
assert(other.points[1].loss ~= r.points[1].loss, "seed 8 drew the directions of seed 7")

-- one direction: a line through the solution; without filter_norm the
-- whole direction has the norm of all the weights
local line = lunet.landscape{ model = trained, data = data, loss = ce, directions = 1, steps = 3,
                              filter_norm = false }
assert(#line.points == 3 and line.b == nil and #line.loss == 3 and line.loss[2] == base.loss)
local dd, tt = 0, 0
for _, p in ipairs(trained:parameters()) do
  for i, v in ipairs(p.values) do
    tt = tt + v * v
    dd = dd + line.directions[1][p.name][i] ^ 2
  end
end
assert(math.abs(math.sqrt(dd) - math.sqrt(tt)) <= 1e-5 * math.sqrt(tt), "whole-model normalisation")

-- interpolation between the initial and the trained network
local path = lunet.interpolate{ from = init, to = trained, data = data, loss = ce, steps = 5,
                                range = { -0.5, 1.5 } }
assert(#path.a == 5 and path.a[2] == 0 and path.a[4] == 1 and path.a[3] == 0.5)
local e0, e1 = init:evaluate(data, ce), trained:evaluate(data, ce)
assert(path.loss[2] == e0.loss and path.error[2] == e0.error, ("a = 0: %.9g, init %.9g"):format(path.loss[2], e0.loss))
assert(path.loss[4] == e1.loss and path.error[4] == e1.error, ("a = 1: %.9g, trained %.9g"):format(path.loss[4], e1.loss))
-- a = 0.5: the mean of the two solutions, set by hand
local v0 = values(init)
for name, v in pairs(before) do
  local w = {}
  for i = 1, #v do w[i] = 0.5 * v0[name][i] + 0.5 * v[i] end
  copy:set_parameter(name, w)
end
assert(copy:evaluate(data, ce).loss == path.loss[3], "a = 0.5 is the mean of the two solutions")
assert(e0.loss > e1.loss, "training went downhill")
local v0_after = values(init)
for name, v in pairs(v0) do
  for i = 1, #v do assert(v0_after[name][i] == v[i], "interpolate left 'from' changed") end
end

-- bad input: the message names the option and what was expected
t.fails({ "lunet.landscape", "'directions' must be 1 or 2" }, lunet.landscape,
        { model = trained, data = data, loss = ce, directions = 3 })
t.fails({ "'span' must be > 0" }, lunet.landscape, { model = trained, data = data, loss = ce, span = 0 })
t.fails({ "'steps' must be >= 2" }, lunet.landscape, { model = trained, data = data, loss = ce, steps = 1 })
t.fails({ "'loss' is required" }, lunet.landscape, { model = trained, data = data })
t.fails({ "unknown", "spam" }, lunet.landscape, { model = trained, data = data, loss = ce, spam = 1 })
t.fails({ "'from' and 'to' are the same model" }, lunet.interpolate,
        { from = trained, to = trained, data = data, loss = ce })
t.fails({ "lunet.interpolate", "too many", "at most 2^20" }, lunet.interpolate,
        { from = init, to = trained, data = data, loss = ce, steps = 1 << 30 })
t.fails({ "lunet.landscape", "too many", "at most 2^20" }, lunet.landscape,
        { model = trained, data = data, loss = ce, steps = 1025 })
t.fails({ "range", "lo < hi" }, lunet.interpolate,
        { from = init, to = trained, data = data, loss = ce, range = { 1, 0 } })
local wider = lunet.sequential{ input = { 3 }, lunet.layer("dense", { out = 7 }), lunet.layer("tanh"),
                                lunet.layer("dense", { out = 2 }) }
t.fails({ "expected the same network" }, lunet.interpolate, { from = wider, to = trained, data = data, loss = ce })
-- the same parameter names and sizes in other shapes are another network:
-- on four numbers, a 2x2 kernel over a 2x2 image against a 1x1 kernel over
-- four channels (both 4 weights, then dense 1 -> 2)
local four = lunet.data{ x = { { 1, 2, 3, 4 }, { 4, 3, 2, 1 } }, y = { 1, 2 } }
local function conv(input, k)
  return lunet.sequential{ input = input, lunet.layer("conv2d", { out_channels = 1, kernel = k, bias = false }),
                           lunet.layer("flatten"), lunet.layer("dense", { out = 2 }) }
end
local square, deep = conv({ 1, 2, 2 }, 2), conv({ 4, 1, 1 }, 1)
t.fails({ "expected the same network", "(1, 1, 2, 2) against", "(1, 4, 1, 1)" }, lunet.interpolate,
        { from = square, to = deep, data = four, loss = ce })
print("landscape: centre " .. centre.loss .. ", corner " .. corner.loss .. ", line " .. table.concat(path.loss, " "))

-- the plane to CSV (a, b, loss, error), drawn by lunet.plot as a contour map
local dir = os.tmpname()
os.remove(dir)
local csv = dir .. "/plane.csv"
local log = lunet.csv(csv, { columns = { "a", "b", "loss", "error" } })
for _, p in ipairs(r.points) do log:write(p) end
log:close()
local rows = lunet.read_csv(csv)
assert(#rows == 25 and rows[13].a == 0 and rows[13].b == 0 and rows[13].loss == centre.loss, "CSV round trip")
t.fails({ "lunet.plot", "where[1]" }, lunet.plot, { csv = csv, x = "a", y = "b", z = "loss", style = "contour", where = { 1 } })
t.fails({ "lunet.plot: no figure" }, lunet.plot, { csv = csv, x = "a", y = "b", z = "loss", style = "contour", where = "b=7" })
-- 32 conditions, each string held on the Lua stack while plot_main reads it
-- (more than LUA_MINSTACK: the stack overflowed into the heap, a segfault)
local many = {}
for i = 1, 31 do many[i] = "a!=" .. (100 + i) end
many[32] = "b=7"
t.fails({ "lunet.plot: no figure" }, lunet.plot, { csv = csv, x = "a", y = "b", z = "loss", style = "contour", where = many })
many[33] = "b=0"
t.fails({ "where has 33 conditions", "at most 32" }, lunet.plot, { csv = csv, x = "a", y = "b", z = "loss", style = "contour", where = many })
if t.gnuplot() then
  for _, style in ipairs{ "contour", "surface" } do
    local png = lunet.plot{ csv = csv, x = "a", y = "b", z = "loss", style = style, logz = true,
                            out = dir .. "/" .. style .. ".png" }
    local f = assert(io.open(png, "rb"))
    assert(f:read(4) == "\137PNG", png .. " is not a PNG")
    f:close()
    os.remove(png)
  end
  -- one row of the plane, b = 0, as a line through --where
  local line_png = lunet.plot{ csv = csv, x = "a", y = "loss", where = { "b=0" }, key = "none", out = dir .. "/line.png" }
  os.remove(line_png)
end
os.remove(csv)
os.remove(dir)
