-- scripts/nets.lua and scripts/architectures.lua: each network's parameter
-- count against its formula, written out here from the layer sizes (conv
-- K C k k + K, dense out in + out, batch norm 2 C); LeCun's network at the
-- slide's own sizes (83x83, 101 classes), whose classifier has 256 x 101 =
-- 25,856 weights; concat joins (C, H, W) maps along the channels; the
-- --quick run trains every network and logs a row each.
local lunet = require "lunet"
local t = require "testlib"
local nets = require "nets"

local function conv(cin, cout, k, bias) return cout * cin * k * k + (bias == false and 0 or cout) end
local function dense(nin, nout) return nout * nin + nout end
local function bn(c) return 2 * c end

local function expect(model, want, what)
  local got = model:param_count()
  assert(got == want, ("%s: %d parameters, expected %d"):format(what, got, want))
end

-- LeNet-style on 28x28: 28 -conv 9-> 20 -avgpool 4/2-> 9 -conv 9-> 1
expect(nets.lenet{}, conv(1, 64, 9) + conv(64, 256, 9) + dense(256, 10), "lenet")
-- the slide's network: 83 -conv 9-> 75 -pool 10/5-> 14 -conv 9-> 6 -pool 6/4-> 1, 101 classes
local slide = nets.lenet{ input = { 1, 83, 83 }, classes = 101, pool1 = { 10, 5 }, pool2 = { 6, 4 } }
assert(256 * 101 == 25856 and 64 * 9 * 9 == 5184)
expect(slide, 64 * 9 * 9 + 64 + 256 * 64 * 9 * 9 + 256 + 256 * 101 + 101, "lenet at the slide's sizes")
local last = slide:parameters()
assert(#last[#last - 1].values == 25856, "the slide's classifier holds 256 x 101 = 25,856 weights")

-- VGG-style: two blocks of two 3x3 convs, 16 then 32 channels, 7x7 maps left
expect(nets.vgg{}, conv(1, 16, 3) + conv(16, 16, 3) + conv(16, 32, 3) + conv(32, 32, 3)
                   + dense(32 * 7 * 7, 128) + dense(128, 10), "vgg")

-- ResNet: stem, identity block (16), projection block (32, 1x1 shortcut), head
local resnet = bn(16) + conv(1, 16, 3, false)
             + 2 * (conv(16, 16, 3, false) + bn(16))
             + conv(16, 32, 3, false) + bn(32) + conv(32, 32, 3, false) + bn(32) + conv(16, 32, 1, false) + bn(32)
             + dense(32, 10)
expect(nets.resnet{}, resnet, "resnet")
expect(nets.resnet{ skip = false }, resnet - conv(16, 32, 1, false) - bn(32), "resnet without skips")

-- Inception: stem, 4 branches concatenated to 16 + 16 + 8 + 8 = 48 channels, 7x7 after pooling
expect(nets.inception{}, conv(1, 16, 3) + conv(16, 16, 1) + conv(16, 8, 1) + conv(8, 16, 3) + conv(16, 4, 1)
                         + conv(4, 8, 5) + conv(16, 8, 1) + dense(48 * 7 * 7, 10), "inception")
assert(nets.inception{}:summary():find("(48, 14, 14)", 1, true), "the concatenated block has 48 channels")
t.fails({ "unknown network", "lenet" }, nets.build, "alexnet")

-- concat along the channels of (C, H, W) maps: x (1, 3, 3) beside its 3x3
-- max pooling (stride 1, padding 1) and 2 x x: channel c of the output is
-- input c's map, every map in row-major order
local x = { 1, 5, 2, 7, 3, 0, 4, 8, 6 }
local g = lunet.graph{ input = { 1, 3, 3 }, nodes = {
  { "pool", lunet.layer("maxpool2d", { kernel = 3, stride = 1, padding = 1 }), "x" },
  { "sum", lunet.layer("add"), { "x", "x" } },
  { "cat", lunet.layer("concat", { axis = 1 }), { "x", "pool", "sum" } } } }
local out = g:predict(lunet.data{ x = { x }, y = { 0 }, shape = { 1, 3, 3 }, task = "regression" })[1]
assert(#out == 27, "(3, 3, 3) out")
for i = 0, 2 do
  for j = 0, 2 do
    local m = -math.huge
    for u = math.max(i - 1, 0), math.min(i + 1, 2) do
      for v = math.max(j - 1, 0), math.min(j + 1, 2) do m = math.max(m, x[u * 3 + v + 1]) end
    end
    local p = i * 3 + j + 1
    assert(out[p] == x[p] and out[9 + p] == m and out[18 + p] == 2 * x[p],
           ("concat at (%d, %d): %g %g %g"):format(i, j, out[p], out[9 + p], out[18 + p]))
  end
end

-- the script: one row per network, accuracy in [0, 1], seconds measured
local file = os.tmpname()
t.run_script("architectures", "--quick", "--no_plot", "--out", file)
local rows = lunet.read_csv(file)
os.remove(file)
assert(#rows == 4, #rows .. " rows")
for i, r in ipairs(rows) do
  assert(r.net == nets.names[i] and r.params == nets.build(r.net):param_count(), r.net .. " " .. r.params)
  assert(r.test_accuracy >= 0 and r.test_accuracy <= 1 and r.seconds > 0)
  assert(r.train_loss < math.log(10) * 1.5, r.net .. " diverged: loss " .. r.train_loss)
end
