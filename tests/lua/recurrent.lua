-- Recurrent layers end to end: embedding -> rnn / gru / lstm -> linear
-- with the token cross-entropy learns a task that needs memory (each target
-- is the token two steps back); parameters carry PyTorch's names; a
-- stateful LSTM learns the same task across window boundaries of a stream,
-- which a stateless one cannot (the first two targets of each window lie
-- in the previous window); and a sequence classifier reads output = "last".
local lunet = require "lunet"

local V = 4
local seed = 1
local function id() -- a small LCG: the same ids on every run
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed >> 16) % V + 1
end

-- n windows of T ids; y_t = x_{t-2} (x_t for the first two positions)
local function delay_windows(n, T)
  local x, y = {}, {}
  for s = 1, n do
    x[s], y[s] = {}, {}
    for t = 1, T do x[s][t] = id() end
    for t = 1, T do y[s][t] = x[s][t > 2 and t - 2 or t] end
  end
  return lunet.data{ x = x, y = y, tokens = V }
end

local function lm(cell, T, extra)
  local p = { hidden = 16 }
  for k, v in pairs(extra or {}) do p[k] = v end
  return lunet.sequential{ seed = 3, input = { T }, lunet.layer("embedding", { vocab = V, dim = 8 }),
    lunet.layer(cell, p), lunet.layer("linear", { out = V }) }
end

local loss = lunet.loss("cross_entropy")
local function fit(m, data, epochs, batch, shuffle)
  local r = lunet.train{ model = m, data = data, loss = loss, optimizer = lunet.optimizer("adam", { lr = 0.02 }),
    epochs = epochs, batch = batch, shuffle = shuffle, verbose = false }
  assert(r.status == "ok", r.message)
  return r
end

local windows = delay_windows(64, 8)
for _, cell in ipairs{ "rnn", "gru", "lstm" } do
  local m = lm(cell, 8)
  local r = fit(m, windows, 60, 16)
  assert(r.train.error < 0.03, ("%s: the token two steps back, error %g"):format(cell, r.train.error))
  local ps = m:parameters()
  local gates = cell == "lstm" and 4 or cell == "gru" and 3 or 1
  assert(ps[2].name == "2." .. cell .. ".weight_ih_l0" and ps[2].shape[1] == 16 * gates and ps[2].shape[2] == 8,
    cell .. ": " .. ps[2].name)
  assert(ps[3].name == "2." .. cell .. ".weight_hh_l0" and ps[5].name == "2." .. cell .. ".bias_hh_l0")
  assert(ps[6].name == "3.linear.weight" and ps[6].shape[1] == V and ps[6].shape[2] == 16, ps[6].name)
end

-- A stream of 8 rows, cut into 16 windows of 4: sample k * 8 + b is window
-- k of row b, so with shuffle = false batch k holds window k of every row,
-- row b at position b, and a stateful layer carries each row along.
local B, K, T = 8, 16, 4
local rows = {}
for b = 1, B do
  rows[b] = {}
  for p = 1, K * T do rows[b][p] = id() end
end
local x, y = {}, {}
for k = 0, K - 1 do
  for b = 1, B do
    local s = k * B + b
    x[s], y[s] = {}, {}
    for t = 1, T do
      local p = k * T + t
      x[s][t], y[s][t] = rows[b][p], rows[b][p > 2 and p - 2 or p]
    end
  end
end
local stream = lunet.data{ x = x, y = y, tokens = V }
local stateless = fit(lm("lstm", T), stream, 80, B, false)
local stateful = fit(lm("lstm", T, { stateful = true }), stream, 80, B, false)
assert(stateless.train.error > 0.25, "stateless: positions 1 and 2 are guesses, error " .. stateless.train.error)
assert(stateful.train.error < 0.05, "stateful: the state crosses windows, error " .. stateful.train.error)

-- evaluated in batches of the stream's rows (eval_batch, evaluate's batch),
-- the stateful model keeps its accuracy; in batches of 256 its rows no
-- longer line up with the streams
local sm = lm("lstm", T, { stateful = true })
local r = lunet.train{ model = sm, data = stream, loss = loss, optimizer = lunet.optimizer("adam", { lr = 0.02 }),
  epochs = 80, batch = B, shuffle = false, eval = { again = stream }, eval_batch = B, verbose = false }
assert(r.again.error < 0.05, "eval_batch = streams: error " .. r.again.error)
assert(sm:evaluate(stream, loss, { batch = B }).error == r.again.error, "model:evaluate's batch")
assert(sm:evaluate(stream, loss).error > 0.1, "batches of 256 mix the streams up")

-- Sequence classification from the last state of both directions: the
-- class is the first id of the window, which the backward direction reads
-- last.
local cx, cy = {}, {}
for s = 1, 64 do
  cx[s] = {}
  for t = 1, 6 do cx[s][t] = id() end
  cy[s] = cx[s][1]
end
local classes = lunet.data{ x = cx, y = cy, tokens = V }
local m = lunet.sequential{ seed = 2, input = { 6 }, lunet.layer("embedding", { vocab = V, dim = 8 }),
  lunet.layer("gru", { hidden = 8, bidirectional = true, output = "last" }), lunet.layer("dense", { out = V }) }
local r = fit(m, classes, 40, 16)
assert(r.train.error < 0.05, "output = last: the first id, error " .. r.train.error)
