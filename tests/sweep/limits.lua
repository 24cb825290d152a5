-- Sweeps used by test_sweep.c for per-trial limits and the launcher's rules:
--   lunet run limits.lua DIR limits    timeout and memory
--   lunet run limits.lua DIR rules     option errors (timeout, memory, slurm)
--   lunet run limits.lua DIR nosbatch  launcher = "slurm" where sbatch is missing or fails
--   lunet run limits.lua DIR fake      launcher = "slurm" through the stand-ins
--                                      in fakeslurm/, which run the tasks here
--   lunet run limits.lua DIR longkey   the same with a key of 9000 bytes (a
--                                      manifest line longer than a line buffer)
-- `limits` runs four trials: two that finish at once, one that sleeps for a
-- minute in a shell it started (the timeout must kill the whole process
-- group: the sleep holds a copy of the trial's pipe, and the shell's pid
-- goes to DIR/sleep.pid for the test to check), and one that allocates
-- without bound (strings of 1 MB kept in a table).
local lunet = require "lunet"
local dir, mode = arg[1], arg[2]

local function raises(pattern, spec)
  local ok, err = pcall(lunet.sweep, spec)
  assert(not ok, "no error; expected one with '" .. pattern .. "'")
  assert(tostring(err):find(pattern, 1, true), "error '" .. tostring(err) .. "' lacks '" .. pattern .. "'")
end
local function spec(extra)
  local s = { out = dir .. "/rules.csv", run = function() return { x = 1 } end }
  for k, v in pairs(extra) do s[k] = v end
  return s
end

if mode == "rules" then
  raises("'timeout' must be a number of seconds > 0", spec{ timeout = 0 })
  raises("'timeout' must be a number of seconds > 0", spec{ timeout = "1" })
  raises("'memory' must be a size of at least 1M", spec{ memory = "2X" })
  raises("'memory' must be a size of at least 1M", spec{ memory = 1000 })
  raises("launcher must be \"local\" or \"slurm\"", spec{ launcher = "mpi" })
  raises("'slurm' and 'detach' need launcher = \"slurm\"", spec{ slurm = { time = "1:00" } })
  raises("unknown slurm option 'nodes'", spec{ launcher = "slurm", slurm = { nodes = 2 } })
  raises("slurm.max_parallel must be an integer >= 1", spec{ launcher = "slurm", slurm = { max_parallel = 0 } })
  raises("slurm.extra[1] is not a string", spec{ launcher = "slurm", slurm = { extra = { 1 } } })
  print("rules ok")
elseif mode == "nosbatch" then
  lunet.sweep(spec{ launcher = "slurm", grid = { a = { 1, 2 } } }) -- raises: no sbatch on PATH
elseif mode == "fake" then
  local r = lunet.sweep{
    out = dir .. "/fake.csv", timeout = 1, launcher = "slurm", workers = 2, -- two trials at once in each task
    slurm = { partition = "p", time = "10", cpus_per_task = 2, mem = "1G", max_parallel = 2, trials_per_task = 2,
              extra = { "--qos=x" } },
    grid = { kind = { "error", "exit", "sleep", "ok", "ok2", "ok3" } }, -- failed rows may wait for a header
    run = function(cfg)
      if cfg.kind == "error" then error("planned failure") end
      if cfg.kind == "exit" then os.exit(3) end
      if cfg.kind == "sleep" then os.execute("sleep 30") end
      return { value = #cfg.kind }
    end,
  }
  print(("RESULT total=%d skipped=%d done=%d failed=%d lost=%d job=%s"):format(r.total, r.skipped, r.done,
    r.failed, r.lost, tostring(r.job)))
elseif mode == "longkey" then
  local r = lunet.sweep{ out = dir .. "/long.csv", launcher = "slurm",
    grid = { name = { string.rep("a", 9000), "b", "c" } },
    run = function(cfg) return { value = #cfg.name } end }
  print(("RESULT total=%d done=%d failed=%d lost=%d"):format(r.total, r.done, r.failed, r.lost))
else
  local r = lunet.sweep{
    out = dir .. "/limits.csv", workers = 2, timeout = 2, memory = "32M",
    grid = { kind = { "quick", "sleep", "alloc", "also_quick" } },
    run = function(cfg)
      if cfg.kind == "sleep" then os.execute("echo $$ > '" .. dir .. "/sleep.pid'; exec sleep 60") end
      if cfg.kind == "alloc" then
        local t = {}
        for i = 1, 1e6 do t[i] = string.rep("x", 1 << 20) .. i end
      end
      return { value = #cfg.kind }
    end,
  }
  print(("RESULT total=%d done=%d failed=%d"):format(r.total, r.done, r.failed))
end
