-- The --quick runs of the classic leftovers (docs/classics.md), each
-- checked for what its header claims: the degree-9 polynomial passes
-- through the 10 points and generalises worse than degree 3; the lasso
-- sets weights exactly to 0, more of them as lambda grows, and satisfies
-- its optimality conditions, while ridge and the l1 option keep all;
-- Newton reaches the logistic optimum in a few steps, momentum and plain
-- gradient descent in many more; an ensemble beats its average member.
local lunet = require "lunet"

local run_script = require("testlib").run_script

local dir = os.tmpname()
os.remove(dir)
local function rows_of(name, extra)
  local out = dir .. "/" .. name .. ".csv"
  run_script(name, "--quick", "--out", out)
  local rows = lunet.read_csv(out)
  os.remove(out)
  os.remove(dir .. "/" .. name .. ".png")
  if extra then
    local more = lunet.read_csv(dir .. "/" .. name .. extra .. ".csv")
    os.remove(dir .. "/" .. name .. extra .. ".csv")
    os.remove(dir .. "/" .. name .. extra .. ".png")
    return rows, more
  end
  return rows
end

-- polynomial fit (PRML fig. 1.4-1.5)
local poly, curves = rows_of("polynomial_fit", "_curves")
assert(#poly == 10 and poly[10].M == 9)
assert(poly[10].train_rms < 1e-3, "M = 9 interpolates the 10 points")
assert(poly[4].test_rms < poly[1].test_rms and poly[4].test_rms < poly[10].test_rms, "M = 3 generalises best")
local seen = {}
for _, r in ipairs(curves) do
  seen[r.curve] = (seen[r.curve] or 0) + 1
  assert(r.y >= -1.5 and r.y <= 1.5 or r.curve == "data", "curves clipped to the book's axes")
end
assert(seen["data"] == 10 and seen["M = 9"] == 101 and seen["sin(2 pi x)"] == 101)

-- lasso beside ridge
local lr = rows_of("lasso_ridge")
local by = { lasso = {}, ridge = {}, l1 = {} }
for _, r in ipairs(lr) do table.insert(by[r.method], r) end
assert(#by.lasso == 4 and #by.ridge == 4 and #by.l1 == 4)
for i, r in ipairs(by.lasso) do
  assert(r.kkt < 1e-4, ("lasso optimality at lambda %g: violation %g"):format(r.lambda, r.kkt))
  assert(r.true_nonzeros == math.min(r.nonzeros, 5), "the 5 true weights are the last to reach 0")
  assert(by.ridge[i].nonzeros == 30 and by.l1[i].nonzeros == 30, "ridge and the l1 subgradient keep all weights")
  if i > 1 then assert(r.nonzeros >= by.lasso[i - 1].nonzeros, "smaller lambda, no fewer non-zeros") end
end
assert(by.lasso[1].nonzeros <= 5 and by.lasso[4].nonzeros >= 25, "lasso: from sparse to dense")

-- Newton against gradient descent
local nl = rows_of("newton_logistic")
local last = {}
for _, r in ipairs(nl) do last[r.method] = r end
assert(last.newton.iteration <= 8 and last.newton.gap < 1e-9, "Newton converges in a few steps")
assert(last.momentum.gap < 1e-3 and last.gd.gap < 1e-3, "every method reaches the optimum")
assert(last.gd.iteration > 10 * last.momentum.iteration / 2 and last.momentum.iteration > 10 * last.newton.iteration)

-- ensembles and SWA
local ens = rows_of("ensembles")
local singles, ensemble, swa = {}, {}, {}
for _, r in ipairs(ens) do
  if r.method == "single" then singles[#singles + 1] = r.test_error end
  if r.method == "ensemble" then ensemble[r.models] = r end
  if r.method == "swa" then swa[#swa + 1] = r end
end
assert(#singles == 3 and #ensemble == 3 and #swa == 4)
local mean = (singles[1] + singles[2] + singles[3]) / 3
assert(ensemble[1].test_error == singles[1], "an ensemble of one is its member")
assert(ensemble[3].test_loss < ensemble[1].test_loss, "averaging probabilities lowers the test cross-entropy")
assert(ensemble[3].test_error <= mean, "the ensemble is no worse than its average member")
os.remove(dir)
