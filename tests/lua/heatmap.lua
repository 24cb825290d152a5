-- lunet.heatmap: errors name the row, column or option at fault (with or
-- without gnuplot, since the matrix is read before drawing); with gnuplot a
-- non-empty PNG is written for rows of numbers and for { shape, values }.
local lunet = require "lunet"
local t = require "testlib"

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p '" .. dir .. "'")
local out = dir .. "/m.png"

t.fails({ "matrix[2] has 1 numbers, expected 2", "ragged" }, lunet.heatmap, { matrix = { { 1, 2 }, { 3 } }, out = out })
t.fails({ "matrix[1][2] is a string, expected a number" }, lunet.heatmap, { matrix = { { 1, "x" } }, out = out })
t.fails({ "matrix[1][1] is", "expected a finite number" }, lunet.heatmap, { matrix = { { 0 / 0 } }, out = out })
t.fails({ "matrix is empty" }, lunet.heatmap, { matrix = {}, out = out })
t.fails({ "matrix[2] is a number, expected a row" }, lunet.heatmap, { matrix = { { 1 }, 2 }, out = out })
t.fails({ "xtics must be an array of 2 labels (one per column)" }, lunet.heatmap,
        { matrix = { { 1, 2 } }, xtics = { "a" }, out = out })
t.fails({ "unknown palette 'jet'" }, lunet.heatmap, { matrix = { { 1 } }, palette = "jet", out = out })
t.fails({ "must end in .png or .svg" }, lunet.heatmap, { matrix = { { 1 } }, out = dir .. "/m.pdf" })
t.fails({ "'out' must be a string" }, lunet.heatmap, { matrix = { { 1 } } })
t.fails({ "matrix.values must hold shape[1] x shape[2] = 6 numbers" }, lunet.heatmap,
        { matrix = { shape = { 2, 3 }, values = { 1, 2 } }, out = out })

if not t.gnuplot() then return end
local function size(path)
  local f = assert(io.open(path, "rb"))
  local head, n = f:read(8), f:seek("end")
  f:close()
  assert(head == "\137PNG\r\n\26\n", path .. " is not a PNG")
  return n
end
local ytics = { "q1", "q2" }
assert(lunet.heatmap{ matrix = { { 0.1, 0.9, 0 }, { 0.5, 0.25, 0.25 } }, out = out, title = "weights",
                      xlabel = "key", ylabel = "query", xtics = { "the", "cat", 3 }, ytics = ytics,
                      palette = "gray" } == out)
assert(size(out) > 1000)
assert(ytics[1] == "q1" and #ytics == 2, "the labels were changed")
local out2 = dir .. "/shaped.png"
lunet.heatmap{ matrix = { shape = { 2, 3 }, values = { 1, 2, 3, 4, 5, 6 } }, out = out2 }
assert(size(out2) > 1000)
assert(not io.open(out2 .. ".part"), "the partial file was left behind")
os.execute("rm -rf '" .. dir .. "'")
