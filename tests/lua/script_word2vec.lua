-- scripts/word2vec.lua --quick (CBOW on the Jargon File) shows what the
-- script says: neighbours that share contexts (she next to he, BSD near
-- Unix, feature near bug), analogies well above chance (about 1 in 5,500),
-- singular-to-plural arrows that mostly point one way in the PCA picture,
-- and the figure itself.
local lunet = require "lunet"

local run_script = require("testlib").run_script

local dir = os.tmpname()
os.remove(dir)
local out = dir .. "/word2vec.csv"
local plotted = run_script("word2vec", "--quick", "--out", out)
local rows = lunet.read_csv(out)

local near, right, top5, asked, pca = {}, 0, 0, 0, {}
for _, r in ipairs(rows) do
  assert(r.method == "cbow", "--quick trains CBOW only")
  if r.kind == "neighbor" then
    near[r.word] = near[r.word] or {}
    near[r.word][r.rank] = r.neighbor
    assert(r.cosine > -1 and r.cosine <= 1)
  elseif r.kind == "analogy" then
    asked, right, top5 = asked + 1, right + r.correct, top5 + r.top5
    assert(r.correct == 0 or (r.answer == r.expected and r.top5 == 1))
  else
    assert(r.kind == "pca", "unknown row kind " .. tostring(r.kind))
    pca[#pca + 1] = r
  end
end

local function among(list, word) for _, w in ipairs(list) do if w == word then return true end end end
assert(#near.he == 5 and among(near.he, "she"), "she among he's neighbours: " .. table.concat(near.he, " "))
assert(among(near.Unix, "BSD"), "BSD among Unix's neighbours: " .. table.concat(near.Unix, " "))
assert(among(near.bug, "feature"), "feature among bug's neighbours: " .. table.concat(near.bug, " "))
assert(asked == 33, "the corpus supports the 33 analogies, asked " .. asked)
assert(right >= 4 and top5 >= 9, ("analogies: %d right, %d in the first five, of %d"):format(right, top5, asked))

-- 8 singular/plural pairs, centred; most arrows near the mean arrow's direction
assert(#pca == 16, "16 PCA points, got " .. #pca)
local sx, sy, mx, my = 0, 0, 0, 0
for i = 1, 16, 2 do
  local s, p = pca[i], pca[i + 1]
  assert(p.word == s.word .. "s", "pairs in order: " .. s.word .. ", " .. p.word)
  mx, my = mx + (p.x - s.x) / 8, my + (p.y - s.y) / 8
  sx, sy = sx + s.x + p.x, sy + s.y + p.y
end
assert(math.abs(sx) < 1e-6 and math.abs(sy) < 1e-6, "PCA coordinates are centred")
local along = 0
for i = 1, 16, 2 do
  local dx, dy = pca[i + 1].x - pca[i].x, pca[i + 1].y - pca[i].y
  if dx * mx + dy * my > 0 then along = along + 1 end
end
assert(along >= 6, ("%d of 8 plural arrows point along the mean one"):format(along))

if plotted then
  local f = assert(io.open(dir .. "/word2vec.png", "rb"), "the figure")
  assert(f:read(8) == "\137PNG\r\n\26\n", "a PNG file")
  f:close()
  os.remove(dir .. "/word2vec.png")
  os.remove(dir .. "/word2vec.gp")
end
os.remove(out)
os.remove(dir)
