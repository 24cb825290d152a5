-- Linear regression by gradient descent must find the least-squares
-- solution, computed here independently from the normal equations.
local lunet = require "lunet"

local xs, ys = {}, {}
local state = 12345
local function rand() -- a small LCG, independent of lunet's generator
  state = (1103515245 * state + 12345) % 2147483648
  return state / 2147483648
end
for i = 1, 200 do
  local a, b = rand() * 2 - 1, rand() * 2 - 1
  xs[i] = { a, b }
  ys[i] = { 2 * a - 3 * b + 1 + 0.1 * (rand() - 0.5) }
end
local data = lunet.data{ x = xs, y = ys }
assert(data:classes() == 0)

-- normal equations for [a, b, 1] . w = y (3x3, by Gaussian elimination)
local A, v = { {0, 0, 0}, {0, 0, 0}, {0, 0, 0} }, { 0, 0, 0 }
for i = 1, #xs do
  local f = { xs[i][1], xs[i][2], 1 }
  for r = 1, 3 do
    v[r] = v[r] + f[r] * ys[i][1]
    for c = 1, 3 do A[r][c] = A[r][c] + f[r] * f[c] end
  end
end
for p = 1, 3 do
  for r = p + 1, 3 do
    local m = A[r][p] / A[p][p]
    for c = p, 3 do A[r][c] = A[r][c] - m * A[p][c] end
    v[r] = v[r] - m * v[p]
  end
end
local w = {}
for r = 3, 1, -1 do
  local s = v[r]
  for c = r + 1, 3 do s = s - A[r][c] * w[c] end
  w[r] = s / A[r][r]
end

local model = lunet.sequential{ input = { 2 }, lunet.layer("dense", { out = 1 }) }
local r = lunet.train{ model = model, data = data, loss = lunet.loss("mse"),
  optimizer = lunet.optimizer("sgd", { lr = 0.1, momentum = 0.9 }), epochs = 200, batch = 200,
  verbose = false }
assert(r.status == "ok")
local p = model:parameters()
local got = { p[1].values[1], p[1].values[2], p[2].values[1] }
for k = 1, 3 do
  assert(math.abs(got[k] - w[k]) < 1e-3, ("w[%d] = %g, least squares gives %g"):format(k, got[k], w[k]))
end
