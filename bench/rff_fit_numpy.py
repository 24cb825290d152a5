"""bench/rff_fit_numpy.py -- numpy.linalg.lstsq (LAPACK's SVD-based gelsd,
minimum-norm, float64) on the feature matrix bench/rff_fit.lua fits: the
first n Fashion-MNIST training images scaled to [0, 1] and average-pooled
2x2 to 14x14, `features` columns of cos/sin of random projections
v ~ N(0, 0.5^2) (sigma = 2) scaled by 1/sqrt(features/2), and the one-hot
labels as the 10 targets. The frequencies differ from lunet's (another
generator) but not their law, so both sides solve matrices with the same
spectrum: gelsd's divide and conquer deflates more on a better conditioned
matrix, so uniform random inputs instead of images made numpy's side up to
1.3x faster. Timed, like lunet.train's seconds on the other side: the
features (float32, as lunet's rff layer), the lstsq fit (float64) and the
training metrics of the fitted model; loading the images is not. Prints
RESULT seconds=... on stdout."""
import argparse
import gzip
import os
import time

import numpy as np


def find_data(file):
    """The places lunet's host->find_data tries, in its order."""
    env = os.environ.get("LUNET_DATA_DIR")
    places = [os.path.join(env, "fashion-mnist", file), os.path.join(env, file)] if env else []
    places.append(os.path.join("/usr/share/datasets/fashion-mnist", file))
    for p in places:
        if os.access(p, os.R_OK):
            return p
    raise SystemExit(f"rff_fit_numpy: {file} not found; looked in {', '.join(places)}")


def fashion_mnist(n):
    """x (n, 196) in [0, 1], 2x2 average-pooled; labels (n) as 0..9."""
    with gzip.open(find_data("train-images-idx3-ubyte.gz")) as f:
        img = np.frombuffer(f.read(), np.uint8, offset=16)[: n * 784].reshape(n, 14, 2, 14, 2)
    with gzip.open(find_data("train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return img.mean(axis=(2, 4)).reshape(n, 196) / 255.0, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--features", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)  # set through OPENBLAS_NUM_THREADS by run.py
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    x, labels = fashion_mnist(a.n)
    x = x.astype(np.float32)
    v = rng.normal(0, 0.5, (196, a.features // 2)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[labels]
    t0 = time.perf_counter()
    z = x @ v
    phi = np.hstack([np.cos(z), np.sin(z)]) / np.float32(np.sqrt(a.features // 2))
    w = np.linalg.lstsq(phi.astype(np.float64), y.astype(np.float64), rcond=None)[0]
    out = phi @ w.astype(np.float32)
    mse, error = np.mean((out - y) ** 2), np.mean(out.argmax(axis=1) != labels)
    seconds = time.perf_counter() - t0
    print(f"RESULT seconds={seconds:.6f} mse={mse:.6g} error={error:.4f}")


if __name__ == "__main__":
    main()
