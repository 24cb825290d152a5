#!/usr/bin/env python3
"""bench/run.py -- every benchmark, lunet side by side with PyTorch (and numpy).

    OPENBLAS_CORETYPE=Haswell python3 bench/run.py [--build build] [--repeats 5]

Each workload runs as a fresh process, alternating lunet and PyTorch
`--repeats` times, so both see the same machine noise; the table gives the
medians and the ratio lunet/PyTorch of those medians, plus each side's peak
resident memory (ru_maxrss of the process). Runs with Debian's python3-torch
(/usr/bin/python3). Not a test: CI never runs it.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TORCH_PY = "/usr/bin/python3"


def run(cmd, threads):
    """Runs one benchmark process; returns (RESULT fields, peak RSS in MiB)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               LUNET_THREADS=str(threads))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT,
                            text=True)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit(f"benchmark failed: {' '.join(cmd)}\n{out}\n{err}")
    m = re.search(r"^RESULT (.*)$", out, re.M)
    if not m:
        sys.exit(f"no RESULT line from {' '.join(cmd)}\n{out}\n{err}")
    fields = dict(kv.split("=") for kv in m.group(1).split())
    return {k: float(v) for k, v in fields.items()}, usage.ru_maxrss / 1024.0


def side_by_side(name, lunet_cmd, torch_cmd, key, threads, repeats, unit, rows):
    ours, theirs, rss_ours, rss_theirs = [], [], [], []
    for _ in range(repeats):
        r, m = run(lunet_cmd, threads)
        ours.append(r[key])
        rss_ours.append(m)
        r, m = run(torch_cmd, threads)
        theirs.append(r[key])
        rss_theirs.append(m)
    a, b = statistics.median(ours), statistics.median(theirs)
    rows.append((name, f"{a:.4g} {unit}", f"{b:.4g} {unit}", f"{a / b:.2f}",
                 f"{statistics.median(rss_ours):.0f} / {statistics.median(rss_theirs):.0f}"))
    print(f"  {name}: lunet {a:.4g} {unit}, PyTorch {b:.4g} {unit}, ratio {a / b:.2f}", file=sys.stderr)
    return a


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-sweep", action="store_true")
    a = ap.parse_args()
    lunet = os.path.join(ROOT, a.build, "host", "lunet")
    gemm = os.path.join(ROOT, a.build, "bench", "gemm_shapes")
    rows = []
    mlp = ["--hidden", "256,128", "--batch", "128", "--epochs", "3"]
    step_us = None
    for threads in (1, 2):
        t = ["--threads", str(threads)]
        sec = side_by_side(f"MLP 784-256-128-10 epoch, {threads} thread{'s' if threads > 1 else ''}",
                           [lunet, "run", "bench/mlp.lua"] + mlp + t,
                           [TORCH_PY, "bench/mlp_torch.py"] + mlp + t,
                           "epoch_seconds", threads, a.repeats, "s", rows)
        if threads == 1:
            step_us = sec / 469 * 1e6
    side_by_side("MLP as above with flatten first, 1 thread",
                 [lunet, "run", "bench/mlp.lua"] + mlp + ["--threads", "1", "--flatten", "1"],
                 [TORCH_PY, "bench/mlp_torch.py"] + mlp + ["--threads", "1", "--flatten", "1"],
                 "epoch_seconds", 1, a.repeats, "s", rows)
    tiny = ["--hidden", "32", "--batch", "32", "--epochs", "3", "--n", "20000", "--threads", "1"]
    side_by_side("tiny 784-32-10, batch 32: time per batch", [lunet, "run", "bench/mlp.lua"] + tiny,
                 [TORCH_PY, "bench/mlp_torch.py"] + tiny, "batch_us", 1, a.repeats, "µs", rows)

    for threads in (1, 2):
        lstm = ["--threads", str(threads)]
        side_by_side(f"char LSTM step (B 64, T 128, H 256, V 100), {threads} thread{'s' if threads > 1 else ''}",
                     [lunet, "run", "bench/lstm.lua"] + lstm, [TORCH_PY, "bench/lstm_torch.py"] + lstm,
                     "step_seconds", threads, a.repeats, "s", rows)
    for threads in (1, 2):
        tf = ["--threads", str(threads)]
        side_by_side(f"transformer step (2 blocks, B 32, T 128, E 128, 4 heads, ff 512, V 100), "
                     f"{threads} thread{'s' if threads > 1 else ''}",
                     [lunet, "run", "bench/transformer.lua"] + tf, [TORCH_PY, "bench/transformer_torch.py"] + tf,
                     "step_seconds", threads, a.repeats, "s", rows)
    cnn = ["--n", "10000", "--epochs", "2", "--threads", "2"]
    side_by_side("CNN of cnn_fashion.lua, epoch of 10k images, 2 threads",
                 [lunet, "run", "bench/cnn.lua"] + cnn, [TORCH_PY, "bench/cnn_torch.py"] + cnn,
                 "epoch_seconds", 2, a.repeats, "s", rows)
    for p in (500, 2000, 8000):
        f = ["--n", "2000", "--features", str(p), "--threads", "2"]
        side_by_side(f"RFF min-norm fit, n = 2000, {p} features (numpy lstsq), 2 threads",
                     [lunet, "run", "bench/rff_fit.lua"] + f, [TORCH_PY, "bench/rff_fit_numpy.py"] + f,
                     "seconds", 2, a.repeats, "s", rows)
    if not a.skip_sweep:
        r, _ = run([lunet, "run", "bench/sweep_scaling.lua", "--repeats", str(a.repeats)], 2)
        sweep_line = (f"Sweep of 8 CPU-bound trials: {r['one_worker_s']:.1f} s with 1 worker, "
                      f"{r['two_workers_s']:.1f} s with 2: {r['speedup']:.2f}x.")
    else:
        sweep_line = ""

    g, _ = run([gemm, "128", "784", "256", "128", "10"], 1)
    achieved = g["flops_per_step"] / (step_us * 1e-6) / 1e9
    print(f"\nMeasured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"{a.repeats} alternating runs each; times are medians.\n")
    print("| workload | lunet | PyTorch | lunet/PyTorch | peak RSS MiB (lunet / PyTorch) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\nMLP training step (1 thread): {achieved:.1f} GFLOP/s achieved vs "
          f"{g['gflops']:.1f} GFLOP/s for cblas_sgemm on the same GEMM shapes "
          f"({achieved / g['gflops'] * 100:.0f}%).")
    c, _ = run([lunet, "run", "bench/conv.lua", "--threads", "1"], 1)
    cg, _ = run([gemm, "--gemm", str(int(c["m"])), str(int(c["n"])), str(int(c["k"]))], 1)
    print(f"conv2d 32->64, 3x3 on 14x14, forward+backward (1 thread): {c['gflops']:.1f} GFLOP/s vs "
          f"{cg['gflops']:.1f} GFLOP/s for cblas_sgemm on its forward GEMM shape "
          f"({c['gflops'] / cg['gflops'] * 100:.0f}%).")
    if sweep_line:
        print("\n" + sweep_line)


if __name__ == "__main__":
    main()
