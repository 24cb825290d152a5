"""bench/mlp_torch.py -- the same workload as bench/mlp.lua, in PyTorch.

Same data (the Fashion-MNIST training IDX files, pixels scaled to [0, 1]),
same model (Linear+ReLU layers, Kaiming-normal weights), same loss, optimizer,
batch size, shuffling per epoch and thread count. The batches are gathered by
indexing a tensor with a random permutation, the fastest idiomatic loop
(a DataLoader would only add overhead). Prints the same RESULT line.
"""
import argparse
import gzip
import os
import statistics
import time

import numpy as np
import torch


def load_images(path, n):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    x = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 784)[:n]
    return torch.from_numpy(x.astype(np.float32) / 255.0)


def load_labels(path, n):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, offset=8)[:n].astype(np.int64))


def data_dir():
    """The Fashion-MNIST folder, where lunet's dataset finds it first."""
    d = os.environ.get("LUNET_DATA_DIR", "") + "/fashion-mnist/"
    return d if os.path.exists(d + "train-images-idx3-ubyte.gz") else "/usr/share/datasets/fashion-mnist/"


def sync(device):
    """Waits for the GPU's queued work, so that the clock times it."""
    if device == "cuda":
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", default="256,128")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n", type=int, default=60000)
    ap.add_argument("--flatten", type=int, default=0, help="1: images (1, 28, 28) and nn.Flatten first")
    ap.add_argument("--device", default="cpu", help="cuda: on the GPU (bench/gpu_check.sh)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    d = data_dir()
    x = load_images(d + "train-images-idx3-ubyte.gz", a.n).to(a.device)
    y = load_labels(d + "train-labels-idx1-ubyte.gz", a.n).to(a.device)
    layers, width = [], 784
    if a.flatten:
        x = x.reshape(-1, 1, 28, 28)
        layers.append(torch.nn.Flatten())
    for h in [int(s) for s in a.hidden.split(",") if s]:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, 10))
    model = torch.nn.Sequential(*layers).to(a.device)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    times = []
    for _ in range(a.epochs):
        sync(a.device)
        t0 = time.perf_counter()
        perm = torch.randperm(a.n, device=a.device)
        for s in range(0, a.n, a.batch):
            idx = perm[s:s + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        sync(a.device)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    batches = -(-a.n // a.batch)
    print(f"RESULT epoch_seconds={med:.6f} batch_us={med / batches * 1e6:.3f}")


if __name__ == "__main__":
    main()
