-- scripts/positional_encoding.lua --quick: the sinusoidal encoding's known
-- properties, read back from its CSV: PE[0, 2i] = 0, PE[0, 2i+1] = 1,
-- values in [-1, 1], column 0 = sin t (zero crossings pi apart, so period
-- 2 pi), PE[t] . PE[s] a function of t - s only; and the figures when
-- gnuplot is there. When the `positional` layer is built, its output on
-- zero input is the same table (to float precision).
local lunet = require "lunet"
local run_script = require("testlib").run_script

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p '" .. dir .. "'")
local out = dir .. "/pe.csv"
local plotted = run_script("positional_encoding", "--quick", "--out", out)

local T, E = 40, 16
local pe = {}
for _, r in ipairs(lunet.read_csv(out)) do
  pe[r.position] = pe[r.position] or {}
  pe[r.position][r.dim] = r.value
end
assert(#lunet.read_csv(out) == T * E, "one row per cell of (40, 16)")
for j = 0, E - 1, 2 do
  assert(math.abs(pe[0][j]) < 1e-12, "PE[0, " .. j .. "] = " .. pe[0][j] .. ", expected sin 0 = 0")
  assert(math.abs(pe[0][j + 1] - 1) < 1e-12, "PE[0, " .. j + 1 .. "] = " .. pe[0][j + 1] .. ", expected cos 0 = 1")
end
for t = 0, T - 1 do
  for j = 0, E - 1 do assert(pe[t][j] >= -1 and pe[t][j] <= 1, "PE out of [-1, 1]") end
  -- each (sin, cos) pair lies on the unit circle
  for j = 0, E - 1, 2 do assert(math.abs(pe[t][j] ^ 2 + pe[t][j + 1] ^ 2 - 1) < 1e-12) end
end
-- column 0 is sin t: it changes sign between floor(k pi) and floor(k pi) + 1
-- and nowhere else, so its half-period is pi and its period 2 pi
local crossings = {}
for t = 0, T - 2 do
  if pe[t][0] * pe[t + 1][0] < 0 then crossings[#crossings + 1] = t end
end
assert(#crossings == math.floor((T - 1) / math.pi), "zero crossings of column 0: " .. #crossings)
for k, t in ipairs(crossings) do assert(t == math.floor(k * math.pi), "crossing " .. k .. " at " .. t) end
-- the period estimated from the first and last crossing (linear interpolation)
local function root(t) return t + pe[t][0] / (pe[t][0] - pe[t + 1][0]) end
local period = 2 * (root(crossings[#crossings]) - root(crossings[1])) / (#crossings - 1)
assert(math.abs(period - 2 * math.pi) < 0.02, "period of column 0: " .. period)
-- the slowest pair still moves: its frequency is 10000^(-(E-2)/E)
assert(math.abs(pe[T - 1][E - 2] - math.sin((T - 1) / 10000 ^ ((E - 2) / E))) < 1e-12)
-- PE[t] . PE[s] depends on t - s only
local function dot(a, b)
  local s = 0
  for j = 0, E - 1 do s = s + pe[a][j] * pe[b][j] end
  return s
end
for _, p in ipairs{ { 0, 5, 10, 15 }, { 3, 3, 30, 30 }, { 7, 1, 37, 31 } } do
  assert(math.abs(dot(p[1], p[2]) - dot(p[3], p[4])) < 1e-9, "PE[t] . PE[s] not a function of t - s")
end
assert(math.abs(dot(4, 4) - E / 2) < 1e-9, "|PE[t]|^2 = E / 2")

if plotted then
  for _, f in ipairs{ dir .. "/pe.png", dir .. "/pe_similarity.png" } do
    local h = assert(io.open(f, "rb"), "no figure " .. f)
    assert(h:seek("end") > 1000, f .. " is nearly empty")
    h:close()
  end
end

-- the `positional` layer, when built, adds the same table to its input
local ok, layer = pcall(lunet.layer, "positional", { kind = "sinusoidal", max_len = T })
if ok then
  local zeros = {}
  for k = 1, T * E do zeros[k] = 0 end
  local model = lunet.sequential{ input = { T, E }, layer }
  local y = model:predict(lunet.data{ x = { zeros }, y = { 1 }, shape = { T, E } })[1]
  for t = 0, T - 1 do
    for j = 0, E - 1 do
      assert(math.abs(y[t * E + j + 1] - pe[t][j]) < 1e-6, ("layer and script differ at PE[%d, %d]"):format(t, j))
    end
  end
end
os.execute("rm -rf '" .. dir .. "'")
