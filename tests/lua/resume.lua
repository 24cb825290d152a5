-- Exact training resume (issue 16): a run of resume_child.lua killed with
-- SIGKILL at random moments and rerun until it finishes ends with the
-- weights and metrics of a run never interrupted, bit for bit; its on_epoch
-- CSV has no epoch twice and every epoch once, except an epoch whose
-- on_epoch a kill cut off right after its checkpoint (the documented gap:
-- that call is never repeated). A finished run's checkpoint returns the
-- result without training or calling on_epoch.
local lunet = require "lunet"
local exe = os.getenv("LUNET_EXE")
assert(exe, "LUNET_EXE is not set (meson test sets it)")
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")
local child = here .. "/resume_child.lua"
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- Runs the child; true when it finished, false when the kill came first.
-- Its stderr goes to OUT.err.
local function run(ck, out, kill_after)
  local cmd = ("'%s' run '%s' '%s' '%s/%s' 2>'%s/%s.err'"):format(exe, child, ck, dir, out, dir, out)
  if kill_after then cmd = ("timeout -s KILL %.3f %s"):format(kill_after, cmd) end
  local ok, how, code = os.execute(cmd)
  assert(ok or code == 137 or code == 9, ("child exited with %s %s: %s"):format(how, code, slurp(dir .. "/" .. out .. ".err")))
  return ok == true
end

-- The epochs of the rows of a CSV, counted.
local function logged(path)
  local seen = {}
  if slurp(path) == "" then return seen end -- killed before its first row
  for _, row in ipairs(lunet.read_csv(path)) do seen[row.epoch] = (seen[row.epoch] or 0) + 1 end
  return seen
end

-- Wall-clock seconds, for sizing the kill delays to this machine and build.
local function now()
  local p = io.popen("date +%s.%N")
  local v = tonumber(p:read("a"))
  p:close()
  return v
end

-- Start-up (loading lunet and its plugins) and a whole run, timed here.
local t0 = now()
assert(os.execute(("'%s' run '%s/startup.lua'"):format(exe, here)))
local t_start = now() - t0
t0 = now()
run("none", "ref")
local t_train = math.max(now() - t0 - t_start, 0.05)
local ref = slurp(dir .. "/ref.out")
local want = lunet.read_csv(dir .. "/ref.csv")
assert(#want == 8 and ref ~= "", "the uninterrupted run did not finish its 8 epochs")

-- Five kills at random moments of the training that is left (estimated
-- from the rows logged so far), then a run left to finish. A round that the
-- machine's speed let finish before three kills starts over, aiming sooner:
-- start-up included, since a load that eased since it was timed makes it
-- shorter too (a kill during start-up costs nothing but that run).
-- The delays are printed on failure, to rerun them.
math.randomseed(os.time())
local function kill_round(scale)
  os.remove(dir .. "/run.ckpt")
  os.remove(dir .. "/run.csv")
  os.remove(dir .. "/run.out")
  local kills, delays, cut = 0, {}, {}
  local rows_at_kill, left = nil, 8
  for _ = 1, 12 do
    local d = kills < 5 and scale * (t_start + t_train * left / 8 * (0.1 + 0.8 * math.random())) or nil
    delays[#delays + 1] = d and ("%.3f"):format(d) or "none"
    local finished = run(dir .. "/run.ckpt", "run", d)
    -- the checkpoint this run started from records `done` epochs; one whose
    -- row the last kill had not let on_epoch write was cut off in the gap
    local done = tonumber(slurp(dir .. "/run.err"):match("resuming from [^\n]*: (%d+) of 8 epochs done"))
    if done and done > 0 and rows_at_kill and not rows_at_kill[done] then cut[done] = true end
    if finished then break end
    kills = kills + 1
    rows_at_kill = logged(dir .. "/run.csv")
    left = 8
    for _ in pairs(rows_at_kill) do left = left - 1 end
    left = math.max(left, 1)
  end
  return kills, cut, " (kill delays " .. table.concat(delays, " ") .. ")"
end
local kills, cut, why
local scale = 1
for _ = 1, 4 do
  kills, cut, why = kill_round(scale)
  if kills >= 3 then break end
  scale = scale * 0.6
end
assert(kills >= 3, "only " .. kills .. " kills landed before the run finished" .. why)
assert(slurp(dir .. "/run.out") ~= "", "the run never finished" .. why)
assert(slurp(dir .. "/run.out") == ref, "resumed weights or metrics differ from the uninterrupted run" .. why)

-- The on_epoch rows: the uninterrupted run's numbers, no epoch twice, none missing but a cut one.
local got, seen = lunet.read_csv(dir .. "/run.csv"), logged(dir .. "/run.csv")
for e = 1, 8 do
  assert((seen[e] or 0) <= 1, ("epoch %d logged %d times"):format(e, seen[e] or 0) .. why)
  assert(seen[e] == 1 or cut[e], ("epoch %d was never logged, and no kill cut its on_epoch off"):format(e) .. why)
end
for _, row in ipairs(got) do
  for k, v in pairs(want[row.epoch]) do
    assert(row[k] == v, ("epoch %d: %s is %s, uninterrupted %s"):format(row.epoch, k, row[k], v) .. why)
  end
end

-- A finished run's checkpoint returns its result at once: no training, no on_epoch.
assert(run(dir .. "/run.ckpt", "run"))
assert(slurp(dir .. "/run.out") == ref, "the rerun of a finished run changed its result")
assert(slurp(dir .. "/run.err"):find("training finished", 1, true), "the rerun did not say it had finished")
assert(#lunet.read_csv(dir .. "/run.csv") == #got, "the rerun of a finished run called on_epoch")

os.execute("rm -rf '" .. dir .. "'")
