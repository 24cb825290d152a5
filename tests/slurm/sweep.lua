-- The sweep of the Slurm test (slurm_test.sh), 22 trials through a job array:
--   lunet run sweep.lua DIR run|detach|check|slow
-- Trial 3 crashes (SIGSEGV, sent by a shell to its parent, the trial),
-- trial 5 sleeps past its timeout, and trial 7, on its first run, writes
-- its job and task id to DIR/cancel-me and sleeps until the test cancels
-- that task (scancel JOB_TASK); on a rerun it finishes. `check` asserts
-- that every trial is in DIR/out.csv exactly once, with the right status.
-- `slow` is another sweep (DIR/slow.csv) of 4 trials of 30 s, to interrupt.
local lunet = require "lunet"
local dir, mode = arg[1], arg[2]
local out = dir .. "/out.csv"
local N = 22

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

if mode == "check" then
  local rows = lunet.read_csv(out)
  assert(#rows == N, ("%d rows in %s, expected %d"):format(#rows, out, N))
  local seen = {}
  for _, r in ipairs(rows) do
    assert(not seen[r.i], "trial " .. r.i .. " has two rows")
    seen[r.i] = true
    local want = r.i == 3 and "crashed" or r.i == 5 and "timeout" or "ok"
    assert(r.status == want, ("trial %d: status %s (%s), expected %s"):format(r.i, r.status, r.message, want))
    if want == "ok" then assert(r.square == r.i * r.i, "trial " .. r.i .. ": wrong metric") end
  end
  for i = 1, N do assert(seen[i], "trial " .. i .. " has no row") end
  for _, r in ipairs(rows) do
    -- SIGSEGV; under AddressSanitizer its report ends the worker (abort, or exit 1)
    if r.i == 3 then assert(r.message:find("killed by signal") or r.message:find("exited with status"), r.message) end
    if r.i == 5 then assert(r.message:find("timeout of 6 s", 1, true), r.message) end
  end
  print("check ok")
  return
end

if mode == "slow" then
  lunet.sweep{ out = dir .. "/slow.csv", grid = { i = { 1, 2, 3, 4 } }, launcher = "slurm",
               run = function() os.execute("sleep 30") end }
  return
end

local grid = {}
for i = 1, N do grid[i] = i end
local r = lunet.sweep{
  out = out, grid = { i = grid }, timeout = 6,
  launcher = "slurm", detach = mode == "detach",
  slurm = { partition = "debug", cpus_per_task = 1, time = "5", max_parallel = 8,
            extra = { "--comment=lunet-slurm-test" } },
  run = function(cfg, trial)
    if cfg.i == 3 then os.execute("kill -SEGV $PPID") end
    if cfg.i == 5 then os.execute("sleep 60") end
    if cfg.i == 7 and not exists(dir .. "/cancel-me") then
      local f = assert(io.open(dir .. "/cancel-me.tmp", "w"))
      f:write(os.getenv("SLURM_ARRAY_JOB_ID"), "_", os.getenv("SLURM_ARRAY_TASK_ID"), "\n")
      f:close()
      os.rename(dir .. "/cancel-me.tmp", dir .. "/cancel-me")
      os.execute("sleep 60")
    end
    return { square = cfg.i * cfg.i }
  end,
}
print(("RESULT total=%d skipped=%d done=%d failed=%d lost=%d job=%s"):format(
  r.total, r.skipped, r.done, r.failed, r.lost, tostring(r.job)))
