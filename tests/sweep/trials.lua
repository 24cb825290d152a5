-- A sweep used by test_sweep.c:
--   lunet run trials.lua OUT WORKERS [crash|slow|stop|random SEED]
-- Trials train a tiny MLP on in-memory data; `crash` puts the crashy test
-- plugin (SIGSEGV when crash = true) into one configuration, `slow` runs
-- 50 trials (5 widths x 2 rates x 5 seeds) of ~0.03 s of CPU each, `stop`
-- fails one trial with on_failure = "stop", `random SEED` samples 6
-- configurations instead of a grid.
local lunet = require "lunet"
local out, workers, mode = arg[1], tonumber(arg[2]), arg[3]

local xs, ys = {}, {}
for i = 1, 64 do
  local a = (i % 8) / 4 - 1
  xs[i], ys[i] = { a, a * a }, a > 0 and 2 or 1
end
local data = lunet.data{ x = xs, y = ys }

local function spin(seconds) -- CPU work, so the trial takes time
  local t = os.clock()
  while os.clock() - t < seconds do end
end

local spec = {
  out = out, workers = workers, seeds = { 1, 2 },
  grid = { width = { 2, 4, 8 }, lr = { 0.1, 0.3 } },
  run = function(cfg, trial)
    if mode == "slow" then spin(0.03) end
    local layers = { seed = cfg.seed, lunet.layer("dense", { out = cfg.width }), lunet.layer("tanh") }
    if mode == "crash" then layers[#layers + 1] = lunet.layer("crashy", { crash = cfg.width == 4 and cfg.lr == 0.3 }) end
    layers[#layers + 1] = lunet.layer("dense", { out = 2 })
    local r = lunet.train{ model = lunet.sequential(layers), data = data, epochs = 3, batch = 16,
      loss = lunet.loss("cross_entropy"), optimizer = lunet.optimizer("sgd", { lr = cfg.lr }),
      seed = cfg.seed, verbose = false,
      on_epoch = function(e, m) trial:log{ epoch = e, train_loss = m.train.loss } end }
    if mode == "stop" and cfg.width == 2 and cfg.lr == 0.3 then error("planned failure") end
    return { train_loss = r.train.loss, train_error = r.train.error }
  end,
}
if mode == "stop" then spec.on_failure = "stop" end
if mode == "slow" then
  spec.grid.width = { 2, 4, 8, 16, 32 }
  spec.seeds = { 1, 2, 3, 4, 5 }
end
if mode == "random" then
  spec.grid = nil
  spec.random = { n = 6, seed = tonumber(arg[4]), space = { lr = lunet.loguniform(0.01, 1),
                  width = lunet.choice{ 2, 4, 8 }, decay = lunet.uniform(0, 0.1) } }
end
local r = lunet.sweep(spec)
print(("RESULT total=%d skipped=%d done=%d failed=%d"):format(r.total, r.skipped, r.done, r.failed))
