-- loss_landscape.lua -- the loss landscape of a small ResNet against the
-- same network without its skip connections, on Fashion-MNIST (Li et al.
-- 2018, "Visualizing the loss landscape of neural nets").
--
-- Both networks: a 3x3 convolution to C channels, then B blocks of two 3x3
-- convolutions (conv-relu-conv, then relu), 2x2 average pooling and a
-- dense layer to the 10 classes, on 14x14 images (the dataset's
-- downsample = 2). The ResNet adds each block's input to its
-- output (lunet.residual); the plain network is the same layers in a chain.
-- Both start from the same seed, are trained alike (Adam), and then:
--
--   1. the loss along the line from the initial to the trained weights,
--      L((1 - a) theta0 + a theta1), a in [-0.25, 1.25] (lunet.interpolate);
--   2. the loss over the plane theta + a d1 + b d2, a, b in [-1, 1], with
--      d1, d2 random Gaussian directions, filter-normalised (each filter of
--      d scaled to the norm of that filter of theta; biases left out), the
--      same seed for both networks (lunet.landscape).
--
-- The plane is measured three ways, printed and checked in the full run:
--   rise      the mean loss on the circle of radius 1 (the grid points at
--             distance 0.9..1.1 from the centre) minus the centre's loss;
--   nonconvex the fraction of interior grid points where the surface
--             curves downwards: the 2x2 Hessian of the surface there, from
--             second differences, has an eigenvalue lmin < -0.01 |lmax|;
--   ratio     the mean over those points of |lmin / lmax| where lmin < 0,
--             counting 0 where the surface is a bowl (Li et al.'s figure 7
--             maps |lmin / lmax| for the Hessian of the whole network).
-- The course's point, as in the paper's figure 5: without skips the
-- surface is rougher and less convex (more non-convex cells, contours
-- that wander), with them it is a smooth bowl.
--
-- Measured (the defaults: 6 blocks of 6 channels, 3 epochs of Adam on 4000
-- images, a 15 x 15 plane on 400; about 6 minutes on 2 cores), ResNet
-- against no skips: trained loss 0.499 / 0.609, rise at radius 1 68.5 /
-- 133.2, non-convex points 0.219 / 0.302, negative-curvature ratio 0.042 /
-- 0.080. With --blocks 12 the gap nearly closes (0.385 / 0.402 non-convex),
-- see docs/loss_landscape.md.
--
--   lunet run scripts/loss_landscape.lua [--quick] [--out DIR] [--no_plot]
--       [--blocks B] [--channels C] [--epochs E] [--steps S] [--line_steps 6k+1]
--       [--train_n N] [--eval_n N]
--   writes DIR/{resnet,plain}_plane.csv (a, b, loss, error),
--   DIR/interpolation.csv (net, a, loss, error) and the figures
--   DIR/{resnet,plain}_contour.png, DIR/{resnet,plain}_surface.png and
--   DIR/interpolation.png (default DIR: results/loss_landscape).
local lunet = require "lunet"

local opt = lunet.options{ quick = false, no_plot = false, out = "results/loss_landscape", seed = 1,
                           blocks = 0, channels = 0, epochs = 0, steps = 0, line_steps = 0, train_n = 0, eval_n = 0 }
local function pick(v, quick, full) if v > 0 then return v end return opt.quick and quick or full end
local blocks, channels = pick(opt.blocks, 2, 6), pick(opt.channels, 4, 6)
local epochs, steps = pick(opt.epochs, 1, 3), pick(opt.steps, 5, 15)
-- the line over [-0.25, 1.25] passes a = 0 and a = 1 exactly when its step divides 0.25
local line_steps = pick(opt.line_steps, 7, 19)
assert((line_steps - 1) % 6 == 0, "--line_steps must be 6k + 1, so that a = 0 and a = 1 are on the line")
local train_n, eval_n = pick(opt.train_n, 400, 4000), pick(opt.eval_n, 200, 400)

local train = lunet.dataset("fashion_mnist", { split = "train", n = train_n, downsample = 2 })
local probe = lunet.dataset("fashion_mnist", { split = "train", n = eval_n, downsample = 2 })
local ce = lunet.loss("cross_entropy")

local function conv() return lunet.layer("conv2d", { out_channels = channels, kernel = 3, padding = 1 }) end

-- the network, with skip connections or without
local function network(skips)
  local layers = { input = train:input_shape(), seed = opt.seed, conv(), lunet.layer("relu") }
  for _ = 1, blocks do
    local body = { conv(), lunet.layer("relu"), conv() }
    if skips then
      layers[#layers + 1] = lunet.residual(body)
    else
      for _, l in ipairs(body) do layers[#layers + 1] = l end
    end
    layers[#layers + 1] = lunet.layer("relu")
  end
  for _, l in ipairs{ lunet.layer("avgpool2d", { kernel = 2 }), lunet.layer("flatten"), lunet.layer("dense", { out = 10 }) } do
    layers[#layers + 1] = l
  end
  return lunet.sequential(layers)
end

-- Quantities of a plane (see the header): the loss rise at radius 1, and
-- from the 2x2 Hessian of the surface at each interior grid point (second
-- differences; eigenvalues lmin <= lmax) the fraction of points where it
-- curves downwards (lmin < -0.01 |lmax|) and the mean of |lmin / lmax|
-- where lmin < 0 (0 elsewhere).
local function measure(plane)
  local L, n, h = plane.loss, #plane.a, plane.a[2] - plane.a[1]
  local c = (n + 1) // 2
  local l0 = L[c][c]
  local ring, nring = 0, 0
  for j = 1, n do
    for i = 1, n do
      local r = math.sqrt(plane.a[i] ^ 2 + plane.b[j] ^ 2)
      if r >= 0.9 and r <= 1.1 then ring, nring = ring + L[j][i], nring + 1 end
    end
  end
  local bad, ratio, cells = 0, 0, 0
  for j = 2, n - 1 do
    for i = 2, n - 1 do
      local haa = (L[j][i + 1] - 2 * L[j][i] + L[j][i - 1]) / h ^ 2
      local hbb = (L[j + 1][i] - 2 * L[j][i] + L[j - 1][i]) / h ^ 2
      local hab = (L[j + 1][i + 1] - L[j + 1][i - 1] - L[j - 1][i + 1] + L[j - 1][i - 1]) / (4 * h ^ 2)
      local m, d = (haa + hbb) / 2, math.sqrt(((haa - hbb) / 2) ^ 2 + hab ^ 2)
      local lmin, lmax = m - d, m + d
      cells = cells + 1
      if lmin < -0.01 * math.abs(lmax) then bad = bad + 1 end
      if lmin < 0 and lmax ~= 0 then ratio = ratio + math.min(-lmin / math.abs(lmax), 1) end
    end
  end
  return { centre = l0, rise = nring > 0 and ring / nring - l0 or 0 / 0, nonconvex = bad / cells,
           ratio = ratio / cells }
end

-- Filter normalisation, checked on the directions lunet.landscape took:
-- each filter (a slice along the first dimension: an output channel of a
-- conv weight (K, C, 3, 3), a row of the dense weight) has the norm of the
-- same filter of the weights, and every bias direction is 0.
local function check_directions(model, directions)
  for _, p in ipairs(model:parameters()) do
    for k = 1, #directions do
      local d = directions[k][p.name]
      local rows = #p.shape > 1 and p.shape[1] or 0
      local cols = rows > 0 and #p.values // rows or #p.values
      for r = 1, math.max(rows, 1) do
        local dd, tt = 0, 0
        for j = (r - 1) * cols + 1, r * cols do dd, tt = dd + d[j] ^ 2, tt + p.values[j] ^ 2 end
        if rows == 0 then
          assert(dd == 0, p.name .. ": a bias direction must be 0")
        else
          assert(math.abs(math.sqrt(dd) - math.sqrt(tt)) <= 1e-4 * math.sqrt(tt),
                 ("%s filter %d: |d| %g, |theta| %g"):format(p.name, r, math.sqrt(dd), math.sqrt(tt)))
        end
      end
    end
  end
end

local function write_plane(path, plane)
  os.remove(path)
  local log = lunet.csv(path, { columns = { "a", "b", "loss", "error" } })
  for _, p in ipairs(plane.points) do log:write(p) end
  log:close()
end

os.execute(("mkdir -p '%s'"):format(opt.out))
local interp_csv = opt.out .. "/interpolation.csv"
os.remove(interp_csv)
local interp = lunet.csv(interp_csv, { columns = { "net", "a", "loss", "error" } })
local results = {}
for _, net in ipairs{ { name = "resnet", skips = true }, { name = "plain", skips = false } } do
  local init, model = network(net.skips), network(net.skips)
  local t0 = lunet.clock()
  local r = lunet.train{ model = model, data = train, loss = ce, optimizer = lunet.optimizer("adam", { lr = 0.003 }),
                         epochs = epochs, batch = 64, seed = opt.seed, verbose = false }
  local trained = model:evaluate(probe, ce)
  print(("%-6s %d parameters, %d epochs: train loss %.4f, error %.4f (%.0f s)"):format(net.name,
        model:param_count(), epochs, trained.loss, trained.error, lunet.clock() - t0))
  local line = lunet.interpolate{ from = init, to = model, data = probe, loss = ce, steps = line_steps,
                                  range = { -0.25, 1.25 } }
  for _, p in ipairs(line.points) do interp:write{ net = net.name, a = p.a, loss = p.loss, error = p.error } end
  t0 = lunet.clock()
  local plane = lunet.landscape{ model = model, data = probe, loss = ce, directions = 2, span = 1,
                                 steps = steps, seed = opt.seed, filter_norm = true }
  check_directions(model, plane.directions)
  local q = measure(plane)
  q.plane, q.line, q.trained, q.init = plane, line, trained, init:evaluate(probe, ce)
  results[net.name] = q
  print(("%-6s plane %dx%d (%.0f s): centre %.4f, rise at radius 1 %.4f, non-convex points %.3f, "
         .. "negative curvature ratio %.3f"):format(net.name, steps, steps, lunet.clock() - t0, q.centre, q.rise,
         q.nonconvex, q.ratio))
  write_plane(("%s/%s_plane.csv"):format(opt.out, net.name), plane)
end
interp:close()

-- what must hold for any network: the centre of the plane is the trained
-- model (and, trained, the lowest point of the grid up to a little), the
-- line's ends are the two solutions
for name, q in pairs(results) do
  assert(math.abs(q.centre - q.trained.loss) <= 1e-6 * q.trained.loss, name .. ": the centre is the trained model")
  local lowest = math.huge
  for _, p in ipairs(q.plane.points) do lowest = math.min(lowest, p.loss) end
  assert(lowest >= q.centre - 0.05 * q.centre, ("%s: grid minimum %.4f well below the centre %.4f"):format(name, lowest, q.centre))
  local a0, a1
  for i, a in ipairs(q.line.a) do
    if a == 0 then a0 = q.line.loss[i] elseif a == 1 then a1 = q.line.loss[i] end
  end
  assert(a0 == q.init.loss and a1 == q.trained.loss, name .. ": the line's ends are the two solutions")
end
local rs, pl = results.resnet, results.plain
print(("skips: non-convex points %.3f (resnet) vs %.3f (plain); rise at radius 1 %.3f vs %.3f"):format(
      rs.nonconvex, pl.nonconvex, rs.rise, pl.rise))
if not opt.quick then
  assert(rs.nonconvex <= pl.nonconvex, "the ResNet's landscape should be the more convex one")
end

if not opt.no_plot then
  for _, name in ipairs{ "resnet", "plain" } do
    local csv = ("%s/%s_plane.csv"):format(opt.out, name)
    local title = ("%s, %d blocks of %d channels: loss around the trained weights"):format(
                  name == "resnet" and "ResNet" or "no skips", blocks, channels)
    for _, style in ipairs{ "contour", "surface" } do
      lunet.plot{ csv = csv, x = "a", y = "b", z = "loss", style = style, logz = true, title = title,
                  out = ("%s/%s_%s.png"):format(opt.out, name, style) }
    end
  end
  lunet.plot{ csv = interp_csv, x = "a", y = { "loss", "error" }, group = "net", logy = true,
              title = "from the initial (a = 0) to the trained (a = 1) weights", out = opt.out .. "/interpolation.png" }
end
