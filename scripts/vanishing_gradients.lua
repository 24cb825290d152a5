-- vanishing_gradients.lua -- vanishing (and exploding) gradients in
-- recurrent networks (the course: BPTT multiplies one Jacobian per step, so
-- the gradient reaching an input d steps before the loss shrinks or grows
-- geometrically in d; gates and the LSTM's cell path keep it alive; clipping
-- bounds the exploding case).
--
-- Task: read T = 40 characters of the Jargon File and predict the next one;
-- the loss sits at the last step only, so the input at position t is
-- d = T - 1 - t steps away from it. Models: embedding (V, 16) -> rnn (tanh)
-- | gru | lstm with 64 units, output "last" -> dense (V). For each model:
-- the gradient of the mean loss over 256 windows with respect to the
-- embedded input at each position (model:gradients, the output of node 1),
-- its norm per window averaged over the windows, at initialisation, after
-- training (Adam 3e-3, 4 epochs on 8,000 windows), and after the same
-- training with the gradients clipped to norm 1. A tanh RNN with its
-- recurrent weights scaled up (x 4: spectral radius above 1) shows the
-- exploding case beside them.
-- Columns: model, stage, distance, grad_norm, relative (grad_norm at d over
-- grad_norm at d = 0).
-- What to see (figure FILE.png, log scale): the RNN's gradient falls by
-- orders of magnitude over 40 steps; the GRU's and LSTM's fall far less
-- after training (their gates learn to keep information); the scaled RNN's
-- grows with distance until tanh saturates.
--
--   lunet run scripts/vanishing_gradients.lua [--quick] [--out FILE.csv] [--no_plot]
--
-- Writes FILE.csv (default results/vanishing_gradients.csv) and FILE.png.
-- Takes about a minute on 2 cores; --quick (T = 16, 512 windows, 1 epoch)
-- a few seconds.

local lunet = require "lunet"

local opt = lunet.options{ quick = false, out = "results/vanishing_gradients.csv", no_plot = false }
local quick, out = opt.quick, opt.out
local T = quick and 16 or 40
local windows = quick and 512 or 8000
local epochs = quick and 1 or 4

-- windows of T characters, the target the character after each window
local text = lunet.dataset("text", { level = "char", seq_len = T, split = "train", stride = T })
local V = text:vocab_size()
local xs, ys = {}, {}
for i = 1, windows do
  local x, y = text:sample(i)
  xs[i], ys[i] = x, y[T]
end
local data = lunet.data{ x = xs, y = ys, tokens = V, classes = V }
local probe = lunet.data{ x = { table.unpack(xs, 1, 256) }, y = { table.unpack(ys, 1, 256) }, tokens = V, classes = V }
local loss = lunet.loss("cross_entropy")

os.remove(out)
local log = lunet.csv(out, { columns = { "model", "stage", "distance", "grad_norm", "relative", "curve" } })

-- mean over windows of |dL/dx_t|, t = 0..T-1, from node 1's output gradient (B, T, E)
local function norms_by_position(model)
  local g = model:gradients(probe, loss, { train = false })
  local d = g.outputs[1]
  local B, E = d.shape[1], d.shape[3]
  local norms = {}
  for t = 0, T - 1 do
    local sum = 0
    for b = 0, B - 1 do
      local sq = 0
      for e = 1, E do sq = sq + d.values[(b * T + t) * E + e] ^ 2 end
      sum = sum + math.sqrt(sq)
    end
    norms[t] = sum / B
  end
  return norms
end

local function record(name, stage, norms)
  local last = norms[T - 1]
  for t = T - 1, 0, -1 do
    local distance = T - 1 - t
    log:write{ model = name, stage = stage, distance = distance, grad_norm = norms[t], relative = norms[t] / last,
               curve = name .. " " .. stage }
  end
  print(("%-10s %-14s |g| at d = 0: %.3g, at d = %d: %.3g (ratio %.3g)"):format(name, stage, last, T - 1, norms[0],
                                                                                norms[0] / last))
end

local function model_for(cell)
  return lunet.sequential{ seed = 1, input = { T },
    lunet.layer("embedding", { vocab = V, dim = 16 }),
    lunet.layer(cell, { hidden = 64, output = "last" }),
    lunet.layer("dense", { out = V }) }
end

local function train(model, clip)
  lunet.train{ model = model, data = data, loss = loss, optimizer = lunet.optimizer("adam", { lr = 3e-3 }),
               epochs = epochs, batch = 32, seed = 1, clip_norm = clip, verbose = false }
end

for _, cell in ipairs{ "rnn", "gru", "lstm" } do
  local m = model_for(cell)
  record(cell, "init", norms_by_position(m))
  train(m, 0)
  record(cell, "trained", norms_by_position(m))
  local c = model_for(cell)
  train(c, 1)
  record(cell, "trained, clip 1", norms_by_position(c))
end

-- exploding: the RNN's recurrent weights times 4
local big = model_for("rnn")
for _, p in ipairs(big:parameters()) do
  if p.name:find("weight_hh", 1, true) then
    for i, v in ipairs(p.values) do p.values[i] = 4 * v end
    big:set_parameter(p.name, p.values)
  end
end
record("rnn x4", "init", norms_by_position(big))
log:close()

if opt.no_plot then return end -- e.g. without gnuplot
-- the figure: at initialisation and trained, without the clipped runs (in
-- the CSV), so that every curve keeps a colour of its own
local base = out:gsub("%.csv$", "")
os.remove(base .. "_figure.csv")
local curves = lunet.csv(base .. "_figure.csv", { columns = { "curve", "distance", "relative" } })
for _, r in ipairs(lunet.read_csv(out)) do
  if not r.stage:find("clip", 1, true) then curves:write{ curve = r.curve, distance = r.distance, relative = r.relative } end
end
curves:close()
lunet.plot{ csv = base .. "_figure.csv", x = "distance", y = { "relative" }, group = "curve", logy = true,
            out = base .. ".png", title = "|dL/dx_t| relative to the last step, by distance to the loss" }
os.remove(base .. "_figure.csv")
print("wrote " .. out .. " and " .. base .. ".png")
