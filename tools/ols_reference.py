#!/usr/bin/env python3
"""Independent references for linreg's tests: least squares with NumPy, least absolute
deviations as a linear program with SciPy.

Reads a CSV table (header row, comma-separated) and fits y = X·w + b on every row:

    python3 tools/ols_reference.py tests/fixtures/diabetes.csv progression
    python3 tools/ols_reference.py --f32 tests/fixtures/diabetes.csv progression
    python3 tools/ols_reference.py --f32 --lad tests/fixtures/diabetes.csv progression

`--f32` rounds the table to float32 first, as linreg reads it, so that the exact solver can be
compared with the reference to 1e-6 on the very same numbers. `--lad` minimizes the mean
absolute error instead, as the linear program min Σ(u⁺ + u⁻) s.t. X·w + b + u⁺ − u⁻ = y,
u± ≥ 0, solved by HiGHS (`scipy.optimize.linprog`). Prints JSON.

Needs NumPy (and SciPy for --lad). Its numbers are copied into the tests as constants, so the
tests themselves do not need Python.
"""
import json
import sys

import numpy as np


def main(argv):
    f32 = "--f32" in argv
    lad = "--lad" in argv
    path, target = [a for a in argv if not a.startswith("--")][:2]
    with open(path) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32 if f32 else np.float64)
    data = data.astype(np.float64)
    t = header.index(target)
    features = [h for i, h in enumerate(header) if i != t]
    X = np.delete(data, t, axis=1)
    y = data[:, t]
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    if lad:
        from scipy.optimize import linprog

        n, p = A.shape
        c = np.concatenate([np.zeros(p), np.ones(2 * n)])
        A_eq = np.hstack([A, np.eye(n), -np.eye(n)])
        bounds = [(None, None)] * p + [(0, None)] * (2 * n)
        res = linprog(c, A_eq=A_eq, b_eq=y, bounds=bounds, method="highs")
        coef = res.x[:p]
        loss = float(np.mean(np.abs(y - A @ coef)))
        extra = {"scipy": __import__("scipy").__version__, "status": res.message}
    else:
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        loss = float(np.mean((y - A @ coef) ** 2))
        extra = {}
    print(json.dumps({
        "features": features,
        "weight": coef[:-1].tolist(),
        "bias": float(coef[-1]),
        "loss": "mae" if lad else "mse",
        "value": loss,
        "float32_input": f32,
        "numpy": np.__version__,
        **extra,
    }, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
