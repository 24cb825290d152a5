"""bench/rff_fit_numpy.py -- numpy.linalg.lstsq (LAPACK's SVD-based gelsd,
minimum-norm, float64) on a feature matrix of the shape bench/rff_fit.lua
fits: n rows, `features` columns of cos/sin of random projections of 196
inputs, 10 targets. Only the lstsq call is timed. Prints "RESULT seconds=..."."""
import argparse
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--features", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)  # set through OPENBLAS_NUM_THREADS by run.py
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    x = rng.random((a.n, 196))
    v = rng.normal(0, 0.5, (196, a.features // 2))
    phi = np.hstack([np.cos(x @ v), np.sin(x @ v)]) / np.sqrt(a.features // 2)
    y = np.eye(10)[rng.integers(0, 10, a.n)]
    t0 = time.perf_counter()
    np.linalg.lstsq(phi, y, rcond=None)
    print(f"RESULT seconds={time.perf_counter() - t0:.6f}")


if __name__ == "__main__":
    main()
