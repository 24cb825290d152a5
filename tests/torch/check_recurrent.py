#!/usr/bin/env python3
"""tests/torch/check_recurrent.py -- lunet's rnn (tanh, relu), gru and lstm
against torch.nn.RNN, GRU and LSTM (batch_first=True) with the same weights.

    /usr/bin/python3 tests/torch/check_recurrent.py [--lunet build/host/lunet]

For 1 layer one way and 2 layers both ways, and each output mode (sequence;
last = h_n of the top layer, directions concatenated; mean and max over
time), PyTorch draws the weights, an input (B 3, T 5, C 4) and targets;
lunet loads the weights by name (model:set_parameter), and its outputs
and its MSE gradients (model:gradients) are compared with PyTorch's.
Prints the worst differences and exits non-zero beyond 1e-5. Needs
Debian's python3-torch, so CI does not run it; tests/test_recurrent.c
checks the same layers against a float64 reference without PyTorch.
"""
import argparse
import itertools
import os
import subprocess
import sys
import tempfile

import torch

B, T, C, H = 3, 5, 4, 6
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LUA = r"""
local lunet = require "lunet"
local B, T, C, H = %d, %d, %d, %d
local worst_y, worst_g = 0, 0
for _, c in ipairs(dofile(arg[1])) do
  local name = c.cell == "rnn_relu" and "rnn" or c.cell
  local params = { hidden = H, layers = c.layers, bidirectional = c.bidir, output = c.output,
                   nonlinearity = c.cell == "rnn_relu" and "relu" or nil }
  local m = lunet.sequential{ input = { T, C }, lunet.layer(name, params) }
  for pname, pv in pairs(c.p) do m:set_parameter("1." .. name .. "." .. pname, pv.v) end
  local ny, xs, ts = #c.y // B, {}, {}
  for b = 1, B do
    xs[b], ts[b] = table.move(c.x, (b - 1) * T * C + 1, b * T * C, 1, {}), table.move(c.t, (b - 1) * ny + 1, b * ny, 1, {})
  end
  local ds = lunet.data{ x = xs, y = ts, shape = { T, C } }
  local y, wy, wg = m:predict(ds), 0, 0
  for b = 1, B do for i = 1, ny do wy = math.max(wy, math.abs(y[b][i] - c.y[(b - 1) * ny + i])) end end
  for _, p in ipairs(m:gradients(ds, lunet.loss("mse"), { batch = B }).parameters) do
    local ref = c.p[p.name:match("[^.]+$")].g
    for i = 1, #ref do wg = math.max(wg, math.abs(p.values[i] - ref[i]) / (1 + math.abs(ref[i]))) end
  end
  print(("%%-8s layers %%d bidirectional %%-5s output %%-8s  max |y - torch| %%.1e  gradients %%.1e"):format(
    c.cell, c.layers, tostring(c.bidir), c.output, wy, wg))
  worst_y, worst_g = math.max(worst_y, wy), math.max(worst_g, wg)
end
print(("worst: outputs %%.1e, gradients (relative to 1 + |g|) %%.1e"):format(worst_y, worst_g))
assert(worst_y < 1e-5 and worst_g < 1e-5, "lunet differs from PyTorch")
""" % (B, T, C, H)


def lua_list(t):
    return "{" + ",".join("%.9g" % v for v in t.flatten().tolist()) + "}"


def case(cell, layers, bidir, output):
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=True)
    if cell == "rnn_relu":
        m = torch.nn.RNN(C, H, nonlinearity="relu", **kw)
    else:
        m = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](C, H, **kw)
    x = torch.randn(B, T, C)
    seq, h_n = m(x)
    h_n = h_n[0] if isinstance(h_n, tuple) else h_n
    D = 2 if bidir else 1
    y = {"sequence": seq, "last": torch.cat([h_n[-D + d] for d in range(D)], dim=1),
         "mean": seq.mean(1), "max": seq.max(1).values}[output]
    t = torch.randn_like(y)
    torch.nn.functional.mse_loss(y, t).backward()
    ps = ",".join("%s={v=%s, g=%s}" % (n, lua_list(p.detach()), lua_list(p.grad)) for n, p in m.named_parameters())
    return '{cell="%s", layers=%d, bidir=%s, output="%s", x=%s, y=%s, t=%s, p={%s}},\n' % (
        cell, layers, str(bidir).lower(), output, lua_list(x), lua_list(y.detach()), lua_list(t), ps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lunet", default=os.path.join(ROOT, "build", "host", "lunet"))
    a = ap.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        cases, script = os.path.join(tmp, "cases.lua"), os.path.join(tmp, "check.lua")
        with open(cases, "w") as f:
            f.write("return {\n")
            for c in itertools.product(["rnn", "rnn_relu", "gru", "lstm"], [(1, False), (2, True)],
                                       ["sequence", "last", "mean", "max"]):
                f.write(case(c[0], c[1][0], c[1][1], c[2]))
            f.write("}\n")
        with open(script, "w") as f:
            f.write(LUA)
        sys.exit(subprocess.call([a.lunet, "run", script, cases]))


if __name__ == "__main__":
    main()
