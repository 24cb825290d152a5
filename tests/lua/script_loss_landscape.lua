-- scripts/loss_landscape.lua --quick: a ResNet and the same network without
-- skips, trained briefly on Fashion-MNIST, then their loss along the line
-- from the initial weights and over a plane of filter-normalised
-- directions. The script itself asserts what must hold for any network
-- (the plane's centre is the trained model and the lowest point of its
-- grid, the directions have the weights' norm filter by filter, the line's
-- ends are the two solutions); here the files it writes are checked.
local lunet = require "lunet"
local t = require "testlib"

local dir = os.tmpname()
os.remove(dir)
local plots = t.run_script("loss_landscape", "--quick", "--out", dir)

for _, net in ipairs{ "resnet", "plain" } do
  local rows = lunet.read_csv(dir .. "/" .. net .. "_plane.csv")
  assert(#rows == 25, net .. ": a 5 x 5 plane")
  local centre = rows[13]
  assert(centre.a == 0 and centre.b == 0, net .. ": the 13th point is the centre")
  for _, p in ipairs(rows) do
    assert(p.a >= -1 and p.a <= 1 and p.b >= -1 and p.b <= 1 and p.loss > 0 and p.error >= 0 and p.error <= 1)
  end
  if plots then
    for _, kind in ipairs{ "contour", "surface" } do
      local png = ("%s/%s_%s.png"):format(dir, net, kind)
      local f = assert(io.open(png, "rb"), png .. " missing")
      assert(f:read(4) == "\137PNG")
      f:close()
      os.remove(png)
    end
  end
  os.remove(dir .. "/" .. net .. "_plane.csv")
end
local line = lunet.read_csv(dir .. "/interpolation.csv")
assert(#line == 14, "7 points of the line for each network")
local nets = {}
for _, p in ipairs(line) do nets[p.net] = (nets[p.net] or 0) + 1 end
assert(nets.resnet == 7 and nets.plain == 7)
os.remove(dir .. "/interpolation.csv")
os.remove(dir .. "/interpolation.png")
os.remove(dir)
