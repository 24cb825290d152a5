-- bench/random_tokens.lua -- the token data of the sequence benchmarks
-- (bench/lstm.lua, bench/transformer.lua): n windows of T uniformly random
-- ids 1..V and as many random targets, from a small LCG, so that every run
-- and every machine gets the same ids without depending on math.random.
local lunet = require "lunet"

return function(n, T, V)
  local state = 1
  local function id()
    state = (state * 1103515245 + 12345) % 2147483648
    return state % V + 1
  end
  local x, y = {}, {}
  for s = 1, n do
    x[s], y[s] = {}, {}
    for t = 1, T do x[s][t], y[s][t] = id(), id() end
  end
  local data = lunet.data{ x = x, y = y, tokens = V }
  x, y = nil, nil
  collectgarbage()
  return data
end
