-- attention from Lua: 4E^2 + 4E trained parameters, and the weights of the
-- last forward in the buffer attention_weights (heads, T, T): rows sum to 1,
-- nothing above the diagonal under the causal mask; cross_attention in a graph.
local lunet = require "lunet"

local T, E, H = 3, 4, 2
local model = lunet.sequential{ seed = 2, input = { T, E },
  lunet.layer("positional", {}), lunet.layer("attention", { heads = H, causal = true }),
  lunet.layer("gelu") }
assert(model:param_count() == 4 * E * E + 4 * E, "param_count " .. model:param_count())
local x = {}
for i = 1, T * E do x[i] = math.sin(i) end
model:predict(lunet.data{ x = { x }, y = { 1 } })
local w
for _, p in ipairs(model:parameters()) do
  if p.name == "2.attention.attention_weights" then w = p end
end
assert(w, "no parameter 2.attention.attention_weights")
assert(not w.trainable and w.shape[1] == H and w.shape[2] == T and w.shape[3] == T)
for h = 0, H - 1 do
  for t = 0, T - 1 do
    local sum = 0
    for s = 0, T - 1 do
      local v = w.values[(h * T + t) * T + s + 1]
      if s > t then assert(v == 0, "causal: weight above the diagonal " .. v) end
      sum = sum + v
    end
    assert(math.abs(sum - 1) < 1e-6, "row sums to " .. sum)
  end
end
assert(w.values[1] == 1, "position 0 sees only itself")

-- cross_attention as a two-input node of lunet.graph: queries from x, keys
-- and values from h = linear(x): its parameters, names and output shape
local g = lunet.graph{ seed = 3, input = { T, E }, nodes = {
  { "h", lunet.layer("linear", { out = E }), "x" },
  { "c", lunet.layer("cross_attention", { heads = H }), { "x", "h" } } } }
assert(g:param_count() == 4 * E * E + 4 * E + E * E + E, "graph param_count " .. g:param_count())
local y = g:predict(lunet.data{ x = { x }, y = { 1 } })
assert(#y == 1 and #y[1] == T * E, "one (T, E) output")
local names = {}
for _, p in ipairs(g:parameters()) do names[#names + 1] = p.name end
assert(table.concat(names, " "):find("c.cross_attention.in_proj_weight", 1, true), table.concat(names, " "))
