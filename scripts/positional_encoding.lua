-- positional_encoding.lua -- the sinusoidal positional encoding of
-- "Attention is all you need" (the course's figure):
--
--   PE[t, 2i] = sin(t / 10000^(2i/E)),  PE[t, 2i+1] = cos(t / 10000^(2i/E))
--
-- for positions t = 0 .. max_len-1 and dimensions 0 .. E-1, computed here
-- in Lua (the `positional` layer adds the same table to its input). Each
-- pair of columns is a sine and a cosine of one frequency; the frequencies
-- fall geometrically from 1 (period 2 pi, column 0) to 1/10000 across the
-- dimensions, so the first columns flicker and the last are almost constant.
-- Because sin and cos of one angle form a rotation, PE[t] . PE[s] =
-- sum_i cos((t - s) w_i) depends on t - s only: the second figure, the
-- dot products between positions, is constant along its diagonals.
--
-- Columns: position, dim, value (one row per cell of PE).
--
--   lunet run scripts/positional_encoding.lua [--quick] [--out FILE.csv] [--no_plot]
--
-- Writes FILE.csv (default results/positional_encoding.csv), FILE.png (PE,
-- max_len 100 x E 64) and FILE_similarity.png (PE PE^T). Takes well under a
-- second; --quick (max_len 40 x E 16) is the same at a smaller size.

local lunet = require "lunet"

local opt = lunet.options{ quick = false, out = "results/positional_encoding.csv", no_plot = false }
local max_len = opt.quick and 40 or 100
local E = opt.quick and 16 or 64

-- (max_len, E): pe[t + 1][j + 1] = PE[t, j]
local pe = {}
for t = 0, max_len - 1 do
  local row = {}
  for j = 0, E - 1 do
    local angle = t / 10000 ^ ((j - j % 2) / E)
    row[j + 1] = j % 2 == 0 and math.sin(angle) or math.cos(angle)
  end
  pe[t + 1] = row
end

-- (max_len, max_len): sim[t + 1][s + 1] = PE[t] . PE[s]
local sim = {}
for t = 1, max_len do
  sim[t] = {}
  for s = 1, max_len do
    local dot = 0
    for j = 1, E do dot = dot + pe[t][j] * pe[s][j] end
    sim[t][s] = dot
  end
end

os.remove(opt.out)
local log = lunet.csv(opt.out, { columns = { "position", "dim", "value" } })
for t = 0, max_len - 1 do
  for j = 0, E - 1 do log:write{ position = t, dim = j, value = pe[t + 1][j + 1] } end
end
log:close()
print(("PE (%d x %d): PE[1, 0] = sin 1 = %.4f; PE[t] . PE[t] = E / 2 = %g"):format(max_len, E, pe[2][1], sim[1][1]))

if opt.no_plot then return end -- e.g. without gnuplot
local base = opt.out:gsub("%.csv$", "")
lunet.heatmap{ matrix = pe, out = base .. ".png", palette = "viridis", xlabel = "encoding dimension j",
               ylabel = "position t",
               title = ("sinusoidal positional encoding PE[t, j], max_len %d x E %d"):format(max_len, E) }
lunet.heatmap{ matrix = sim, out = base .. "_similarity.png", xlabel = "position s", ylabel = "position t",
               title = "PE[t] . PE[s]: a function of t - s only (constant along diagonals)" }
print("wrote " .. opt.out .. ", " .. base .. ".png and " .. base .. "_similarity.png")
