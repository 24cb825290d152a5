-- text_classes from Lua: one class per file, fortune and line records, white
-- space made single spaces, a fixed 80/10/10 split per class set by seed,
-- padding with id 0 (1 as Lua counts) past the text and cutting at max_len;
-- errors that name the file; and a padded batch through pad_mask,
-- attention and attention_pool, where the pads get no weight.
local lunet = require "lunet"
local t = require "testlib"

local dir = t.tmpdir()
local function write(name, text)
  local f = assert(io.open(dir .. "/" .. name, "w"))
  f:write(text)
  f:close()
  return dir .. "/" .. name
end

-- class a: 20 fortunes "a1 ... a20" over two lines each; class b: 10 lines
local a, b = {}, {}
for i = 1, 20 do a[#a + 1] = ("a%d\n  second\tline\n"):format(i) end
for i = 1, 10 do b[#b + 1] = ("b%d"):format(i) end
local fa = write("a.txt", table.concat(a, "%\n"))
local fb = write("b.txt", table.concat(b, "\n") .. "\n")
-- fortune records for both would read b.txt as one text: lines for b
local files = fa .. "," .. write("b2.txt", table.concat(b, "\n%\n") .. "\n")

local seen = {}
for _, split in ipairs{ "train", "valid", "test" } do
  local d = lunet.dataset("text_classes", { files = files, records = "fortune", split = split, max_len = 12 })
  local want = ({ train = { 16, 8 }, valid = { 2, 1 }, test = { 2, 1 } })[split]
  assert(d:size() == want[1] + want[2], split .. ": " .. d:size() .. " samples")
  assert(d:classes() == 2 and d:vocab_size() == 257)
  local counts = { 0, 0 }
  for i = 1, d:size() do
    local x, y = d:sample(i)
    counts[y] = counts[y] + 1
    assert(#x == 12)
    local s = d:decode(x)
    assert(not seen[s], "a text in two splits: " .. s)
    seen[s] = true
    if y == 1 then
      assert(s:match("^a%d+ second line$") or s:match("^a%d+ second l"), s) -- spaces made one, cut at 12
      assert(#s == 12 and x[12] ~= 1, "a fortune of class a fills the 12 bytes")
    else
      assert(s:match("^b%d+$"), s)
      for k = #s + 1, 12 do assert(x[k] == 1, "padded with id 0 (1 in Lua)") end
    end
    assert(x[1] == string.byte(s, 1) + 2, "id = byte + 1 (and Lua counts from 1)")
  end
  assert(counts[1] == want[1] and counts[2] == want[2], split .. ": per class " .. counts[1] .. " " .. counts[2])
end
local n = 0
for _ in pairs(seen) do n = n + 1 end
assert(n == 30, "every text in exactly one split: " .. n)

-- same seed, same split; another seed, another
local function first_texts(seed)
  local d = lunet.dataset("text_classes", { files = files, records = "fortune", seed = seed, split = "valid" })
  local out = {}
  for i = 1, d:size() do out[i] = d:decode((d:sample(i))) end
  return table.concat(out, "|")
end
assert(first_texts(1) == first_texts(1), "the split is fixed by the seed")
assert(first_texts(1) ~= first_texts(2), "another seed, another split")

-- lines: one text per line
local d = lunet.dataset("text_classes", { files = fb .. "," .. fb, split = "train" })
assert(d:size() == 16)

t.fails({ "text_classes", "nowhere.txt" }, lunet.dataset, "text_classes", { files = fa .. "," .. dir .. "/nowhere.txt" })
t.fails({ "expected at least 2" }, lunet.dataset, "text_classes", { files = fa, records = "fortune" })
t.fails({ "b.txt", "holds 1 texts", "at least 10" }, lunet.dataset, "text_classes",
        { files = fa .. "," .. fb, records = "fortune" })

-- a padded batch: pad_mask hides the pads from attention and attention_pool
local T, E = 6, 4
local g = lunet.graph{ seed = 1, input = { T }, nodes = {
  { "mask", lunet.layer("pad_mask", { pad = 1 }), "x" },
  { "e", lunet.layer("embedding", { vocab = 9, dim = E }), "x" },
  { "h", lunet.layer("attention", { heads = 2 }), { "e", "mask" } },
  { "p", lunet.layer("attention_pool", {}), { "h", "mask" } },
  { "y", lunet.layer("linear", { out = 3 }), "p" } } }
local ids = { 3, 5, 2, 1, 1, 1 } -- Lua's ids: 1 is id 0, the pad
local y1 = g:predict(lunet.data{ x = { ids }, tokens = 9 })[1]
local w
for _, p in ipairs(g:parameters()) do
  if p.name == "p.attention_pool.attention_weights" then w = p.values end
end
assert(w[4] == 0 and w[5] == 0 and w[6] == 0, "pads get no pooling weight")
assert(math.abs(w[1] + w[2] + w[3] - 1) < 1e-6)
-- more pads after the text change nothing; without the mask they would
local gm = lunet.graph{ seed = 1, input = { T + 2 }, nodes = {
  { "mask", lunet.layer("pad_mask", { pad = 1 }), "x" },
  { "e", lunet.layer("embedding", { vocab = 9, dim = E }), "x" },
  { "h", lunet.layer("attention", { heads = 2 }), { "e", "mask" } },
  { "p", lunet.layer("attention_pool", {}), { "h", "mask" } },
  { "y", lunet.layer("linear", { out = 3 }), "p" } } }
local y3 = gm:predict(lunet.data{ x = { { 3, 5, 2, 1, 1, 1, 1, 1 } }, tokens = 9 })[1]
for k = 1, 3 do assert(math.abs(y1[k] - y3[k]) < 1e-5, ("output %d: %g with 3 pads, %g with 5"):format(k, y1[k], y3[k])) end
local function unmasked(len, x)
  local u = lunet.graph{ seed = 1, input = { len }, nodes = {
    { "e", lunet.layer("embedding", { vocab = 9, dim = E }), "x" },
    { "h", lunet.layer("attention", { heads = 2 }), "e" },
    { "p", lunet.layer("attention_pool", {}), "h" },
    { "y", lunet.layer("linear", { out = 3 }), "p" } } }
  return u:predict(lunet.data{ x = { x }, tokens = 9 })[1]
end
local u1, u3 = unmasked(T, ids), unmasked(T + 2, { 3, 5, 2, 1, 1, 1, 1, 1 })
assert(math.abs(u1[1] - u3[1]) > 1e-4, "without the mask the number of pads counts")
os.execute("rm -rf " .. dir)
