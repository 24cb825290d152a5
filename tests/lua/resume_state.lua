-- Training checkpoints in one process (issue 16): every optimizer's state
-- survives a resume (a run stopped by an error in on_epoch and rerun ends
-- bit-identical to one never stopped); checkpoints of another run, damaged
-- files and options that cannot be checkpointed are refused by name.
local lunet = require "lunet"
local t = require "testlib"
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))

local state = 1
local function rnd()
  state = (state * 1103515245 + 12345) % 2147483648
  return state / 2147483648
end
local x, y = {}, {}
for i = 1, 240 do
  local a, b = rnd() * 2 - 1, rnd() * 2 - 1
  x[i], y[i] = { a, b, a * b }, a + b > 0 and 1 or 2
end
local data = lunet.data{ x = x, y = y }

local hyper = {
  sgd = { lr = 0.05, momentum = 0.9, nesterov = true, weight_decay = 1e-3 },
  adam = { lr = 0.01 }, adamw = { lr = 0.01, weight_decay = 0.05 },
  adagrad = { lr = 0.05, initial_accumulator_value = 0.1 },
  rmsprop = { lr = 0.005, momentum = 0.5, centered = true },
}

-- One run of 4 epochs; `fail_at` raises in on_epoch at that epoch. Returns
-- the result and every parameter value, or nil and the error.
local function train(o, opts)
  opts = opts or {}
  local model = lunet.sequential{ seed = 5, lunet.layer("dense", { out = opts.hidden or 16 }),
    lunet.layer("tanh"), lunet.layer("dropout", { p = 0.1 }), lunet.layer("dense", { out = 2 }) }
  local calls = {}
  local ok, r = pcall(lunet.train, { model = model, data = opts.data or data, eval = { val = data },
    loss = lunet.loss("cross_entropy"), optimizer = lunet.optimizer(o, hyper[o]),
    epochs = opts.epochs or 4, batch = 32, seed = 9, schedule = { kind = "step", step = 1, gamma = 0.7 },
    patience = 3, verbose = false, checkpoint = opts.checkpoint, checkpoint_every = opts.every,
    on_epoch = function(e)
      calls[#calls + 1] = e
      if e == opts.fail_at then error("stopped at epoch " .. e) end
    end })
  if not ok then return nil, r, calls end
  local values = {}
  for _, p in ipairs(model:parameters()) do
    for _, v in ipairs(p.values) do values[#values + 1] = v end
  end
  return r, values, calls
end

-- Each optimizer: stopped after epoch 2 (or 3 with checkpoint_every = 2,
-- so that epoch 3 is redone), resumed, and equal to a run never stopped.
for o in pairs(hyper) do
  local ref, want = train(o)
  for _, c in ipairs{ { every = 1, fail_at = 2, redo = {} }, { every = 2, fail_at = 3, redo = { 3 } } } do
    local ck = ("%s/%s_%d.ckpt"):format(dir, o, c.every)
    local r, err, calls = train(o, { checkpoint = ck, every = c.every, fail_at = c.fail_at })
    assert(not r and err:find("stopped at epoch", 1, true), o .. ": the run did not stop: " .. tostring(err))
    assert(#calls == c.fail_at, o .. ": on_epoch was called " .. #calls .. " times before the stop")
    local got, values
    got, values, calls = train(o, { checkpoint = ck, every = c.every })
    assert(got, o .. ": the resumed run failed: " .. tostring(values))
    local first = calls[1]
    assert(first == (c.redo[1] or c.fail_at + 1), ("%s: resumed at epoch %s"):format(o, first))
    for i, v in ipairs(want) do
      assert(v == values[i], ("%s (checkpoint_every %d): value %d is %.9g after the resume, %.9g without")
        :format(o, c.every, i, values[i], v))
    end
    assert(got.train.loss == ref.train.loss and got.val.loss == ref.val.loss and got.epochs == ref.epochs and
           got.best_epoch == ref.best_epoch, o .. ": the resumed result differs")
    -- finished: the rerun trains no more and calls no on_epoch
    local again, v2, calls2 = train(o, { checkpoint = ck, every = c.every })
    assert(#calls2 == 0 and again.val.loss == ref.val.loss and v2[1] == want[1], o .. ": the finished run ran again")
  end
end

-- Another run's checkpoint is refused, quoting the line that differs.
local ck = dir .. "/run.ckpt"
assert(train("adam", { checkpoint = ck }))
local function refused(needles, o, opts)
  local r, err, calls = train(o, opts)
  assert(not r, "a checkpoint of another run was used")
  for _, s in ipairs(needles) do assert(err:find(s, 1, true), ("error %q lacks %q"):format(err, s)) end
  assert(#calls == 0, "on_epoch ran before the refusal")
end
refused({ "belongs to another run", "optimizer sgd", "optimizer adam", "delete it" }, "sgd", { checkpoint = ck })
refused({ "belongs to another run", "out=32", "out=16" }, "adam", { checkpoint = ck, hidden = 32 })
refused({ "belongs to another run", "epochs=5", "epochs=4" }, "adam", { checkpoint = ck, epochs = 5 })
y[1] = 3 - y[1] -- the same size, one label changed
refused({ "belongs to another run", "data samples=240 crc=" }, "adam", { checkpoint = ck, data = lunet.data{ x = x, y = y } })

-- Damaged files and files of another kind.
local function bytes(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end
local function put(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end
local good = bytes(ck)
local mid = #good // 2
put(ck, good:sub(1, mid - 1) .. string.char((good:byte(mid) + 1) % 256) .. good:sub(mid + 1))
refused({ ck, "corrupt", "CRC32" }, "adam", { checkpoint = ck })
put(ck, good:sub(1, mid))
refused({ ck, "truncated" }, "adam", { checkpoint = ck })
-- A file whose checksum is right but whose last tensor has another name
-- (as a layer plugin renaming its weights would leave): refused, and the
-- model given to lunet.train keeps its own values, though the tensors
-- before that one were read into it.
local function crc32(s)
  local crc = 0xffffffff
  for i = 1, #s do
    crc = crc ~ s:byte(i)
    for _ = 1, 8 do crc = (crc >> 1) ~ (0xedb88320 & -(crc & 1)) end
  end
  return ~crc & 0xffffffff
end
assert(crc32("123456789") == 0xcbf43926, "crc32 is not zlib's")
local at = select(2, good:find(".*4%.dense%.bias")) -- the last tensor's name
local renamed = good:sub(1, at - 1) .. "z" .. good:sub(at + 1, -5)
put(ck, renamed .. string.pack("<I4", crc32(renamed)))
local fresh = lunet.sequential{ seed = 5, lunet.layer("dense", { out = 16 }), lunet.layer("tanh"),
  lunet.layer("dropout", { p = 0.1 }), lunet.layer("dense", { out = 2 }) }
fresh:predict(data)
local before = {}
for _, p in ipairs(fresh:parameters()) do for _, v in ipairs(p.values) do before[#before + 1] = v end end
local ok, err = pcall(lunet.train, { model = fresh, data = data, eval = { val = data },
  loss = lunet.loss("cross_entropy"), optimizer = lunet.optimizer("adam", hyper.adam), epochs = 4, batch = 32,
  seed = 9, schedule = { kind = "step", step = 1, gamma = 0.7 }, patience = 3, verbose = false, checkpoint = ck })
assert(not ok and tostring(err):find("4.dense.biaz", 1, true), "the renamed tensor was not refused: " .. tostring(err))
local k = 0
for _, p in ipairs(fresh:parameters()) do
  for _, v in ipairs(p.values) do
    k = k + 1
    assert(v == before[k], ("%s changed by the refused checkpoint"):format(p.name))
  end
end
local model = lunet.sequential{ lunet.layer("dense", { out = 2 }) }
model:predict(data)
model:save(ck)
refused({ ck, "not a lunet training checkpoint", "LUNETRUN" }, "adam", { checkpoint = ck })
refused({ dir, "not a regular file" }, "adam", { checkpoint = dir })
refused({ "/no/such/folder/x.ckpt", "cannot create" }, "adam", { checkpoint = "/no/such/folder/x.ckpt" })

-- Options that cannot be checkpointed.
t.fails({ "checkpoint must be a file path" }, lunet.train, { model = model, data = data,
  loss = lunet.loss("cross_entropy"), optimizer = lunet.optimizer("adam"), checkpoint = 5 })
t.fails({ "checkpoint_every is set but checkpoint is not" }, lunet.train, { model = model, data = data,
  loss = lunet.loss("cross_entropy"), optimizer = lunet.optimizer("adam"), checkpoint_every = 2 })
t.fails({ "checkpoint is empty" }, lunet.train, { model = model, data = data,
  loss = lunet.loss("cross_entropy"), optimizer = lunet.optimizer("adam"), checkpoint = "" })
t.fails({ "'checkpoint' does not apply to optimizer lstsq", "model:save()" }, lunet.train, { model = model,
  data = data, loss = lunet.loss("mse"), optimizer = lunet.optimizer("lstsq"), checkpoint = dir .. "/l.ckpt",
  verbose = false })

os.execute("rm -rf '" .. dir .. "'")
