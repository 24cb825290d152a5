-- bench/sweep_scaling.lua -- throughput of a CPU-bound sweep, 1 worker vs 2.
--
--   lunet run bench/sweep_scaling.lua [--repeats 3] [--trials 8] [--epochs 20]
--
-- Each trial trains a 784-64-10 MLP for `epochs` epochs on 2,000
-- Fashion-MNIST images (about 0.3 s at 20 epochs). The sweep is timed with
-- workers = 1 and workers = 2 (each trial's BLAS on one thread, the sweep's
-- default), and with workers = 1, threads = 2 (the other way to use two
-- cores), in turn, each into a fresh file; prints the medians and the
-- speed-up of 2 workers over 1.
local lunet = require "lunet"

local opt = lunet.options{ repeats = 3, trials = 8, epochs = 20 }
local data = lunet.dataset("fashion_mnist", { split = "train", n = 2000 })
local seeds = {}
for i = 1, opt.trials do seeds[i] = i end

local function trial(cfg)
  local m = lunet.sequential{ seed = cfg.seed, lunet.layer("dense", { out = 64 }), lunet.layer("relu"),
                              lunet.layer("dense", { out = 10 }) }
  local r = lunet.train{ model = m, data = data, loss = lunet.loss("cross_entropy"), epochs = opt.epochs,
    batch = 32, optimizer = lunet.optimizer("sgd", { lr = 0.05 }), seed = cfg.seed, verbose = false }
  return { train_error = r.train.error }
end

local function time_sweep(workers, threads)
  local out = os.tmpname()
  os.remove(out)
  local t0 = lunet.clock()
  lunet.sweep{ out = out, workers = workers, threads = threads, seeds = seeds, run = trial }
  local seconds = lunet.clock() - t0
  os.remove(out)
  return seconds
end

local function median(v)
  table.sort(v)
  return #v % 2 == 1 and v[(#v + 1) // 2] or (v[#v // 2] + v[#v // 2 + 1]) / 2
end

local one, two, one_t2 = {}, {}, {}
for r = 1, opt.repeats do
  one[r] = time_sweep(1, 1)
  two[r] = time_sweep(2, 1)
  one_t2[r] = time_sweep(1, 2)
end
local m1, m2, m12 = median(one), median(two), median(one_t2)
print(("RESULT one_worker_s=%.3f two_workers_s=%.3f speedup=%.2f one_worker_two_threads_s=%.3f"):format(
  m1, m2, m1 / m2, m12))
