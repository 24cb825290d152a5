"""bench/cnn_torch.py -- the CNN of bench/cnn.lua in PyTorch, same data,
layers, optimizer, batch and threads. Prints the same RESULT line."""
import argparse
import statistics
import time

import torch

from mlp_torch import data_dir, load_images, load_labels, sync


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cuda: on the GPU (bench/gpu_check.sh)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    d = data_dir()
    x = load_images(d + "train-images-idx3-ubyte.gz", a.n).reshape(-1, 1, 28, 28).to(a.device)
    y = load_labels(d + "train-labels-idx1-ubyte.gz", a.n).to(a.device)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10)).to(a.device)
    opt = torch.optim.Adam(model.parameters(), lr=0.002)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    times = []
    for _ in range(a.epochs):
        sync(a.device)
        t0 = time.perf_counter()
        perm = torch.randperm(a.n, device=a.device)
        for s in range(0, a.n, 128):
            idx = perm[s:s + 128]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
        sync(a.device)
        times.append(time.perf_counter() - t0)
    print(f"RESULT epoch_seconds={statistics.median(times):.6f}")


if __name__ == "__main__":
    main()
