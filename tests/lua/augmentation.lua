-- fashion_mnist's augmentation (shift, flip, noise): each augmented image
-- is exactly the stored one flipped and shifted by a drawn (dy, dx) with
-- zeros moved in, every shift in range drawn, flips about half the time;
-- the noise has mean 0 and standard deviation `noise`; the same (seed,
-- epoch, sample) gives the same image in any order and from a fresh open,
-- another epoch or seed another; training reads the augmented images and
-- evaluation the stored ones; the test split refuses augmentation.
local lunet = require "lunet"
local t = require "testlib"

local N, S = 48, 28
local clean = lunet.dataset("fashion_mnist", { split = "train", n = N })

-- img shifted by (dy, dx) after an optional left-right mirror, written
-- out pixel by pixel: out(y, x) = img(y - dy, x' - dx), zeros outside
local function moved(img, dy, dx, flip)
  local out = {}
  for y = 0, S - 1 do
    for x = 0, S - 1 do
      local sy, sx = y - dy, x - dx
      local v = 0
      if sy >= 0 and sy < S and sx >= 0 and sx < S then v = img[sy * S + (flip and S - 1 - sx or sx) + 1] end
      out[y * S + x + 1] = v
    end
  end
  return out
end

local function same(a, b)
  for k = 1, #a do if a[k] ~= b[k] then return false end end
  return #a == #b
end

-- which (dy, dx, flip) of the candidates gives `aug` exactly; exactly one must
local function which_move(img, aug, shift, flips)
  local found
  for dy = -shift, shift do
    for dx = -shift, shift do
      for _, f in ipairs(flips) do
        if same(moved(img, dy, dx, f), aug) then
          assert(not found, "two moves give the same image")
          found = { dy, dx, f }
        end
      end
    end
  end
  return found
end

-- shift and flip: every image is a hand-built move of the stored one
local aug = lunet.dataset("fashion_mnist", { split = "train", n = N, shift = 2, flip = true, seed = 3 })
local seen, flipped, draws = {}, 0, 0
for epoch = 1, 4 do
  for i = 1, N do
    local img, y = clean:sample(i)
    local a, ya = aug:sample(i, epoch)
    assert(ya == y, "augmentation leaves the label")
    local m = which_move(img, a, 2, { false, true })
    assert(m, ("sample %d, epoch %d is no flip and shift of the stored image"):format(i, epoch))
    seen[m[1] .. "," .. m[2]] = true
    flipped, draws = flipped + (m[3] and 1 or 0), draws + 1
  end
end
local shifts = 0
for _ in pairs(seen) do shifts = shifts + 1 end
assert(shifts == 25, shifts .. " of the 25 shifts in [-2, 2]^2 drawn in " .. draws .. " draws")
assert(flipped > 0.35 * draws and flipped < 0.65 * draws, flipped .. " flips in " .. draws)
assert(same(aug:sample(1), clean:sample(1)), "without an epoch, the stored image")

-- a hand-made case: the pixel at (10, 20) moves to (10 + dy, 27 - 20 + dx) after a flip
local img = clean:sample(7)
local m = which_move(img, aug:sample(7, 2), 2, { false, true })
local f = m[3]
local want = moved(img, m[1], m[2], f)
local x = f and S - 1 - 20 or 20
assert(want[(10 + m[1]) * S + x + m[2] + 1] == img[10 * S + 20 + 1])

-- noise: mean 0, standard deviation 0.1, over N * 784 pixels
local noisy = lunet.dataset("fashion_mnist", { split = "train", n = N, noise = 0.1, seed = 5 })
local sum, sq, count = 0, 0, 0
for i = 1, N do
  local a, b = noisy:sample(i, 1), clean:sample(i)
  for k = 1, #a do
    local e = a[k] - b[k]
    sum, sq, count = sum + e, sq + e * e, count + 1
  end
end
local mean = sum / count
local sd = math.sqrt(sq / count - mean * mean)
assert(math.abs(mean) < 4 * 0.1 / math.sqrt(count), "noise mean " .. mean)
assert(math.abs(sd - 0.1) < 0.005, "noise standard deviation " .. sd)

-- determinism: a function of (seed, epoch, sample) alone
local again = lunet.dataset("fashion_mnist", { split = "train", n = N, shift = 2, flip = true, noise = 0.05, seed = 3 })
local other = lunet.dataset("fashion_mnist", { split = "train", n = N, shift = 2, flip = true, noise = 0.05, seed = 4 })
local a5 = again:sample(5, 3)
local a9 = again:sample(9, 3)
local fresh = lunet.dataset("fashion_mnist", { split = "train", n = N, shift = 2, flip = true, noise = 0.05, seed = 3 })
assert(same(fresh:sample(9, 3), a9) and same(fresh:sample(5, 3), a5), "same seed, epoch and sample: same image")
assert(not same(again:sample(5, 4), a5), "another epoch, another image")
assert(not same(other:sample(5, 3), a5), "another seed, another image")

-- training sees the augmented images, evaluation the stored ones
local function mlp() return lunet.sequential{ seed = 1, input = { 1, S, S }, lunet.layer("flatten"),
                                              lunet.layer("dense", { out = 10 }) } end
local loud = lunet.dataset("fashion_mnist", { split = "train", n = N, noise = 3, seed = 1 })
local m1, m2 = mlp(), mlp()
local loss = lunet.loss("cross_entropy")
local function fit(m, ds)
  return lunet.train{ model = m, data = ds, loss = loss, optimizer = lunet.optimizer("sgd", { lr = 0.01 }),
                      epochs = 1, batch = 16, seed = 1, verbose = false }
end
local r1, r2 = fit(m1, clean), fit(m2, loud)
assert(r2.train.loss > 2 * r1.train.loss, ("training on noise 3: loss %g against %g"):format(r2.train.loss, r1.train.loss))
assert(m2:evaluate(loud, loss).loss == m2:evaluate(clean, loss).loss, "evaluation reads the stored images")

-- the test split is read as it is
t.fails({ "fashion_mnist", "shift = 2", "training split", "test" }, lunet.dataset, "fashion_mnist",
        { split = "test", n = 10, shift = 2 })
t.fails({ "shift = 7", "less than", "7 pixels" }, lunet.dataset, "fashion_mnist",
        { split = "train", n = 10, shift = 7, downsample = 4 })
t.fails({ "epoch 0", "expected 1, 2" }, aug.sample, aug, 1, 0)
