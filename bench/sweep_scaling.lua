-- bench/sweep_scaling.lua -- throughput of a CPU-bound sweep, 1 worker vs 2.
--
--   lunet run bench/sweep_scaling.lua [--repeats 3] [--trials 8]
--
-- Each trial trains a 784-64-10 MLP for 8 epochs on 2,000 Fashion-MNIST
-- images. The sweep is timed with workers = 1 and workers = 2 alternately,
-- each into a fresh file; prints the medians and the speed-up.
local lunet = require "lunet"

local opt = lunet.options{ repeats = 3, trials = 8 }
local data = lunet.dataset("fashion_mnist", { split = "train", n = 2000 })
local seeds = {}
for i = 1, opt.trials do seeds[i] = i end

local function time_sweep(workers)
  local out = os.tmpname()
  os.remove(out)
  local t0 = lunet.clock()
  lunet.sweep{ out = out, workers = workers, seeds = seeds, run = function(cfg)
    local m = lunet.sequential{ seed = cfg.seed, lunet.layer("dense", { out = 64 }), lunet.layer("relu"),
                                lunet.layer("dense", { out = 10 }) }
    local r = lunet.train{ model = m, data = data, loss = lunet.loss("cross_entropy"), epochs = 8, batch = 32,
      optimizer = lunet.optimizer("sgd", { lr = 0.05 }), seed = cfg.seed, verbose = false }
    return { train_error = r.train.error }
  end }
  local seconds = lunet.clock() - t0
  os.remove(out)
  os.remove((out:gsub("%.csv$", "")) .. "_log.csv")
  return seconds
end

local one, two = {}, {}
for r = 1, opt.repeats do
  one[r] = time_sweep(1)
  two[r] = time_sweep(2)
end
table.sort(one)
table.sort(two)
local m1, m2 = one[(#one + 1) // 2], two[(#two + 1) // 2]
print(("RESULT one_worker_s=%.3f two_workers_s=%.3f speedup=%.2f"):format(m1, m2, m1 / m2))
