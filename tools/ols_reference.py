#!/usr/bin/env python3
"""Independent reference for linreg's tests: ordinary least squares with NumPy.

Reads a CSV table (header row, comma-separated), fits y = X·w + b by `numpy.linalg.lstsq`
in float64 on every row, and prints the coefficients and the mean squared error as JSON.

    python3 tools/ols_reference.py tests/fixtures/diabetes.csv progression

Needs only NumPy (`pip install numpy`). Its numbers are copied into the tests as constants,
so the tests themselves do not need Python.
"""
import json
import sys

import numpy as np


def main(path, target):
    with open(path) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    t = header.index(target)
    features = [h for i, h in enumerate(header) if i != t]
    X = np.delete(data, t, axis=1)
    y = data[:, t]
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    residual = y - A @ coef
    print(json.dumps({
        "features": features,
        "weight": coef[:-1].tolist(),
        "bias": float(coef[-1]),
        "mse": float(np.mean(residual ** 2)),
        "numpy": np.__version__,
    }, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:3])
