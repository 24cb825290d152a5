-- nets.lua -- the classic convolutional architectures of the course, small
-- enough for Fashion-MNIST on a laptop, as lunet models:
-- `local nets = require "nets"`, then `nets.lenet{ seed = 1 }`, `nets.vgg{}`,
-- `nets.resnet{}`, `nets.inception{}` (or `nets.build(name, opts)`). Every
-- builder takes `input` (per-sample shape, default {1, 28, 28}), `classes`
-- (default 10) and `seed` (default 1). scripts/architectures.lua trains them;
-- tests/lua/script_architectures.lua checks each parameter count against its
-- formula. docs/architectures.md has the shapes and the counts.
local lunet = require "lunet"

local M = {}

local function conv(out, kernel, o)
  o = o or {}
  return lunet.layer("conv2d", { out_channels = out, kernel = kernel, padding = o.padding or 0,
                                 stride = o.stride or 1, bias = o.bias ~= false })
end

local function defaults(o)
  o = o or {}
  return o.input or { 1, 28, 28 }, o.classes or 10, o.seed or 1
end

-- LeNet-style, after the course's slide of LeCun's network (the Caltech-101
-- ConvNet: 83x83 input, 64 9x9 kernels, 10x10 average pooling by 5, 256 maps
-- of 9x9 kernels, 6x6 pooling by 4, 101 classes). Here every 9x9 kernel of
-- the second convolution sees all 64 maps (LeCun's saw 16 of them: 4,096
-- kernels), and tanh follows each convolution. pool1, pool2 = {kernel,
-- stride} of the two average poolings (default, for 28x28: {4, 2} and none):
--   (1, 28, 28) -conv 9-> (64, 20, 20) -avgpool 4/2-> (64, 9, 9)
--   -conv 9-> (256, 1, 1) -> 256 -> dense (classes)
function M.lenet(o)
  local input, classes, seed = defaults(o)
  local p1, p2 = o and o.pool1 or { 4, 2 }, o and o.pool2
  local layers = { input = input, seed = seed,
    conv(64, 9), lunet.layer("tanh"), lunet.layer("avgpool2d", { kernel = p1[1], stride = p1[2] }),
    conv(256, 9), lunet.layer("tanh") }
  if p2 then layers[#layers + 1] = lunet.layer("avgpool2d", { kernel = p2[1], stride = p2[2] }) end
  layers[#layers + 1] = lunet.layer("flatten")
  layers[#layers + 1] = lunet.layer("dense", { out = classes })
  return lunet.sequential(layers)
end

-- VGG-style (Simonyan & Zisserman 2014): blocks of two 3x3 convolutions
-- (padding 1, ReLU) and a 2x2 max pooling, the channels doubling per block,
-- then a hidden dense layer:
--   (1, 28, 28) -> [16, 16, pool] -> (16, 14, 14) -> [32, 32, pool]
--   -> (32, 7, 7) -> dense 128 -> dense (classes)
function M.vgg(o)
  local input, classes, seed = defaults(o)
  local layers = { input = input, seed = seed }
  local function add(l) layers[#layers + 1] = l end
  for _, c in ipairs(o and o.channels or { 16, 32 }) do
    add(conv(c, 3, { padding = 1 })); add(lunet.layer("relu"))
    add(conv(c, 3, { padding = 1 })); add(lunet.layer("relu"))
    add(lunet.layer("maxpool2d", { kernel = 2 }))
  end
  add(lunet.layer("flatten")); add(lunet.layer("dense", { out = o and o.hidden or 128 }))
  add(lunet.layer("relu")); add(lunet.layer("dense", { out = classes }))
  return lunet.sequential(layers)
end

-- A graph under construction: node(name, spec, from) appends a node and
-- returns its name.
local function graph_nodes()
  local nodes = {}
  return nodes, function(name, spec, from)
    nodes[#nodes + 1] = { name, spec, from }
    return name
  end
end

-- A small ResNet (He et al. 2016), basic blocks with batch normalization,
-- convolutions before a batch norm without bias (as torchvision's):
--   stem: conv 3x3 (16) -> bn -> relu                      (16, 28, 28)
--   block 1, identity shortcut: relu(x + bn(conv(relu(bn(conv x)))))
--   block 2, stride 2, projection shortcut (1x1 convolution, stride 2, bn):
--     relu(bn(conv1x1 x) + bn(conv(relu(bn(conv/2 x)))))    (32, 14, 14)
--   global average pooling (14x14) -> 32 -> dense (classes)
-- skip = false drops both shortcuts (the same network without skips).
function M.resnet(o)
  local input, classes, seed = defaults(o)
  local skip = not (o and o.skip == false)
  local nodes, node = graph_nodes()
  local function bn_relu(name, from)
    return node(name .. "_relu", lunet.layer("relu"), node(name .. "_bn", lunet.layer("batchnorm"), from))
  end
  local function block(name, from, c, stride)
    local h = bn_relu(name .. "a", node(name .. "a", conv(c, 3, { padding = 1, stride = stride, bias = false }), from))
    h = node(name .. "b_bn", lunet.layer("batchnorm"), node(name .. "b", conv(c, 3, { padding = 1, bias = false }), h))
    if not skip then return node(name .. "_relu", lunet.layer("relu"), h) end
    local short = from
    if stride > 1 then -- projection: the shortcut must change shape too
      short = node(name .. "_proj_bn", lunet.layer("batchnorm"),
                   node(name .. "_proj", conv(c, 1, { stride = stride, bias = false }), from))
    end
    return node(name .. "_relu", lunet.layer("relu"), node(name .. "_add", lunet.layer("add"), { h, short }))
  end
  local widths = o and o.channels or { 16, 32 }
  local h = bn_relu("stem", node("stem", conv(widths[1], 3, { padding = 1, bias = false }), "x"))
  h = block("block1", h, widths[1], 1)
  h = block("block2", h, widths[2], 2)
  local side = (input[2] + 1) // 2
  h = node("pool", lunet.layer("avgpool2d", { kernel = side }), h)
  node("out", lunet.layer("dense", { out = classes }), node("flat", lunet.layer("flatten"), h))
  return lunet.graph{ input = input, seed = seed, nodes = nodes }
end

-- An Inception-style block (Szegedy et al. 2015) joined by concat along the
-- channels, between a stem and the classifier:
--   stem: conv 3x3 (16) -> relu -> maxpool 2                (16, 14, 14)
--   branches: 1x1 (16) | 1x1 (8) -> 3x3 (16) | 1x1 (4) -> 5x5 (8)
--             | maxpool 3x3 stride 1 -> 1x1 (8); ReLU after each conv
--   concat -> (48, 14, 14) -> maxpool 2 -> (48, 7, 7) -> dense (classes)
function M.inception(o)
  local input, classes, seed = defaults(o)
  local nodes, node = graph_nodes()
  local function conv_relu(name, from, c, k)
    return node(name .. "_relu", lunet.layer("relu"), node(name, conv(c, k, { padding = k // 2 }), from))
  end
  local s = node("stem_pool", lunet.layer("maxpool2d", { kernel = 2 }), conv_relu("stem", "x", 16, 3))
  local b1 = conv_relu("b1", s, 16, 1)
  local b2 = conv_relu("b2_3x3", conv_relu("b2_reduce", s, 8, 1), 16, 3)
  local b3 = conv_relu("b3_5x5", conv_relu("b3_reduce", s, 4, 1), 8, 5)
  local b4 = conv_relu("b4_proj", node("b4_pool", lunet.layer("maxpool2d", { kernel = 3, stride = 1, padding = 1 }), s), 8, 1)
  local h = node("pool", lunet.layer("maxpool2d", { kernel = 2 }), node("concat", lunet.layer("concat"), { b1, b2, b3, b4 }))
  node("out", lunet.layer("dense", { out = classes }), node("flat", lunet.layer("flatten"), h))
  return lunet.graph{ input = input, seed = seed, nodes = nodes }
end

M.names = { "lenet", "vgg", "resnet", "inception" }

function M.build(name, o)
  local f = M[name]
  if type(f) ~= "function" or name == "build" then
    error(("nets: unknown network %q, expected one of %s"):format(tostring(name), table.concat(M.names, ", ")), 2)
  end
  return f(o)
end

return M
