-- bench/rff_fit.lua -- time of the RFF minimum-norm least-squares fit.
--
--   lunet run bench/rff_fit.lua --features 2000 [--n 2000] [--threads 2]
--
-- n Fashion-MNIST images (14x14), `features` random Fourier features, the
-- final dense layer fitted by `lstsq` (lambda = 0: an SVD of the n x p
-- feature matrix in float64). The time is lunet.train's: computing the
-- features, the fit and the training metrics. Prints "RESULT seconds=...".
local lunet = require "lunet"

local opt = lunet.options{ n = 2000, features = 2000, threads = 2 }
lunet.threads(opt.threads)
local data = lunet.dataset("fashion_mnist", { split = "train", n = opt.n, downsample = 2, targets = "onehot" })
local model = lunet.sequential{ lunet.layer("rff", { features = opt.features, sigma = 2, seed = 1 }),
                                lunet.layer("dense", { out = 10, bias = false }) }
local r = lunet.train{ model = model, data = data, loss = lunet.loss("mse"),
                       optimizer = lunet.optimizer("lstsq", { lambda = 0 }), verbose = false }
print(("RESULT seconds=%.6f"):format(r.seconds))
