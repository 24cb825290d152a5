-- The --quick runs of the three other double-descent scripts: each writes
-- the columns its header promises; the model-wise rows carry the parameter
-- count of a one-hidden-layer network; the epoch-wise log has a row every
-- 2 epochs; the sample-wise test MSE of each model peaks where n equals
-- its number of features.
local lunet = require "lunet"

local run_script = require("testlib").run_script

local dir = os.tmpname()
os.remove(dir)
local function rows_of(name)
  local out = dir .. "/" .. name .. ".csv"
  run_script(name, "--quick", "--out", out)
  local rows = lunet.read_csv(out)
  os.remove(out)
  os.remove(dir .. "/" .. name .. ".png")
  return rows
end

local function has_columns(rows, cols)
  assert(#rows > 0)
  for _, c in ipairs(cols) do
    assert(rows[1][c] ~= nil, "missing column " .. c)
  end
end

-- model-wise
local mlp = rows_of("double_descent_mlp")
has_columns(mlp, { "width", "params", "seed", "label_noise", "train_error", "test_error" })
for _, r in ipairs(mlp) do
  assert(r.params == 49 * r.width + r.width + 10 * r.width + 10, "params of width " .. r.width)
end
assert(mlp[#mlp].train_error < mlp[1].train_error, "the widest network fits better than the narrowest")

-- epoch-wise
local ep = rows_of("double_descent_epochs")
has_columns(ep, { "epoch", "seed", "train_loss", "train_error", "test_loss", "test_error" })
assert(#ep == 10 and ep[1].epoch == 2 and ep[10].epoch == 20, "a row every 2 of 20 epochs")

-- sample-wise
local sw = rows_of("double_descent_samples")
has_columns(sw, { "n", "features", "seed", "train_mse", "test_mse", "train_error", "test_error" })
local peak = {}
for _, r in ipairs(sw) do
  local p = peak[r.features]
  if not p or r.test_mse > p.test_mse then peak[r.features] = r end
  if r.n <= r.features then assert(r.train_mse < 1e-6, "n <= features interpolates") end
end
for features, r in pairs(peak) do
  assert(r.n == features, ("test MSE of the %d-feature model peaks at n = %d"):format(features, r.n))
end
os.remove(dir)
