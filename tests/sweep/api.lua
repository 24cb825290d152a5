-- lunet.sweep's rules, asserted from Lua (run by test_sweep.c as
--   LUNET_THREADS=2 lunet run api.lua DIR):
-- argument errors, BLAS threads in trials, trial keys and duplicates, a
-- changed grid, declared and undeclared metric columns, failed trials
-- before the first good one, what run() may return or raise, trial.key,
-- log rows of unfinished trials, a partial last line.
local lunet = require "lunet"
local dir = assert(arg[1], "usage: api.lua DIR")

local function path(name) return dir .. "/" .. name end
local function rows(name) return lunet.read_csv(path(name)) end
local function header(name)
  local f = assert(io.open(path(name)))
  local line = f:read("l")
  f:close()
  return line
end
local function raises(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "no error; expected one with '" .. pattern .. "'")
  assert(tostring(err):find(pattern, 1, true), "error '" .. tostring(err) .. "' lacks '" .. pattern .. "'")
end
local function by(list, col)
  local t = {}
  for _, r in ipairs(list) do t[tostring(r[col])] = r end
  return t
end
local function nothing() return {} end

-- ---- arguments ----
raises("expected a < b", lunet.uniform, 1, 1)
raises("expected 0 < a", lunet.loguniform, 0, 1)
raises("at least one value", lunet.choice, {})
raises("values are numbers, strings or booleans", lunet.choice, { {} })
raises("unknown option 'worker'", lunet.sweep, { out = path("e.csv"), run = nothing, worker = 2 })
raises("'run' must be a function", lunet.sweep, { out = path("e.csv") })
raises("'out' must be the path", lunet.sweep, { run = nothing })
raises("grid 'x' value 2 is a table", lunet.sweep, { out = path("e.csv"), run = nothing, grid = { x = { 1, {} } } })
raises("grid key 'seed'", lunet.sweep, { out = path("e.csv"), run = nothing, grid = { seed = { 1, 2 } } })
raises("give grid or random, not both", lunet.sweep, { out = path("e.csv"), run = nothing, grid = { x = 1 },
  random = { n = 1, space = {} } })
raises("on_failure must be", lunet.sweep, { out = path("e.csv"), run = nothing, on_failure = "ignore" })
raises("seeds[2] is not an integer", lunet.sweep, { out = path("e.csv"), run = nothing, seeds = { 1, 1.5 } })
raises("random.space 'lr' is a function", lunet.sweep, { out = path("e.csv"), run = nothing,
  random = { n = 2, space = { lr = print } } })
assert(not io.open(path("e.csv")), "a refused sweep created its file")

-- ---- BLAS threads: `threads` (default 1), whatever workers and LUNET_THREADS say ----
assert(lunet.threads() == 2, "the test runs this script with LUNET_THREADS=2")
local function threads() return { threads = lunet.threads() } end
for _, w in ipairs{ 1, 2 } do
  lunet.sweep{ out = path("t" .. w .. ".csv"), workers = w, seeds = { 1, 2 }, run = threads }
  for _, r in ipairs(rows("t" .. w .. ".csv")) do
    assert(r.threads == 1, ("workers = %d: a trial ran %s BLAS threads"):format(w, r.threads))
  end
end
lunet.sweep{ out = path("t3.csv"), threads = 2, run = threads }
assert(rows("t3.csv")[1].threads == 2, "threads = 2 was not applied")
assert(lunet.threads() == 2, "the sweep changed the caller's thread count")

-- ---- keys: values that read back as other text, and duplicate configurations ----
local grid = { s = { "1e-3", "010", "a,b=c" }, f = { 0.1, 2.0, 1e20, -0.0 }, big = { 1 << 60 }, d = { 1, 1.0 },
               b = { true, false } }
local function one() return { v = 1 } end
local r = lunet.sweep{ out = path("k.csv"), grid = grid, run = one }
assert(r.total == 24 and r.duplicates == 24 and r.done == 24 and r.skipped == 0,
  ("total %d, duplicates %d, done %d"):format(r.total, r.duplicates, r.done))
r = lunet.sweep{ out = path("k.csv"), grid = grid, run = one }
assert(r.skipped == 24 and r.done == 0, "a rerun ran recorded trials again: done " .. r.done)
assert(#rows("k.csv") == 24)
assert(by(rows("k.csv"), "s")["a,b=c"], "a string with a comma did not come back")
-- a changed grid runs only the new trials; other grid keys are refused
grid.s[4] = "new"
r = lunet.sweep{ out = path("k.csv"), grid = grid, run = one }
assert(r.done == 8 and r.skipped == 24, "a grown grid ran " .. r.done .. " trials, expected 8")
raises("holds a sweep over (b, big, d, f, s), but this sweep's keys are (other)", lunet.sweep,
  { out = path("k.csv"), grid = { other = { 1 } }, run = one })

-- ---- metrics = {...}: the columns, even when the first trial fails ----
local function metrics(cfg)
  if cfg.x == 1 then error("first fails") end
  return { acc = cfg.x / 10, loss = 1 / cfg.x, extra = 5 }
end
lunet.sweep{ out = path("m.csv"), metrics = { "acc", "loss" }, grid = { x = { 1, 2, 3 } }, run = metrics }
assert(header("m.csv") == "x,seed,status,message,seconds,acc,loss,lunet_version,abi,plugins", header("m.csv"))
local m = by(rows("m.csv"), "x")
assert(m["1"].status == "error" and m["1"].message:find("first fails") and m["1"].acc == nil)
assert(m["2"].status == "ok" and m["2"].acc == 0.2 and m["3"].loss == 1 / 3)
raises("other metric columns", lunet.sweep, { out = path("m.csv"), metrics = { "acc" }, grid = { x = { 1 } },
  run = metrics })

-- ---- no metrics declared: failed trials wait for the first good one's columns ----
lunet.sweep{ out = path("w.csv"), grid = { x = { 1, 2, 3 } }, run = function(cfg)
  if cfg.x < 3 then error("early failure " .. cfg.x) end
  return { acc = 0.5 }
end }
assert(header("w.csv") == "x,seed,status,message,seconds,acc,lunet_version,abi,plugins", header("w.csv"))
local w = by(rows("w.csv"), "x")
assert(#rows("w.csv") == 3 and w["1"].status == "error" and w["2"].message:find("early failure 2")
  and w["3"].acc == 0.5)
lunet.sweep{ out = path("allfail.csv"), grid = { x = { 1, 2 } }, run = function() error("nope") end }
assert(#rows("allfail.csv") == 2 and rows("allfail.csv")[2].message:find("nope"))

-- ---- what run() returns or raises ----
local xs, ys = {}, {}
for i = 1, 64 do xs[i] = { i, -i }; ys[i] = { 1000 * i } end
local data = lunet.data{ x = xs, y = ys }
lunet.sweep{ out = path("d.csv"), grid = { lr = { 1e-7, 10 } }, run = function(cfg)
  local model = lunet.sequential{ lunet.layer("dense", { out = 8 }), lunet.layer("dense", { out = 1 }) }
  return lunet.train{ model = model, data = data, loss = lunet.loss("mse"), epochs = 20, batch = 8,
    optimizer = lunet.optimizer("sgd", { lr = cfg.lr }), eval = { test = data }, verbose = false }
end }
local d = by(rows("d.csv"), "lr")
assert(d["1e-07"].status == "ok" and d["1e-07"].test_loss < 1e3 and d["1e-07"].train_loss,
  "lunet.train's result was not flattened into test_loss, train_loss")
assert(d["10"].status == "diverged" and d["10"].message:find("loss became"), tostring(d["10"].message))

lunet.sweep{ out = path("x.csv"), grid = { mode = { "exit", "killed", "object", "fine" } }, run = function(cfg)
  if cfg.mode == "exit" then os.exit(0) end
  if cfg.mode == "killed" then os.execute("kill -9 $PPID") end -- as the OOM killer would
  if cfg.mode == "object" then error(setmetatable({}, { __tostring = function() return "custom error" end })) end
  return { fine = true, nested = { a = 1 } }
end }
local x = by(rows("x.csv"), "mode")
assert(x.exit.status == "crashed" and x.exit.message:find("os.exit"), x.exit.message)
assert(x.killed.status == "crashed" and x.killed.message:find("SIGKILL", 1, true)
  and x.killed.message:find("out of memory?", 1, true), x.killed.message)
assert(x.object.status == "error" and x.object.message == "custom error", x.object.message)
assert(x.fine.status == "ok" and x.fine.fine == "true" and x.fine.nested_a == 1)

lunet.sweep{ out = path("key.csv"), grid = { a = { 1, 2 } }, seeds = { 7 }, run = function(cfg, trial)
  return { key = trial.key, index = trial.index, seen_seed = cfg.seed }
end }
local kr = by(rows("key.csv"), "a")
assert(kr["1"].key == "a=1,seed=7" and kr["2"].index == 2 and kr["2"].seen_seed == 7)

-- ---- log rows of a trial the results file does not hold are dropped on resume ----
local function logged(cfg, trial)
  for e = 1, 3 do trial:log{ epoch = e, v = cfg.x * e } end
  return { v = cfg.x }
end
lunet.sweep{ out = path("l.csv"), grid = { x = { 1, 2 } }, run = logged }
-- as if killed between trial x = 3's log rows and its results row
local log = lunet.csv(path("l_log.csv"))
for e = 1, 3 do log:write{ x = 3, seed = 1, epoch = e, v = -1 } end
log:close()
lunet.sweep{ out = path("l.csv"), grid = { x = { 1, 2, 3 } }, run = logged }
local lr = rows("l_log.csv")
assert(#lr == 9, #lr .. " log rows, expected 3 trials x 3 epochs")
for _, row in ipairs(lr) do assert(row.v == row.x * row.epoch, "a stale log row survived") end

-- ---- a partial last line (a kill in the middle of a write) is cut; its trial runs ----
local f = assert(io.open(path("l.csv"), "a"))
f:write("4,1,ok,,0.5")
f:close()
r = lunet.sweep{ out = path("l.csv"), grid = { x = { 1, 2, 3, 4 } }, run = logged }
assert(r.done == 1 and r.skipped == 3 and #rows("l.csv") == 4 and #rows("l_log.csv") == 12)

print("api ok")
