#!/usr/bin/env python3
"""Independent references for linreg-path's tests: elastic net, lasso and ridge coefficients
from scikit-learn, NumPy (ridge in closed form) and R's glmnet.

    python3 tools/enet_fixtures.py

writes crates/linreg-path/tests/fixtures/enet.json (relative to the repository root):

- "datasets": named tables {x: rows × features, y: rows × targets, weights: null or list}.
  "correlated" is a 60 × 8 design with AR(1) correlation 0.7 between columns, columns of very
  different scales and offsets, two targets (sparse truth plus noise) and row weights in
  [0.5, 2]; "diabetes" is scikit-learn's `load_diabetes(scaled=False)` (442 × 10, raw units),
  with integer weights 1–3; "unit_y" is "correlated"'s first target scaled to unit weighted
  population sd (glmnet scales y internally for R < 1, so only then it solves the same
  elastic net).
- "cases": one fit each: dataset, weighted, l1_ratio, standardize, intercept, the α values
  (decreasing), the reference's coefficients [α][target][feature] in original units and
  intercepts [α][target], the deviance ratio [α][target], and alpha_max computed with NumPy.

The objective is (1/(2W)) Σ w (y − xβ − β₀)² + α (R‖β‖₁ + (1 − R)/2 ‖β‖²). With
standardize, the penalty acts on s_j β_j, s_j the weighted population sd about the mean (with
or without intercept: glmnet's `standard` scales by the centred sd even with intercept=FALSE,
without centring x): scikit-learn is fitted on X / s and the coefficients unscaled.

Sources: scikit-learn `ElasticNet(tol=1e-12, max_iter=10**6)`, every α fitted on its own
(R = 1 and 0.5); NumPy's closed form for ridge (R = 0); glmnet (`thresh=1e-20`) for the lasso
and for the elastic net on "unit_y". Needs numpy, scikit-learn and, for the glmnet cases,
Rscript with the glmnet package (skipped with a note if missing).
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet

OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "crates", "linreg-path", "tests", "fixtures"
)


def correlated():
    rng = np.random.default_rng(20240601)
    n, p = 60, 8
    corr = 0.7 ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    z = rng.standard_normal((n, p)) @ np.linalg.cholesky(corr).T
    scale = np.array([1.0, 10.0, 0.1, 5.0, 1.0, 2.0, 100.0, 0.5])
    offset = np.array([0.0, 5.0, -3.0, 100.0, 1.0, 0.0, 50.0, -2.0])
    x = np.round(z * scale + offset, 6)
    b1 = np.array([2.0, 0.0, 0.0, -1.5, 0.0, 0.8, 0.0, 0.0]) / scale
    b2 = np.array([0.0, 1.0, -0.5, 0.0, 0.0, 0.0, 0.3, 2.0]) / scale
    y1 = x @ b1 + 3.0 + 0.5 * rng.standard_normal(n)
    y2 = x @ b2 - 1.0 + 0.8 * rng.standard_normal(n)
    y = np.round(np.column_stack([y1, y2]), 6)
    w = np.round(rng.uniform(0.5, 2.0, n), 3)
    return x, y, w


def diabetes():
    d = load_diabetes(scaled=False)
    x = d.data.astype(np.float64)
    y = d.target.astype(np.float64).reshape(-1, 1)
    w = 1.0 + (np.arange(x.shape[0]) % 3)
    return x, y, w


def moments(x, y, w, intercept):
    """Weighted means, the centred (or raw) columns, W."""
    W = w.sum()
    xm = w @ x / W
    ym = w @ y / W
    if intercept:
        return x - xm, y - ym, xm, ym, W
    return x, y, np.zeros_like(xm), np.zeros_like(ym), W


def scales(x, w, standardize):
    """The weighted population sd, about the mean with or without intercept (as glmnet)."""
    xc, _, _, _, W = moments(x, x[:, :1], w, True)
    if not standardize:
        return np.ones(x.shape[1])
    return np.sqrt(w @ (xc * xc) / W)


def alpha_max(x, y, w, r, intercept, standardize):
    xc, yc, _, _, W = moments(x, y, w, intercept)
    s = scales(x, w, standardize)
    c = ((w[:, None] * xc).T @ yc) / W / s[:, None]
    return float(np.abs(c).max() / max(r, 1e-3))


def deviance_ratio(x, y, w, coef, bias, intercept):
    """Per target, 1 − RSS/TSS (TSS about the mean with intercept, about 0 without)."""
    r = y - x @ coef.T - bias
    _, yc, _, _, _ = moments(x, y, w, intercept)
    return list(1.0 - (w @ (r * r)) / (w @ (yc * yc)))


def sklearn_fit(x, y, w, r, alpha, intercept, standardize):
    s = scales(x, w, standardize)
    m = ElasticNet(alpha=alpha, l1_ratio=r, fit_intercept=intercept, tol=1e-12, max_iter=10**6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.fit(x / s, y, sample_weight=w)
    coef = np.atleast_2d(m.coef_) / s
    bias = np.atleast_1d(m.intercept_) * np.ones(y.shape[1])
    return coef, bias


def ridge_fit(x, y, w, alpha, intercept, standardize):
    xc, yc, xm, ym, W = moments(x, y, w, intercept)
    s = scales(x, w, standardize)
    xs = xc / s
    a = (w[:, None] * xs).T @ xs / W + alpha * np.eye(x.shape[1])
    b = (w[:, None] * xs).T @ yc / W
    coef = (np.linalg.solve(a, b) / s[:, None]).T
    bias = ym - coef @ xm if intercept else np.zeros(y.shape[1])
    return coef, bias


def glmnet_fit(x, y, w, r, alphas, intercept, standardize):
    """glmnet on target 0 at every α (one call, the α sequence decreasing)."""
    script = r"""
suppressMessages(library(glmnet))
a <- commandArgs(trailingOnly = TRUE)
x <- as.matrix(read.csv(file.path(a[1], "x.csv"), header = FALSE))
y <- read.csv(file.path(a[1], "y.csv"), header = FALSE)[[1]]
w <- read.csv(file.path(a[1], "w.csv"), header = FALSE)[[1]]
lam <- read.csv(file.path(a[1], "lambda.csv"), header = FALSE)[[1]]
fit <- glmnet(x, y, weights = w, alpha = as.numeric(a[2]), lambda = lam,
              standardize = as.logical(a[3]), intercept = as.logical(a[4]),
              thresh = 1e-20, maxit = 1e7)
if (fit$jerr != 0) stop(paste("glmnet error", fit$jerr))
cf <- as.matrix(coef(fit))
writeLines(sprintf("%.17g", cf), file.path(a[1], "coef.txt"))
writeLines(sprintf("%.17g", fit$dev.ratio), file.path(a[1], "dev.txt"))
"""
    with tempfile.TemporaryDirectory() as d:
        fmt = "%.17g"
        np.savetxt(os.path.join(d, "x.csv"), x, delimiter=",", fmt=fmt)
        np.savetxt(os.path.join(d, "y.csv"), y[:, 0], fmt=fmt)
        np.savetxt(os.path.join(d, "w.csv"), w, fmt=fmt)
        np.savetxt(os.path.join(d, "lambda.csv"), alphas, fmt=fmt)
        rs = os.path.join(d, "fit.R")
        with open(rs, "w") as f:
            f.write(script)
        subprocess.run(
            ["Rscript", rs, d, repr(r), str(standardize).upper(), str(intercept).upper()],
            check=True,
        )
        cf = np.loadtxt(os.path.join(d, "coef.txt")).reshape(len(alphas), x.shape[1] + 1)
        dev = np.loadtxt(os.path.join(d, "dev.txt")).reshape(len(alphas))
    coefs = [cf[i, 1:].reshape(1, -1) for i in range(len(alphas))]
    biases = [np.array([cf[i, 0] if intercept else 0.0]) for i in range(len(alphas))]
    return coefs, biases, [[float(v)] for v in dev]


def case(name, data, key, weighted, r, alphas, intercept, standardize, source):
    x, y, w0 = data[key]
    w = w0 if weighted else np.ones(x.shape[0])
    coefs, biases, devs = [], [], []
    if source == "glmnet":
        coefs, biases, devs = glmnet_fit(x, y, w, r, alphas, intercept, standardize)
    for a in alphas if source != "glmnet" else []:
        if source == "sklearn":
            c, b = sklearn_fit(x, y, w, r, a, intercept, standardize)
        else:
            c, b = ridge_fit(x, y, w, a, intercept, standardize)
        coefs.append(c)
        biases.append(b)
        devs.append(deviance_ratio(x, y, w, c, b, intercept))
    targets = 1 if source == "glmnet" else y.shape[1]
    return {
        "name": name,
        "source": source,
        "dataset": key,
        "weighted": weighted,
        "l1_ratio": r,
        "standardize": standardize,
        "intercept": intercept,
        "targets": targets,
        "alpha_max": alpha_max(x, y[:, :targets], w, r, intercept, standardize),
        "alphas": [float(a) for a in alphas],
        "coef": [c.tolist() for c in coefs],
        "bias": [b.tolist() for b in biases],
        "deviance_ratio": devs,
    }


def grid(amax, count, ratio):
    return [amax * ratio ** (i / (count - 1)) for i in range(count)]


def have_glmnet():
    try:
        subprocess.run(["Rscript", "-e", "library(glmnet)"], check=True, capture_output=True)
        return True
    except (OSError, subprocess.CalledProcessError):
        print("note: Rscript with glmnet not found; glmnet cases skipped", file=sys.stderr)
        return False


def main():
    data = {"correlated": correlated(), "diabetes": diabetes()}
    x, y, w = data["correlated"]
    yc = y[:, :1] - w @ y[:, :1] / w.sum()
    data["unit_y"] = (x, np.round(y[:, :1] / np.sqrt(w @ (yc * yc) / w.sum()), 12), w)
    cases = []
    for r in (1.0, 0.5, 0.0):
        for standardize in (True, False):
            for intercept in (True, False):
                for weighted in (False, True):
                    xs, ys, ws = data["correlated"]
                    ww = ws if weighted else np.ones(xs.shape[0])
                    amax = alpha_max(xs, ys, ww, r, intercept, standardize)
                    fr = [0.9, 0.3, 0.1, 0.03, 0.005] if r > 0 else [1.0, 0.1, 0.01, 1e-3, 1e-4]
                    name = f"correlated R={r} std={standardize} icpt={intercept} w={weighted}"
                    src = "sklearn" if r > 0 else "numpy"
                    cases.append(case(name, data, "correlated", weighted, r,
                                      [amax * f for f in fr], intercept, standardize, src))
    xd, yd, wd = data["diabetes"]
    amax = alpha_max(xd, yd, np.ones(len(yd)), 1.0, True, True)
    cases.append(case("diabetes lasso path", data, "diabetes", False, 1.0,
                      grid(amax, 20, 1e-3), True, True, "sklearn"))
    amax = alpha_max(x, y, w, 0.5, True, True)
    cases.append(case("correlated enet path", data, "correlated", True, 0.5,
                      grid(amax, 20, 1e-3), True, True, "sklearn"))
    if have_glmnet():
        amax = alpha_max(xd, yd, wd, 1.0, True, True)
        cases.append(case("diabetes lasso path glmnet", data, "diabetes", True, 1.0,
                          grid(amax, 20, 1e-3), True, True, "glmnet"))
        for standardize in (True, False):
            for intercept in (True, False):
                amax = alpha_max(x, y[:, :1], w, 1.0, intercept, standardize)
                cases.append(case(f"correlated lasso glmnet std={standardize} icpt={intercept}",
                                  data, "correlated", True, 1.0,
                                  [amax * f for f in (0.9, 0.3, 0.1, 0.03, 0.005)],
                                  intercept, standardize, "glmnet"))
        xu, yu, wu = data["unit_y"]
        amax = alpha_max(xu, yu, wu, 0.5, True, True)
        cases.append(case("unit_y enet glmnet", data, "unit_y", True, 0.5,
                          grid(amax, 10, 1e-2), True, True, "glmnet"))
    datasets = {
        k: {"x": v[0].tolist(), "y": v[1].tolist(), "weights": v[2].tolist()}
        for k, v in data.items()
    }
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "enet.json")
    with open(path, "w") as f:
        json.dump({"generator": "tools/enet_fixtures.py", "datasets": datasets, "cases": cases},
                  f, separators=(",", ":"))
        f.write("\n")
    print(f"{len(cases)} cases, {os.path.getsize(path)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
