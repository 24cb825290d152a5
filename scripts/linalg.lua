-- linalg.lua -- the little float64 linear algebra the classic scripts do in
-- Lua beside lunet (lasso_ridge, newton_logistic): normal draws, the
-- largest eigenvalue of X^T X, and a Cholesky solve. Rows are Lua arrays.
-- `local linalg = require "linalg"`.
local M = {}

-- N(0, 1) by Box-Muller from Lua's seeded generator (math.randomseed)
function M.normal()
  return math.sqrt(-2 * math.log(1 - math.random())) * math.cos(2 * math.pi * math.random())
end

-- The largest eigenvalue of X^T X (= s_max(X)^2) for the rows xs, by 200
-- steps of power iteration from the all-ones vector.
function M.top_eigenvalue(xs)
  local d, v, lambda = #xs[1], {}, 0
  for j = 1, d do v[j] = 1 end
  for _ = 1, 200 do
    local u = {}
    for j = 1, d do u[j] = 0 end
    for _, x in ipairs(xs) do
      local s = 0
      for j = 1, d do s = s + x[j] * v[j] end
      for j = 1, d do u[j] = u[j] + s * x[j] end
    end
    local norm = 0
    for j = 1, d do norm = norm + u[j] ^ 2 end
    lambda = math.sqrt(norm)
    for j = 1, d do v[j] = u[j] / lambda end
  end
  return lambda
end

-- x with A x = b for a symmetric positive definite A (a table of rows),
-- by Cholesky A = R^T R; A and b are left as they were.
function M.cholesky_solve(A, b)
  local d, R = #b, {}
  for i = 1, d do
    R[i] = {}
    for j = i, d do
      local s = A[i][j]
      for k = 1, i - 1 do s = s - R[k][i] * R[k][j] end
      if i == j then
        assert(s > 0, "cholesky_solve: the matrix is not positive definite")
        R[i][i] = math.sqrt(s)
      else
        R[i][j] = s / R[i][i]
      end
    end
  end
  local y, x = {}, {}
  for i = 1, d do -- R^T y = b
    local s = b[i]
    for k = 1, i - 1 do s = s - R[k][i] * y[k] end
    y[i] = s / R[i][i]
  end
  for i = d, 1, -1 do -- R x = y
    local s = y[i]
    for k = i + 1, d do s = s - R[i][k] * x[k] end
    x[i] = s / R[i][i]
  end
  return x
end

return M
