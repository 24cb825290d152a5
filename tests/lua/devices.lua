-- devices.lua -- lunet.devices(), device = "cuda" and model:to() where no GPU
-- is (CI, this machine): the SPEC's errors, and a model that stays on the
-- CPU and still works. With a GPU, bench/gpu_check.sh tests the rest.
local lunet = require "lunet"
local t = require "testlib"

local devs = lunet.devices()
assert(devs[1] == "cpu", "lunet.devices() starts with cpu")
for i = 2, #devs do assert(devs[i] == ("cuda:%d"):format(i - 2), devs[i]) end

local function dense_model(extra)
  local spec = { lunet.layer("dense", { out = 2 }), input = { 3 } }
  for k, v in pairs(extra or {}) do spec[k] = v end
  return lunet.sequential(spec)
end

t.fails({ "device 'tpu' is unknown", "\"cuda:N\"" }, dense_model, { device = "tpu" })
t.fails({ "device 'cuda:x' is unknown" }, dense_model, { device = "cuda:x" })

local m = dense_model({ device = "cpu" })
assert(m:to("cpu") == m and m:device() == "cpu")

if #devs == 1 then
  local why = lunet.cuda_built and "cuda: no CUDA device found" or "cuda: lunet was built without CUDA"
  t.fails({ why }, dense_model, { device = "cuda" })
  t.fails({ why }, m.to, m, "cuda")
  t.fails({ why }, m.to, m, "cuda:1")
  -- refused, the model is where it was and still runs
  assert(m:device() == "cpu")
  assert(m:param_count() == 8)
end
print("devices ok: " .. table.concat(devs, ", ") .. (lunet.cuda_built and " (CUDA built)" or " (no CUDA)"))
