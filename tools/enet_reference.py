#!/usr/bin/env python3
"""Reference values for linreg's penalized fits (tests/penalty.rs): scikit-learn 1.9's
ElasticNet / Lasso / enet_path and R glmnet 4.1's cv.glmnet, on the tables in tests/fixtures.

    python3 tools/enet_reference.py > tests/fixtures/enet_reference.json

Each case says which rows train (linreg's ordered split: the first int(0.8·n) rows, unless
the test table is given), which columns, and the objective's settings; the coefficients are
on the original columns. "standardize" follows glmnet's standardize=TRUE: each feature is
scaled by its (weighted) population standard deviation, the penalty acts on the scaled
coefficients, and the result is scaled back. Solved with tol=1e-12 (scikit-learn) and
thresh=1e-14 (glmnet), far tighter than the tests' tolerance.
"""
import json
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
from sklearn.linear_model import ElasticNet, enet_path

FIX = "tests/fixtures"


def load(name, features, targets, weights=None, train_all=False):
    d = pd.read_csv(f"{FIX}/{name}")
    n = len(d) if train_all else int(0.8 * len(d))
    x = d[features].to_numpy(float)[:n]
    y = d[targets].to_numpy(float)[:n]
    w = d[weights].to_numpy(float)[:n] if weights else np.ones(n)
    return x, y, w


def enet(x, y, w, alpha, l1_ratio, standardize, intercept, tol=1e-12):
    """Coefficients [target][feature] and intercepts on the original columns."""
    wn = w / w.sum()
    if standardize:
        mean = wn @ x
        scale = np.sqrt(wn @ (x - mean) ** 2)
    else:
        scale = np.ones(x.shape[1])
    weights, biases = [], []
    for t in range(y.shape[1]):
        m = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=intercept,
                       tol=tol, max_iter=10**7)
        m.fit(x / scale, y[:, t], sample_weight=w)
        b = m.coef_ / scale
        weights.append(list(b))
        biases.append(float(m.intercept_) if intercept else 0.0)
    return weights, biases


def ridge(x, y, w, alpha, standardize):
    """Closed form: (1/2W)Σw r² + α/2‖β̃‖², intercept free."""
    wn = w / w.sum()
    xm, ym = wn @ x, wn @ y
    xc, yc = x - xm, y - ym
    scale = np.sqrt(wn @ xc ** 2) if standardize else np.ones(x.shape[1])
    xs = xc / scale
    g = xs.T @ (xs * wn[:, None]) + alpha * np.eye(x.shape[1])
    beta = np.linalg.solve(g, xs.T @ (yc * wn[:, None])) / scale[:, None]
    return [list(beta[:, t]) for t in range(y.shape[1])], list(ym - xm @ beta)


def single_cases():
    out = []
    dia = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    specs = [
        ("lasso, standardized", "diabetes.csv", dia, ["progression"], None, 0.5, 1.0, True, True,
         ["--penalty", "l1", "--alpha", "0.5"]),
        ("elastic net, as given", "diabetes.csv", dia, ["progression"], None, 1.0, 0.5, False, True,
         ["--penalty", "elasticnet", "--l1-ratio", "0.5", "--alpha", "1", "--no-standardize"]),
        ("lasso, no intercept", "diabetes.csv", dia, ["progression"], None, 2.0, 1.0, False, False,
         ["--penalty", "l1", "--alpha", "2", "--no-intercept"]),
        ("weighted elastic net, two targets", "linnerud.csv", ["chins", "situps", "jumps"],
         ["weight", "waist"], "pulse", 0.3, 0.7, True, True,
         ["--penalty", "elasticnet", "--l1-ratio", "0.7", "--alpha", "0.3", "--weights", "pulse"]),
    ]
    for name, table, f, t, wcol, alpha, r, std, icpt, args in specs:
        x, y, w = load(table, f, t, wcol)
        weight, bias = enet(x, y, w, alpha, r, std, icpt)
        out.append({"name": name, "table": table, "features": f, "targets": t,
                    "args": args, "weight": weight, "bias": bias})
    x, y, w = load("diabetes.csv", dia, ["progression"])
    weight, bias = ridge(x, y, w, 2.0, True)
    out.append({"name": "ridge, standardized", "table": "diabetes.csv", "features": dia,
                "targets": ["progression"], "args": ["--penalty", "l2", "--alpha", "2"],
                "weight": weight, "bias": bias})
    return out


def path_case():
    dia = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    x, y, w = load("diabetes.csv", dia, ["progression"])
    mean, scale = x.mean(0), x.std(0)
    xs = (x - mean) / scale
    yc = y[:, 0] - y[:, 0].mean()
    alpha_max = np.max(np.abs(xs.T @ yc)) / len(yc)
    alphas, coefs, _ = enet_path(xs - xs.mean(0), yc, l1_ratio=1.0, alphas=20, eps=1e-3,
                                 tol=1e-12, max_iter=10**7)
    weight = (coefs / scale[:, None]).T
    bias = y[:, 0].mean() - weight @ mean
    return {"name": "lasso path, 20 α", "table": "diabetes.csv", "features": dia,
            "targets": ["progression"], "args": ["--path", "--n-alphas", "20"],
            "alpha_max": alpha_max, "alphas": list(alphas),
            "weight": [list(r) for r in weight], "bias": list(bias),
            "nonzero": [int(np.sum(r != 0)) for r in weight]}


GLMNET = r"""
suppressMessages(library(glmnet))
d <- read.csv(commandArgs(TRUE)[1]); lam <- scan(commandArgs(TRUE)[2], quiet=TRUE)
x <- as.matrix(d[, c("age","sex","bmi","bp","s1","s2","s3","s4","s5","s6")])
cv <- cv.glmnet(x, d$progression, lambda=lam, foldid=d$fold, standardize=TRUE,
                thresh=1e-14, alpha=ALPHA)
cat(format(c(cv$lambda.min, cv$lambda.1se), digits=17), "\n")
cat(format(cv$cvm, digits=17), "\n")
cat(format(cv$cvsd, digits=17), "\n")
"""


def cv_case(alpha_r):
    """10-fold CV on all 442 rows (the test table is given), folds = 1 + row mod 10, on a
    12-point grid of α; glmnet's cv.glmnet on the same folds and λ."""
    d = pd.read_csv(f"{FIX}/diabetes.csv")
    d["fold"] = 1 + np.arange(len(d)) % 10
    x = d.drop(columns=["progression", "fold"]).to_numpy(float)
    xs = (x - x.mean(0)) / x.std(0)
    yc = d.progression.to_numpy(float) - d.progression.mean()
    alpha_max = np.max(np.abs(xs.T @ yc)) / len(yc) / max(alpha_r, 1e-3)
    lam = alpha_max * np.logspace(0, -3, 12)
    with tempfile.TemporaryDirectory() as tmp:
        d.to_csv(f"{tmp}/d.csv", index=False)
        np.savetxt(f"{tmp}/lam.txt", lam, fmt="%.17g")
        script = GLMNET.replace("ALPHA", repr(alpha_r))
        out = subprocess.run(["Rscript", "-e", script, f"{tmp}/d.csv", f"{tmp}/lam.txt"],
                             check=True, capture_output=True, text=True).stdout.split("\n")
    lmin, l1se = map(float, out[0].split())
    mean, se = sklearn_cv(x, d.progression.to_numpy(float), d.fold.to_numpy(), lam, alpha_r)
    return {"name": f"cross-validation, l1_ratio {alpha_r}", "table": "diabetes.csv",
            "l1_ratio": alpha_r, "alphas": list(lam), "alpha_min": lmin, "alpha_1se": l1se,
            "mean": mean, "standard_error": se,
            "glmnet_mean": list(map(float, out[1].split())),
            "glmnet_standard_error": list(map(float, out[2].split()))}


def sklearn_cv(x, y, fold, lam, alpha_r):
    """cv.glmnet's mean and standard error, each fold fitted by scikit-learn to tol 1e-14
    (glmnet's own cvm agrees to about 1e-7 relative: its fits stop earlier)."""
    errors, sizes = [], []
    for k in np.unique(fold):
        train, test = fold != k, fold == k
        weight, bias = [], []
        for a in lam:
            w, b = enet(x[train], y[train, None], np.ones(train.sum()), a, alpha_r, True, True)
            weight.append(w[0])
            bias.append(b[0])
        pred = np.array(weight) @ x[test].T + np.array(bias)[:, None]
        errors.append(np.mean((y[test] - pred) ** 2, axis=1))
        sizes.append(test.sum())
    errors, sizes = np.array(errors), np.array(sizes, float)
    mean = np.average(errors, axis=0, weights=sizes)
    se = np.sqrt(np.average((errors - mean) ** 2, axis=0, weights=sizes) / (len(sizes) - 1))
    return list(mean), list(se)


def main():
    json.dump({"tool": "tools/enet_reference.py",
               "single": single_cases(), "path": path_case(), "cv": [cv_case(1.0)]},
              sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
