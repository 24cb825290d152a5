-- bench/lstm.lua -- times training steps of a character-level LSTM:
-- embedding (V, 64) -> lstm(256) -> linear(V), token cross-entropy over
-- every position, Adam; batch 64, T 128, V 100 (issue 12's workload).
--
--   lunet run bench/lstm.lua --threads 1 [--steps 20 --epochs 3] [--device cuda]
--
-- The data are uniformly random ids (the values do not change the time).
-- Prints "RESULT step_seconds=<median over epochs of epoch time / steps>"
-- for bench/run.py, beside bench/lstm_torch.py.
local lunet = require "lunet"

local opt = { batch = "64", seq = "128", hidden = "256", vocab = "100", steps = "20", epochs = "3", threads = "1", device = "cpu" }
for i = 1, #arg - 1, 2 do opt[arg[i]:gsub("^%-%-", "")] = arg[i + 1] end
lunet.threads(tonumber(opt.threads))
local B, T, V, steps = tonumber(opt.batch), tonumber(opt.seq), tonumber(opt.vocab), tonumber(opt.steps)

local data = require("random_tokens")(B * steps, T, V)

local model = lunet.sequential{ seed = 1, device = opt.device, -- "cuda": bench/gpu_check.sh
  lunet.layer("embedding", { vocab = V, dim = 64 }),
  lunet.layer("lstm", { hidden = tonumber(opt.hidden) }),
  lunet.layer("linear", { out = V }) }
local times = {}
lunet.train{ model = model, data = data, loss = lunet.loss("cross_entropy"),
  optimizer = lunet.optimizer("adam", { lr = 0.002 }), epochs = tonumber(opt.epochs), batch = B,
  seed = 1, verbose = false, on_epoch = function(_, m) times[#times + 1] = m.seconds / steps end }
table.sort(times)
print(("RESULT step_seconds=%.6f"):format(times[(#times + 1) // 2]))
