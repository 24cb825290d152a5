-- lunet.transformer_block: the block the course draws (residual(layernorm,
-- attention), residual(layernorm, linear(ff), gelu, linear(dim)), per
-- position) built from the plugins; its parameter count is the formula
-- 4E^2 + 4E (attention) + 4E (two layernorms) + 2 E ff + ff + E (the
-- feed-forward pair); post-norm has the same count; a causal character
-- model made of it learns a cycle and generates it.
local lunet = require "lunet"

local E, H, F = 8, 2, 16
local function count_params(model)
  local n = 0
  for _, p in ipairs(model:parameters()) do
    if p.trainable then n = n + #p.values end
  end
  return n
end
local block = 4 * E * E + 4 * E + 4 * E + 2 * E * F + F + E
for _, pre in ipairs{ true, false } do
  local m = lunet.sequential{ input = { 6, E },
    lunet.transformer_block{ dim = E, heads = H, ff = F, norm_first = pre } }
  assert(m:param_count() == block and count_params(m) == block,
    ("norm_first = %s: %d parameters, the formula gives %d"):format(tostring(pre), m:param_count(), block))
end
local names = {}
for _, p in ipairs(lunet.sequential{ input = { 6, E }, lunet.transformer_block{ dim = E, heads = H } }:parameters()) do
  names[#names + 1] = p.name
end
assert(names[3] == "1.1.2.attention.in_proj_weight", names[3])

-- the cycle a b c d a b ...: a causal model reads it from the previous tokens
local V, T = 4, 8
local x, y = {}, {}
for s = 1, 16 do
  x[s], y[s] = {}, {}
  for t = 1, T do
    local id = (s + t - 2) % V + 1
    x[s][t], y[s][t] = id, id % V + 1
  end
end
local data = lunet.data{ x = x, y = y, tokens = V }
local lm = lunet.sequential{ seed = 2,
  lunet.layer("embedding", { vocab = V, dim = E }),
  lunet.layer("positional", { kind = "sinusoidal", max_len = T }),
  lunet.transformer_block{ dim = E, heads = H, ff = F, causal = true },
  lunet.layer("linear", { out = V }) }
local r = lunet.train{ model = lm, data = data, loss = lunet.loss("cross_entropy"),
  optimizer = lunet.optimizer("adam", { lr = 0.02 }), epochs = 40, batch = 4, verbose = false }
assert(r.status == "ok" and r.train.perplexity < 1.2, "the transformer learns the cycle: " .. r.train.perplexity)
local seq = lm:generate{ prompt = { 1, 2 }, steps = 6, temperature = 0 }
assert(table.concat(seq, " ") == "1 2 3 4 1 2 3 4", table.concat(seq, " "))
local ok, err = pcall(lunet.transformer_block, { heads = 2 })
assert(not ok and err:find("dim", 1, true), err)

-- specs print as what they are: a block of two residuals (not "block (null)")
local shown = lunet.transformer_block{ dim = 8, heads = 2, ff = 16 }
assert(tostring(shown) == "block of 2" and tostring(shown[1]) == "residual of 2", tostring(shown) .. ", " .. tostring(shown[1]))
assert(tostring(lunet.layer("gelu")) == "layer gelu", tostring(lunet.layer("gelu")))
