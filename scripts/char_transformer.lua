-- char_transformer.lua -- a decoder-only character transformer against the
-- LSTM of char_lm.lua at about the same parameter count (the course's
-- attention lectures: the causal character-level autoregressive
-- transformer, compared with a recurrent language model).
--
-- Data: the Jargon File (Debian's jargon-text) at character level, windows
-- of 64 characters with the 64 next ones as targets, split by position
-- 90/5/5 as in char_lm.lua. Models, both trained here on the same data for
-- the same epochs: the LSTM of char_lm.lua, embedding (V, 32) -> lstm(128)
-- -> linear (V); and a transformer, embedding (V, 64) + learned positions ->
-- 2 x transformer_block{ dim 64, heads 4, causal, pre-norm } -> linear (V),
-- its feed-forward width ff chosen so that it has about the LSTM's number
-- of parameters (the count is printed; ff = 193 here). Adam (lr 2e-3,
-- batch 32), token cross-entropy, gradients clipped to norm 5.
-- Columns: model, params, epoch, train_loss, train_perplexity, valid_loss,
-- valid_perplexity, seconds. Samples (120 characters after the prompt
-- "The ", temperature 0.8) after every epoch go to FILE_samples.txt.
-- What to see: the validation perplexity per epoch of both models (figure
-- FILE.png) and the samples. Measured (3 epochs, 107,899 parameters for
-- the LSTM, 107,805 for the transformer with ff = 193): valid perplexity
-- LSTM 8.43, 6.93, 6.24; transformer 8.85, 7.08, 6.40. At this size and
-- budget the transformer trails the LSTM, by 0.42 after one epoch and 0.15
-- after three; both samples reach words and Jargon-like phrases
-- (docs/char_transformer.md).
--
--   lunet run scripts/char_transformer.lua [--quick] [--out FILE.csv]
--                                         [--epochs N] [--file TEXT] [--no_plot]
--
-- Writes FILE.csv (default results/char_transformer.csv), FILE_samples.txt
-- and FILE.png. The full run takes about 10 minutes on 2 busy cores;
-- --quick (the first 60 kB of the text, T = 32, models of about 21,000
-- parameters, 2 epochs) a few seconds.

local lunet = require "lunet"
local corpus = require "corpus"

local opt = lunet.options{ quick = false, out = "results/char_transformer.csv", epochs = 3, file = "",
                           no_plot = false }
local quick, out = opt.quick, opt.out
local T = quick and 32 or 64
local epochs = quick and 2 or opt.epochs
local lstm_E, lstm_H = quick and 16 or 32, quick and 48 or 128 -- char_lm.lua's LSTM
local E, heads = quick and 24 or 64, quick and 2 or 4            -- the transformer's width

os.remove(out)
local log = lunet.csv(out, { columns = { "model", "params", "epoch", "train_loss", "train_perplexity",
                                         "valid_loss", "valid_perplexity", "seconds" } }) -- makes out's folder

-- --quick trains on the start of the text: a file of its own beside `out`
local train, valid, file = corpus.char_splits(opt.file, T, quick, out, "char_transformer")
local V = train:vocab_size()

-- LSTM: embedding (V, e), 4 gates of h units with two biases, linear (h -> V)
local lstm_params = V * lstm_E + 4 * lstm_H * (lstm_E + lstm_H) + 8 * lstm_H + lstm_H * V + V
-- transformer: embedding and positions, per block 4E^2 + 4E (attention) + 4E
-- (two layernorms) + 2 E ff + ff + E (feed-forward), linear (E -> V)
local function transformer_params(ff)
  return V * E + T * E + 2 * (4 * E * E + 9 * E + 2 * E * ff + ff) + E * V + V
end
local ff = 1
for f = 1, 16 * E do
  if math.abs(transformer_params(f) - lstm_params) < math.abs(transformer_params(ff) - lstm_params) then ff = f end
end

local models = {
  { name = "lstm", spec = {
    lunet.layer("embedding", { vocab = V, dim = lstm_E }),
    lunet.layer("lstm", { hidden = lstm_H }),
    lunet.layer("linear", { out = V }) } },
  { name = "transformer", spec = {
    lunet.layer("embedding", { vocab = V, dim = E }),
    lunet.layer("positional", { kind = "learned", max_len = T }),
    lunet.transformer_block{ dim = E, heads = heads, ff = ff, causal = true },
    lunet.transformer_block{ dim = E, heads = heads, ff = ff, causal = true },
    lunet.layer("linear", { out = V }) } },
}

local samples_path = out:gsub("%.csv$", "") .. "_samples.txt"
local samples = assert(io.open(samples_path, "w"))
local prompt = train:encode("The ")
for _, m in ipairs(models) do
  m.spec.seed = 1
  local model = lunet.sequential(m.spec)
  model:build{ T }
  local expected = m.name == "lstm" and lstm_params or transformer_params(ff)
  assert(model:param_count() == expected, ("%s: %d parameters, the formula says %d"):format(
    m.name, model:param_count(), expected))
  print(("%s: %d parameters%s"):format(m.name, model:param_count(),
    m.name == "transformer" and (" (E %d, 2 blocks, %d heads, ff %d)"):format(E, heads, ff) or
    (" (E %d, H %d)"):format(lstm_E, lstm_H)))
  lunet.train{ model = model, data = train, eval = { valid = valid }, loss = lunet.loss("cross_entropy"),
    optimizer = lunet.optimizer("adam", { lr = 2e-3 }), epochs = epochs, batch = 32, seed = 1,
    clip_norm = 5, verbose = not quick,
    on_epoch = function(epoch, r)
      log:write{ model = m.name, params = model:param_count(), epoch = epoch,
                 train_loss = r.train.loss, train_perplexity = r.train.perplexity,
                 valid_loss = r.valid.loss, valid_perplexity = r.valid.perplexity, seconds = r.seconds }
      local s = train:decode(model:generate{ prompt = prompt, steps = 120, temperature = 0.8, seed = epoch })
      samples:write(("== %s, epoch %d, valid perplexity %.2f\n%s\n\n"):format(m.name, epoch, r.valid.perplexity, s))
      print(("%-11s epoch %d  valid perplexity %.3f  %.0f s | %s"):format(m.name, epoch, r.valid.perplexity,
                                                                         r.seconds, (s:gsub("%s+", " ")):sub(1, 60)))
    end }
end
log:close()
samples:close()
if quick and opt.file == "" then os.remove(file) end

if opt.no_plot then return end -- e.g. without gnuplot
local png = out:gsub("%.csv$", "") .. ".png"
lunet.plot{ csv = out, x = "epoch", y = { "valid_perplexity" }, group = "model", out = png,
            title = ("LSTM vs transformer, about %d parameters: validation perplexity"):format(lstm_params) }
print("wrote " .. out .. ", " .. samples_path .. " and " .. png)
