-- char_lm.lua -- character-level language models: a tanh RNN, a GRU and an
-- LSTM of about the same parameter count on the same text (the course's
-- recurrent-networks lectures: simple RNN, GRU, LSTM, language models and
-- perplexity; Karpathy's char-rnn samples at successive training stages).
--
-- Data: the Jargon File (Debian's jargon-text, 1.7 MB of English prose) at
-- character level, windows of 64 characters with the 64 next ones as
-- targets, split by position 90/5/5 (train/valid/test). Models: embedding
-- (V, 32) -> rnn|gru|lstm (H) -> linear (V) per position, H chosen per cell
-- so that every model has about as many parameters as the LSTM with H =
-- 128 (about 108,000 here). Adam (lr 2e-3, batch 32), token cross-entropy,
-- gradients clipped to norm 5.
-- Columns: model, hidden, params, epoch, train_loss, train_perplexity,
-- valid_loss, valid_perplexity, seconds. Samples (120 characters after the
-- prompt "The ", temperature 0.8) after every epoch go to FILE_samples.txt.
-- What to see: the validation perplexity per epoch of the three cells
-- (figure FILE.png) and the samples, which go from noise to words and
-- Jargon-like phrases. Measured (5 epochs): GRU 5.06 < RNN 5.33 < LSTM
-- 5.60; the GRU learns fastest at this size, and the LSTM starts slowest and
-- is still behind the plain RNN after 5 epochs: its forget gates start near
-- 0.5 (PyTorch's initialisation, no forget bias of 1), and over 64
-- characters the RNN's shorter memory costs it little.
--
--   lunet run scripts/char_lm.lua [--quick] [--out FILE.csv] [--epochs N]
--                                 [--file TEXT] [--no_plot]
--
-- Writes FILE.csv (default results/char_lm.csv), FILE_samples.txt and
-- FILE.png. The full run takes about 8 minutes on 2 cores; --quick (the
-- first 60 kB of the text, T = 32, about 20,000 parameters, 2 epochs) a
-- few seconds.

local lunet = require "lunet"
local corpus = require "corpus"

local opt = lunet.options{ quick = false, out = "results/char_lm.csv", epochs = 5, file = "", no_plot = false }
local quick, out = opt.quick, opt.out
local T = quick and 32 or 64
local E = quick and 16 or 32
local epochs = quick and 2 or opt.epochs
local reference_hidden = quick and 48 or 128 -- the LSTM's H; the others match its size

os.remove(out)
local log = lunet.csv(out, { columns = { "model", "hidden", "params", "epoch", "train_loss", "train_perplexity",
                                         "valid_loss", "valid_perplexity", "seconds" } }) -- makes out's folder

-- --quick trains on the start of the text: a file of its own beside `out`
local train, valid, file = corpus.char_splits(opt.file, T, quick, out, "char_lm")
local V = train:vocab_size()

-- parameters of embedding (V, E), the cell with G gates and H units, linear (H -> V)
local gates = { rnn = 1, gru = 3, lstm = 4 }
local function count(cell, H)
  local G = gates[cell]
  return V * E + G * H * (E + H) + 2 * G * H + H * V + V
end
local target = count("lstm", reference_hidden)
local function matching_hidden(cell)
  local best = 1
  for H = 1, 2048 do
    if math.abs(count(cell, H) - target) < math.abs(count(cell, best) - target) then best = H end
  end
  return best
end

local samples_path = out:gsub("%.csv$", "") .. "_samples.txt"
local samples = assert(io.open(samples_path, "w"))
local prompt = train:encode("The ")
for _, cell in ipairs{ "rnn", "gru", "lstm" } do
  local H = matching_hidden(cell)
  local model = lunet.sequential{ seed = 1,
    lunet.layer("embedding", { vocab = V, dim = E }),
    lunet.layer(cell, { hidden = H }),
    lunet.layer("linear", { out = V }) }
  model:build{ T }
  print(("%s: hidden %d, %d parameters"):format(cell, H, model:param_count()))
  lunet.train{ model = model, data = train, eval = { valid = valid }, loss = lunet.loss("cross_entropy"),
    optimizer = lunet.optimizer("adam", { lr = 2e-3 }), epochs = epochs, batch = 32, seed = 1,
    clip_norm = 5, verbose = not quick,
    on_epoch = function(epoch, m)
      log:write{ model = cell, hidden = H, params = model:param_count(), epoch = epoch,
                 train_loss = m.train.loss, train_perplexity = m.train.perplexity,
                 valid_loss = m.valid.loss, valid_perplexity = m.valid.perplexity, seconds = m.seconds }
      local ids = model:generate{ prompt = prompt, steps = 120, temperature = 0.8, seed = epoch }
      local s = train:decode(ids)
      samples:write(("== %s, epoch %d, valid perplexity %.2f\n%s\n\n"):format(cell, epoch, m.valid.perplexity, s))
      print(("%-4s epoch %d  valid perplexity %.3f  | %s"):format(cell, epoch, m.valid.perplexity,
                                                                  (s:gsub("%s+", " ")):sub(1, 70)))
    end }
end
log:close()
samples:close()
if quick and opt.file == "" then os.remove(file) end

if opt.no_plot then return end -- e.g. without gnuplot
local png = out:gsub("%.csv$", "") .. ".png"
lunet.plot{ csv = out, x = "epoch", y = { "valid_perplexity" }, group = "model", out = png,
            title = ("character-level LMs of about %d parameters, validation perplexity"):format(target) }
print("wrote " .. out .. ", " .. samples_path .. " and " .. png)
