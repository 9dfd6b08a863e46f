"""Reference inference tables for the NIST StRD datasets, from statsmodels and SciPy.

Writes tests/fixtures/strd/statsmodels.json, which tests/inference.rs in linreg-solve
compares against. Two kinds of reference:

* "certified": statsmodels' formulas (RegressionResults: t = b/se, p = 2·t.sf(|t|, df_resid),
  CI = b ± t.ppf(0.975, df_resid)·se, F = (ESS/df_model)/(RSS/df_resid) and F.sf, llf, AIC,
  BIC) evaluated on NIST's certified estimates, standard errors and residual SD, with SciPy's
  t and F distributions. statsmodels' own fit cannot be the reference on the ill-conditioned
  sets: its default pinv solve gets no digit of Filip right and its QR about eight.
* "statsmodels": statsmodels' own OLS/WLS fit (method="qr"), with HC0-HC3 robust covariances
  (use_t=True, so t rather than normal p-values, as R's coeftest), on well-conditioned cases
  where its answer is accurate: Norris, Longley, Longley with weights.

Run:  python3 tools/statsmodels_reference.py      (needs numpy, scipy, statsmodels)
"""

import json
from pathlib import Path

import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm
from scipy import stats

HERE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "strd"


def load(name, spec):
    d = np.genfromtxt(HERE / f"{name}.csv", delimiter=",", skip_header=1)
    y = d[:, 0]
    if spec["degree"]:
        x = np.column_stack([d[:, 1] ** k for k in range(1, spec["degree"] + 1)])
    else:
        x = d[:, 1:]
    return y, x


def certified_table(name, spec, y):
    n = len(y)
    b = np.array(spec["coefficients"])
    se = np.array(spec["std_errors"])
    p = len(b)
    c = 1 if spec["intercept"] else 0
    df_resid = n - p
    df_model = p - c
    rss = spec["residual_sd"] ** 2 * df_resid
    tss = np.sum((y - y.mean()) ** 2) if c else np.sum(y**2)
    r2 = spec["r2"]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = b / se
        crit = stats.t.ppf(0.975, df_resid)
        f = ((tss - rss) / df_model) / (rss / df_resid)
    nobs2 = n / 2.0
    llf = -np.log(rss) * nobs2 - (1 + np.log(np.pi / nobs2)) * nobs2 if rss > 0 else None
    out = {
        "p_value": [float(2 * stats.t.sf(abs(v), df_resid)) for v in t],
        "ci_low": [float(v) for v in b - crit * se],
        "ci_high": [float(v) for v in b + crit * se],
        "adj_r2": float(1 - (n - c) / df_resid * (1 - r2)),
        "f_statistic": float(f) if np.isfinite(f) else None,
        "f_p_value": float(stats.f.sf(f, df_model, df_resid)) if np.isfinite(f) else 0.0,
        "df_model": df_model,
        "df_resid": df_resid,
    }
    if llf is not None:
        out.update(
            log_likelihood=float(llf),
            aic=float(-2 * llf + 2 * p),
            bic=float(-2 * llf + np.log(n) * p),
        )
    return out


def native(y, x, intercept, weights=None):
    exog = sm.add_constant(x) if intercept else x
    model = sm.WLS(y, exog, weights=weights) if weights is not None else sm.OLS(y, exog)
    out = {}
    for cov in ["nonrobust", "HC0", "HC1", "HC2", "HC3"]:
        r = model.fit(method="qr", cov_type=cov, use_t=True)
        ci = r.conf_int()
        out[cov] = {
            "estimate": r.params.tolist(),
            "std_error": r.bse.tolist(),
            "t": r.tvalues.tolist(),
            "p_value": r.pvalues.tolist(),
            "ci_low": ci[:, 0].tolist(),
            "ci_high": ci[:, 1].tolist(),
            "r2": float(r.rsquared),
            "adj_r2": float(r.rsquared_adj),
            "f_statistic": float(np.squeeze(r.fvalue)),
            "f_p_value": float(np.squeeze(r.f_pvalue)),
            "residual_std_error": float(np.sqrt(r.scale)),
            "log_likelihood": float(r.llf),
            "aic": float(r.aic),
            "bic": float(r.bic),
            "condition_number": float(r.condition_number),
        }
    return out


def main():
    spec = json.load(open(HERE / "certified.json"))["datasets"]
    result = {
        "source": f"tools/statsmodels_reference.py: statsmodels {statsmodels.__version__}, "
        f"SciPy {scipy.__version__}, NumPy {np.__version__}",
        "certified": {},
        "statsmodels": {},
    }
    for name, s in spec.items():
        y, _ = load(name, s)
        result["certified"][name] = certified_table(name, s, y)
    for name in ["norris", "longley"]:
        y, x = load(name, spec[name])
        result["statsmodels"][name] = native(y, x, True)
    # Weighted least squares: Longley with weights 1, 2, …, 16 (later years count more).
    y, x = load("longley", spec["longley"])
    result["statsmodels"]["longley_weighted"] = native(y, x, True, np.arange(1.0, 17.0))
    (HERE / "statsmodels.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {HERE / 'statsmodels.json'}")


if __name__ == "__main__":
    main()
