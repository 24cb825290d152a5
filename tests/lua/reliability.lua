-- reliability.lua -- regression tests for the defects a red-team run found
-- (issue 16): each block failed before its fix. Temporary files go under
-- os.tmpname()'s directory and are removed at the end.
local lunet = require "lunet"
local fails = require("testlib").fails

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))
local function path(name) return dir .. "/" .. name end
local function write(name, text)
  local f = assert(io.open(path(name), "wb"))
  f:write(text)
  f:close()
  return path(name)
end

-- a tiny classification problem, and lunet.train on it with options changed
local data = lunet.data{ x = { {1, 2}, {3, 4} }, y = { 1, 2 } }
local model = lunet.sequential{ input = { 2 }, lunet.layer("dense", { out = 2 }) }
local ce = lunet.loss("cross_entropy")
local function train(opts)
  local t = { model = model, data = data, loss = ce, optimizer = lunet.optimizer("sgd"), verbose = false }
  for k, v in pairs(opts) do t[k] = v end
  return lunet.train(t)
end

-- ---- lunet.data: class indices that overflow, and labels counted from 0 ----
fails({ "y[2] = 2147483648", "largest class index" }, lunet.data, { x = { {1}, {2} }, y = { 1, 2^31 } })
fails({ "classes = 4294967296", "expected 1..16777216" }, lunet.data, { x = { {1} }, y = { 1 }, classes = 2^32 })
fails({ "whole numbers from 0", "count from 1", "task = \"regression\"" }, lunet.data,
  { x = { {1}, {2}, {3} }, y = { 0, 1, 2 } })
assert(lunet.data{ x = { {1}, {2} }, y = { 0, 1 }, task = "regression" }:classes() == 0)
assert(lunet.data{ x = { {1}, {2} }, y = { 1, 3 } }:classes() == 3)

-- ---- lunet.csv: a NUL byte is refused, not cut ----
local log = lunet.csv(path("nul.csv"))
fails({ "column 'a'", "NUL byte at position 2" }, log.write, log, { a = "x\0y" })
log:write{ a = "xy" }
log:close()
assert(#lunet.read_csv(path("nul.csv")) == 1 and lunet.read_csv(path("nul.csv"))[1].a == "xy")

-- ---- read_csv: an unfinished last line is no row; an unclosed quote is named ----
local rows, note = lunet.read_csv(write("partial.csv", "a,b\n1,2\n3,4"))
assert(#rows == 1 and note:find("no newline at its end", 1, true), "a partial last row was returned as good")
fails({ "unclosed.csv:3", "never closed" }, lunet.read_csv, write("unclosed.csv", "a,b\n1,2\n3,\"abc\n5,6\n"))
rows, note = lunet.read_csv(write("whole.csv", "a,b\n1,2\n"))
assert(#rows == 1 and note == nil)

-- ---- a UTF-8 byte-order mark is not part of the first column's name ----
rows = lunet.read_csv(write("bom.csv", "\239\187\191a,b\n1,2\n"))
assert(rows[1].a == 1 and rows[1]["\239\187\191a"] == nil, "the BOM stayed in the first column's name")
log = lunet.csv(path("bom.csv"))
assert(log:columns()[1] == "a", "the writer kept the BOM in the header")
log:close()

-- ---- two columns of one name: refused, never the first one silently ----
fails({ "header names column 'a' twice", "columns 1 and 3" }, lunet.read_csv, write("dup.csv", "a,b,a\n1,2,3\n"))
fails({ "target \"y\" names two columns", "2 and 3" }, lunet.dataset, "csv",
  { path = write("dupy.csv", "x,y,y\n1,2,1\n3,4,2\n"), target = "y" })

-- ---- training: NaN outputs have no error rate; epochs = 0 and huge batches ----
local broken = lunet.sequential{ input = { 2 }, lunet.layer("dense", { out = 2 }) }
broken:set_parameter("1.dense.weight", { 0 / 0, 0, 0, 0 })
local e = broken:evaluate(data, ce)
assert(e.loss ~= e.loss and e.error ~= e.error, "NaN outputs reported error " .. tostring(e.error))
fails({ "'epochs' must be >= 1, got 0" }, train, { epochs = 0 })
local r = train({ epochs = 1, batch = 1e9 }) -- the whole dataset in one batch, not 1e9 rows of memory
assert(r.status == "ok" and r.train.loss == r.train.loss)
fails({ "'batch' = 2147483648 is too large" }, train, { batch = 2^31 })
fails({ "'batch' must be a whole number", "1.5" }, train, { batch = 1.5 })
fails({ "model:evaluate", "'batch' must be >= 1, got 0" }, model.evaluate, model, data, ce, { batch = 0 })

-- ---- messages ----
fails({ "expected an optimizer spec" }, train, { optimizer = lunet.loss("mse") })
fails({ "checkpoint " .. dir, "not a regular file" }, lunet.load, dir)
fails({ "the path is empty" }, model.save, model, "")
fails({ "target of batch row 2, element 1 (both from 1) is 2" }, lunet.train, { verbose = false, shuffle = false,
  model = lunet.sequential{ input = { 2 }, lunet.layer("dense", { out = 1 }) }, optimizer = lunet.optimizer("sgd"),
  loss = lunet.loss("binary_cross_entropy"), data = lunet.data{ x = { {1, 2}, {3, 4} }, y = { {0.5}, {2} } } })

-- ---- a sweep's run must return a table of metrics or nothing ----
lunet.sweep{ out = path("ret.csv"), grid = { kind = { "number", "string", "deep", "function", "none", "fine" } },
  run = function(cfg)
    if cfg.kind == "number" then return 42 end
    if cfg.kind == "string" then return "0.1" end
    if cfg.kind == "deep" then return { a = { b = { c = 1 } } } end
    if cfg.kind == "function" then return { f = print } end
    if cfg.kind == "fine" then return { v = 1, nested = { w = 2 } } end
  end }
local byk = {}
for _, row in ipairs(lunet.read_csv(path("ret.csv"))) do byk[row.kind] = row end
assert(byk.number.status == "error" and byk.number.message:find("run returned a number", 1, true), byk.number.status)
assert(byk.string.status == "error" and byk.string.message:find("run returned a string", 1, true))
assert(byk.deep.status == "error" and byk.deep.message:find("'a_b', a table two levels deep", 1, true),
  byk.deep.message)
assert(byk["function"].status == "error" and byk["function"].message:find("'f', a function", 1, true))
assert(byk.none.status == "ok" and byk.fine.status == "ok" and byk.fine.v == 1 and byk.fine.nested_w == 2)

-- ---- a trial without metrics does not fix the columns; a metric that does not fit is an error ----
lunet.sweep{ out = path("cols.csv"), grid = { x = { 1, 2, 3 } }, run = function(cfg)
  if cfg.x == 1 then return nil end
  if cfg.x == 2 then return { acc = 0.5 } end
  return { acc = 0.7, extra = 1 }
end }
local byx = {}
for _, row in ipairs(lunet.read_csv(path("cols.csv"))) do byx[row.x] = row end
assert(byx[1] and byx[1].status == "ok" and byx[2].acc == 0.5, "the first trial's empty result fixed the columns")
assert(byx[3].status == "error" and byx[3].message:find("'extra', which is not a column", 1, true)
  and byx[3].acc == 0.7, "a metric without a column was dropped silently")

-- ---- the results file deleted during a sweep: an error, not rows lost silently ----
local ok, err = pcall(lunet.sweep, { out = path("del.csv"), grid = { x = { 1, 2, 3 } }, run = function(cfg)
  if cfg.x == 2 then os.remove(path("del.csv")) end
  return { v = cfg.x }
end })
assert(not ok and tostring(err):find("deleted or replaced", 1, true), "a deleted results file went unnoticed: "
  .. tostring(err))

-- ---- two sweeps on one results file: the second is refused, naming the first's process ----
lunet.sweep{ out = path("twice.csv"), grid = { x = { 1 } }, run = function()
  -- a trial runs while its sweep holds the file: a sweep started now is the second one
  lunet.sweep{ out = path("twice.csv"), grid = { x = { 1 } }, run = function() return { v = 1 } end }
end }
local twice = lunet.read_csv(path("twice.csv"))
assert(#twice == 1 and twice[1].status == "error" and twice[1].message:find("is in use by another sweep %(process %d+%)"),
  "a second sweep on the same file was not refused: " .. tostring(twice[1].message))
lunet.sweep{ out = path("twice.csv"), grid = { x = { 1, 2 } }, run = function() return {} end } -- the lock is gone

-- ---- sizes: no silent wrap-around, no product that overflows ----
fails({ "integers 1..2147483647" }, lunet.sequential, { input = { (1 << 32) + 2 }, lunet.layer("relu") })
fails({ "more than 1099511627776 elements" }, lunet.sequential,
  { input = { 2147483647, 2147483647, 2147483647 }, lunet.layer("relu") })
fails({ "dense", "4294967296 features", "at most 1073741824" }, lunet.sequential,
  { input = { 65536, 65536 }, lunet.layer("dense", { out = 2 }) })

-- ---- a model or dataset used after its __gc ran raises, never crashes ----
local doomed = lunet.sequential{ input = { 2 }, lunet.layer("dense", { out = 2 }) }
getmetatable(doomed).__gc(doomed)
fails({ "model: it was freed" }, doomed.predict, doomed, { {1, 2} })
fails({ "model: it was freed" }, doomed.parameters, doomed)
local gone = lunet.data{ x = { {1}, {2} }, y = { 1, 2 } }
getmetatable(gone).__gc(gone)
fails({ "dataset: it was freed" }, gone.size, gone)
fails({ "dataset: it was freed" }, gone.sample, gone, 1)

os.execute("rm -rf '" .. dir .. "'")
