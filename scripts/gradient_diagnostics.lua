-- gradient_diagnostics.lua -- the size of the gradient in each layer of a
-- deep MLP at initialisation, per activation function and initialisation
-- (the course's slide after the UvA deep-learning tutorial 3: Fashion-MNIST,
-- the gradient computed on a batch of 256 images).
--
-- Network (the tutorial's): 784 -> 512 -> 256 -> 256 -> 128 -> 10, dense
-- layers with the activation after each hidden one, for sigmoid, tanh,
-- ReLU, leaky ReLU (slope 0.01), ELU (alpha 1) and swish (beta 1), each with
-- Xavier (U(+-sqrt(6/(in+out))), Glorot & Bengio 2010) and He (N(0, 2/in),
-- He et al. 2015) weights, biases 0. For each of the 12 networks: the norm
-- of the gradient of the mean cross-entropy over the first 256 training
-- images with respect to each layer's weight matrix (model:gradients), at
-- initialisation, then again after training (SGD with momentum 0.9, lr 0.01,
-- batch 64, one epoch on N images, seed 1).
--
-- Columns (FILE.csv): activation, init, stage (init | trained), layer (1 =
-- next to the input), grad_norm, rms (grad_norm / sqrt(entries): the typical
-- entry, what the course's histograms show), relative (grad_norm over the
-- last layer's).
-- Figures: FILE_xavier.png and FILE_he.png (at initialisation),
-- FILE_trained_xavier.png and FILE_trained_he.png (after training): the norm
-- against the layer, one curve per activation, log scale.
-- What to see: with sigmoid the first layer's gradient is orders of
-- magnitude below the last layer's whatever the initialisation (sigmoid'
-- <= 1/4 and its outputs are not centred); tanh with Xavier and the ReLU
-- family with He keep every layer within a small factor of the others.
--
--   lunet run scripts/gradient_diagnostics.lua [--n 20000] [--quick]
--       [--out FILE.csv] [--no_plot]
--
-- Writes FILE.csv (default results/gradient_diagnostics.csv) and the
-- figures; about a minute on 2 cores, --quick (training on 256 images) a
-- few seconds.

local lunet = require "lunet"

local opt = lunet.options{ n = 20000, quick = false, out = "results/gradient_diagnostics.csv", no_plot = false }
local n = opt.quick and 256 or opt.n
local hidden = { 512, 256, 256, 128 }
local activations = {
  { "sigmoid", lunet.layer("sigmoid") }, { "tanh", lunet.layer("tanh") }, { "relu", lunet.layer("relu") },
  { "leaky_relu", lunet.layer("leaky_relu", { slope = 0.01 }) }, { "elu", lunet.layer("elu", { alpha = 1 }) },
  { "swish", lunet.layer("swish", { beta = 1 }) },
}
local inits = { "xavier", "he" }

local data = lunet.dataset("fashion_mnist", { split = "train", n = n, flatten = true })
local loss = lunet.loss("cross_entropy")

local function mlp(act, init)
  local layers = { input = data:input_shape(), seed = 1 }
  for _, h in ipairs(hidden) do
    layers[#layers + 1] = lunet.layer("dense", { out = h, init = init })
    layers[#layers + 1] = act
  end
  layers[#layers + 1] = lunet.layer("dense", { out = 10, init = init })
  return lunet.sequential(layers)
end

-- the norms of the weight gradients, layer by layer (biases left out), and
-- the number of entries of each
local function weight_grad_norms(model)
  local g = model:gradients(data, loss, { batch = 256, train = false })
  local norms, sizes = {}, {}
  for _, p in ipairs(g.parameters) do
    if p.name:match("weight$") then
      norms[#norms + 1], sizes[#norms + 1] = p.norm, #p.values
    end
  end
  return norms, sizes
end

os.remove(opt.out)
local log = lunet.csv(opt.out, { columns = { "activation", "init", "stage", "layer", "grad_norm", "rms", "relative" } })
local function record(act, init, stage, norms, sizes)
  for l, v in ipairs(norms) do
    log:write{ activation = act, init = init, stage = stage, layer = l, grad_norm = v, rms = v / math.sqrt(sizes[l]),
               relative = v / norms[#norms] }
  end
end

local table_rows = {}
for _, init in ipairs(inits) do
  for _, a in ipairs(activations) do
    local model = mlp(a[2], init)
    local before, sizes = weight_grad_norms(model)
    record(a[1], init, "init", before, sizes)
    local r = lunet.train{ model = model, data = data, loss = loss, epochs = 1, batch = 64, seed = 1, verbose = false,
                           optimizer = lunet.optimizer("sgd", { lr = 0.01, momentum = 0.9 }) }
    assert(r.status == "ok", a[1] .. " " .. init .. ": " .. tostring(r.message))
    local after = weight_grad_norms(model)
    record(a[1], init, "trained", after, sizes)
    table_rows[#table_rows + 1] = { a[1], init, before, after, 1 - r.train.error }
  end
end
log:close()

-- the table: each layer's norm at initialisation, the ratio of the first
-- layer's to the last's before and after training, the training accuracy
-- of that epoch
local head = "| activation | init |"
for l = 1, #hidden + 1 do head = head .. " layer " .. l .. " |" end
print(head .. " first/last at init | first/last trained | train accuracy |")
print("|---|---|" .. ("---:|"):rep(#hidden + 4))
for _, r in ipairs(table_rows) do
  local line = ("| %s | %s |"):format(r[1], r[2])
  for _, v in ipairs(r[3]) do line = line .. (" %.3g |"):format(v) end
  print(line .. (" %.3g | %.3g | %.3f |"):format(r[3][1] / r[3][#r[3]], r[4][1] / r[4][#r[4]], r[5]))
end

if opt.no_plot then return end
local base = opt.out:gsub("%.csv$", "")
for _, stage in ipairs{ "init", "trained" } do
  for _, init in ipairs(inits) do
    local png = base .. (stage == "trained" and "_trained_" or "_") .. init .. ".png"
    lunet.plot{ csv = opt.out, where = { "stage=" .. stage, "init=" .. init }, x = "layer", y = { "grad_norm" },
                group = "activation", logy = true, out = png,
                title = ("|dL/dW| per layer, %s init, %s"):format(init,
                  stage == "init" and "at initialisation" or "after one epoch of SGD") }
    print("figure: " .. png)
  end
end
