-- bench/transformer.lua -- times training steps of a 2-block decoder-only
-- transformer: embedding (V, 128) + learned positions -> 2 x
-- transformer_block{ dim 128, heads 4, ff 512, causal, pre-norm } ->
-- linear(V), token cross-entropy over every position, Adam; batch 32,
-- T 128, V 100 (issue 13's workload).
--
--   lunet run bench/transformer.lua --threads 1 [--steps 20 --epochs 3] [--device cuda]
--
-- The data are uniformly random ids (the values do not change the time).
-- Prints "RESULT step_seconds=<median over epochs of epoch time / steps>"
-- for bench/run.py, beside bench/transformer_torch.py.
local lunet = require "lunet"

local opt = { batch = "32", seq = "128", dim = "128", heads = "4", ff = "512", vocab = "100", steps = "20",
              epochs = "3", threads = "1", device = "cpu" }
for i = 1, #arg - 1, 2 do opt[arg[i]:gsub("^%-%-", "")] = arg[i + 1] end
lunet.threads(tonumber(opt.threads))
local B, T, V, steps = tonumber(opt.batch), tonumber(opt.seq), tonumber(opt.vocab), tonumber(opt.steps)
local E, heads, ff = tonumber(opt.dim), tonumber(opt.heads), tonumber(opt.ff)

local data = require("random_tokens")(B * steps, T, V)

local model = lunet.sequential{ seed = 1, device = opt.device,
  lunet.layer("embedding", { vocab = V, dim = E }),
  lunet.layer("positional", { kind = "learned", max_len = T }),
  lunet.transformer_block{ dim = E, heads = heads, ff = ff, causal = true },
  lunet.transformer_block{ dim = E, heads = heads, ff = ff, causal = true },
  lunet.layer("linear", { out = V }) }
local times = {}
lunet.train{ model = model, data = data, loss = lunet.loss("cross_entropy"),
  optimizer = lunet.optimizer("adam", { lr = 1e-3 }), epochs = tonumber(opt.epochs), batch = B,
  seed = 1, verbose = false, on_epoch = function(_, m) times[#times + 1] = m.seconds / steps end }
table.sort(times)
print(("RESULT step_seconds=%.6f"):format(times[(#times + 1) // 2]))
