#!/usr/bin/env python3
"""The penalized-path benchmark's tables and scikit-learn's side (tools/bench_path.sh runs
it with glmnet and linreg in the same minutes).

    python3 tools/bench_path.py make DIR     # writes the tables (f64, little-endian, row-major)
    python3 tools/bench_path.py sklearn DIR tall|wide   # times scikit-learn on one

Tall: 1,000,000 × 100, each column z_j + 0.5·z_{j−1} (neighbours correlated), 10 non-zero
coefficients, noise sd 1. Wide: 200 × 10,000 independent normals, 20 non-zero coefficients.
scikit-learn fits the standardized table (its time excludes standardizing; glmnet and linreg
standardize inside), a 100-α lasso path to α_max/1000 and LassoCV(cv=10) on the same grid.
"""
import sys
import time
from pathlib import Path

import numpy as np


def make(dir):
    rng = np.random.default_rng(7)
    z = rng.standard_normal((1_000_000, 101))
    x = z[:, 1:] + 0.5 * z[:, :-1]
    beta = np.zeros(100)
    beta[::10] = np.linspace(1, 2, 10) * np.tile([1, -1], 5)
    y = x @ beta + rng.standard_normal(1_000_000)
    x.astype("<f8").tofile(dir / "tall_x.bin")
    y.astype("<f8").tofile(dir / "tall_y.bin")
    x = rng.standard_normal((200, 10_000))
    beta = np.zeros(10_000)
    beta[:20] = np.linspace(1, 2, 20) * np.tile([1, -1], 10)
    y = x @ beta + rng.standard_normal(200)
    x.astype("<f8").tofile(dir / "wide_x.bin")
    y.astype("<f8").tofile(dir / "wide_y.bin")


def load(dir, name, cols):
    x = np.fromfile(dir / f"{name}_x.bin", "<f8").reshape(-1, cols)
    y = np.fromfile(dir / f"{name}_y.bin", "<f8")
    return (x - x.mean(0)) / x.std(0), y - y.mean()


def best(f):
    times = []
    for _ in range(3):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def sklearn(dir, which):
    from sklearn.linear_model import LassoCV, enet_path
    for name, cols, runs in [("tall", 100, True), ("wide", 10_000, False)]:
        if name != which:
            continue
        x, y = load(dir, name, cols)
        x = np.asfortranarray(x)
        t = best(lambda: enet_path(x, y, l1_ratio=1.0, alphas=100, eps=1e-3))
        print(f"sklearn {name} path: {t:.3f} s")
        if runs:
            t = best(lambda: LassoCV(alphas=100, eps=1e-3, cv=10).fit(x, y))
            print(f"sklearn {name} cv10: {t:.3f} s")


if __name__ == "__main__":
    what, dir = sys.argv[1], Path(sys.argv[2])
    if what == "make":
        make(dir)
    else:
        sklearn(dir, sys.argv[3])
