-- Wrote v1.ckpt and v1.expected (its parameters, and its outputs for two
-- inputs) with the lunet of commit 2d64e93, checkpoint format 1, for
-- tests/test_checkpoint.c: `lunet run v1_checkpoint.lua` in this folder, with
-- that lunet (git worktree add /tmp/old-lunet 2d64e93, then build it there).
local lunet = require "lunet"
local m = lunet.sequential{
  input = {4}, seed = 3,
  lunet.layer("dense", {out = 3, init = "xavier"}),
  lunet.residual{lunet.layer("tanh"), lunet.layer("dense", {out = 3})},
}
-- move every value away from its seeded init, so a loader that forgot to
-- copy the tensors is caught
for i, p in ipairs(m:parameters()) do
  local v = {}
  for k = 1, #p.values do v[k] = ((i * 37 + k * 11) % 19 - 9) / 8 end
  m:set_parameter(p.name, v)
end
m:save("v1.ckpt")
local f = assert(io.open("v1.expected", "w"))
f:write("# written with v1.ckpt by tests/data/v1_checkpoint.lua (lunet 2d64e93)\n")
for _, p in ipairs(m:parameters()) do
  f:write("param ", p.name, " ", #p.values)
  for _, x in ipairs(p.values) do f:write(string.format(" %.9g", x)) end
  f:write("\n")
end
local x = {{0.5, -1, 2, 0.25}, {-0.75, 0.125, 1.5, -2}}
local out = m:predict(lunet.data{x = x, y = {0, 0}, task = "regression"})
for r = 1, #x do
  f:write("input ", #x[r])
  for _, v in ipairs(x[r]) do f:write(string.format(" %.9g", v)) end
  f:write("\noutput ", #out[r])
  for _, v in ipairs(out[r]) do f:write(string.format(" %.9g", v)) end
  f:write("\n")
end
f:close()
