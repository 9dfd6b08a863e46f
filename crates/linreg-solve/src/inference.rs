//! The inference table of a least-squares fit, as R's `summary(lm)` and statsmodels' OLS/WLS
//! `summary()` report it: per coefficient the estimate, standard error, t statistic, two-sided
//! p-value and 95% confidence interval; R², adjusted R², the F statistic and its p-value, the
//! residual standard error with its degrees of freedom, log-likelihood, AIC, BIC and the
//! condition number. Heteroskedasticity-consistent (HC0–HC3) standard errors replace the
//! classical ones on request.
//!
//! The classical table needs only a [`Solution`]'s [`FitStats`], which [`crate::Moments`]
//! alone provide; the robust ones need a second pass over the rows
//! ([`robust_covariance`]). The t and F distributions are statrs'.
//!
//! Definitions follow statsmodels (`RegressionResults`): `df_resid = n − p`,
//! `df_model = p − 1` with an intercept (`p` without), R² about the (weighted) mean with an
//! intercept and about zero without, adjusted R² `= 1 − (n − c)/df_resid·(1 − R²)` (`c` = 1
//! with an intercept), `llf = −n/2·(ln(2π·RSS/n) + 1) + ½·Σ ln w`,
//! `AIC = −2·llf + 2p`, `BIC = −2·llf + ln(n)·p`. With robust standard errors the F statistic
//! is the Wald test of all slopes with the robust covariance, and t statistics keep the
//! t distribution with `df_resid` degrees of freedom (statsmodels' `use_t=True`, R's
//! `lmtest::coeftest`).

use statrs::distribution::{ContinuousCDF, FisherSnedecor, StudentsT};

use crate::dd::Dd;
use crate::{Element, Solution, SolveError, View};

/// Which covariance of the coefficients the table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum CovarianceKind {
    /// `s²·(XᵀWX)⁻¹`, homoskedastic errors.
    #[default]
    #[cfg_attr(feature = "serde", serde(rename = "nonrobust"))]
    Classical,
    /// White's estimator: `(XᵀX)⁻¹ Xᵀ diag(e²) X (XᵀX)⁻¹`.
    #[cfg_attr(feature = "serde", serde(rename = "HC0"))]
    Hc0,
    /// HC0 scaled by `n/(n − p)`.
    #[cfg_attr(feature = "serde", serde(rename = "HC1"))]
    Hc1,
    /// `e²/(1 − h)`, `h` the leverage.
    #[cfg_attr(feature = "serde", serde(rename = "HC2"))]
    Hc2,
    /// `e²/(1 − h)²`.
    #[cfg_attr(feature = "serde", serde(rename = "HC3"))]
    Hc3,
}

impl CovarianceKind {
    /// The name statsmodels gives it (`nonrobust`, `HC0`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Classical => "nonrobust",
            Self::Hc0 => "HC0",
            Self::Hc1 => "HC1",
            Self::Hc2 => "HC2",
            Self::Hc3 => "HC3",
        }
    }
}

/// Heteroskedasticity-consistent covariance of one target's coefficients, from
/// [`robust_covariance`].
#[derive(Debug, Clone, PartialEq)]
pub struct Robust {
    /// Which estimator.
    pub kind: CovarianceKind,
    /// The covariance, intercept first, `params × params`.
    pub covariance: Vec<Vec<f64>>,
    /// The Wald statistic `β_sᵀ V_s⁻¹ β_s` of all slopes, computed from a QR factor of the
    /// sandwich (`V_s = LᵀL`) so that an ill-conditioned `V_s` (Longley's: 7·10¹¹) does not
    /// cost its digits.
    pub wald: f64,
}

/// One coefficient's line.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Coefficient {
    /// The column name, or `intercept`.
    pub name: String,
    /// The estimate.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// `estimate / std_error`.
    pub t: f64,
    /// Two-sided p-value of `t` (t distribution, `df_resid` degrees of freedom).
    pub p_value: f64,
    /// Lower end of the 95% confidence interval.
    pub ci_low: f64,
    /// Upper end of the 95% confidence interval.
    pub ci_high: f64,
}

/// The table for one target. Undefined values (a perfect fit's t, a fit with no degrees of
/// freedom left) are infinite or NaN.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Inference {
    /// The target column.
    pub target: String,
    /// Which covariance the standard errors come from.
    pub covariance_type: CovarianceKind,
    /// Intercept first (when fitted), then the features in order.
    pub coefficients: Vec<Coefficient>,
    /// Number of observations.
    pub rows: u64,
    /// Coefficient of determination.
    pub r2: f64,
    /// R² adjusted for the degrees of freedom.
    pub adj_r2: f64,
    /// F statistic of the regression (all slopes zero).
    pub f_statistic: f64,
    /// Its p-value.
    pub f_p_value: f64,
    /// `√(RSS / df_resid)`.
    pub residual_std_error: f64,
    /// Numerator degrees of freedom.
    pub df_model: f64,
    /// Residual degrees of freedom.
    pub df_resid: f64,
    /// Residual sum of squares (weighted).
    pub rss: f64,
    /// Gaussian log-likelihood at the estimate.
    pub log_likelihood: f64,
    /// Akaike's information criterion.
    pub aic: f64,
    /// Schwarz's Bayesian information criterion.
    pub bic: f64,
    /// 2-norm condition number of the design as given (statsmodels' `condition_number`).
    pub condition_number: f64,
    /// Covariance matrix of the estimates, in the order of `coefficients`.
    pub covariance: Vec<Vec<f64>>,
}

/// Level of the confidence intervals.
const LEVEL: f64 = 0.95;

impl Inference {
    /// The table for target `t` of `solution`, with the classical covariance, or with `robust`
    /// (from [`robust_covariance`]) when given. `None` when the solution has no statistics
    /// (ridge, singular design).
    pub fn new(
        solution: &Solution,
        t: usize,
        features: &[String],
        target: &str,
        robust: Option<&Robust>,
    ) -> Option<Self> {
        let stats = solution.stats.as_ref()?;
        let q = stats.params();
        let c = usize::from(stats.intercept);
        let n = stats.rows as f64;
        let df_resid = n - q as f64;
        let df_model = (q - c) as f64;
        let rss = stats.rss[t];
        let tss = stats.tss[t];
        let scale = rss / df_resid;
        let (kind, covariance): (CovarianceKind, Vec<Vec<f64>>) = match robust {
            Some(r) => (r.kind, r.covariance.clone()),
            None => (
                CovarianceKind::Classical,
                (0..q)
                    .map(|a| {
                        (0..q)
                            .map(|b| scale * stats.cov_unscaled[a * q + b])
                            .collect()
                    })
                    .collect(),
            ),
        };
        let mut estimates = Vec::with_capacity(q);
        if stats.intercept {
            estimates.push(solution.fit.bias[t]);
        }
        estimates.extend_from_slice(&solution.fit.weight[t]);
        let names = stats
            .intercept
            .then(|| "intercept".to_string())
            .into_iter()
            .chain(features.iter().cloned());
        let tdist = (df_resid > 0.0)
            .then(|| StudentsT::new(0.0, 1.0, df_resid).ok())
            .flatten();
        let crit = tdist
            .as_ref()
            .map_or(f64::NAN, |d| t_quantile(d, 0.5 + LEVEL / 2.0));
        let coefficients = names
            .zip(&estimates)
            .enumerate()
            .map(|(a, (name, &estimate))| {
                let std_error = covariance[a][a].max(0.0).sqrt();
                let t = estimate / std_error;
                let p_value = if tdist.is_some() {
                    two_sided_p(t, df_resid)
                } else {
                    f64::NAN
                };
                Coefficient {
                    name,
                    estimate,
                    std_error,
                    t,
                    p_value,
                    ci_low: estimate - crit * std_error,
                    ci_high: estimate + crit * std_error,
                }
            })
            .collect();
        let r2 = 1.0 - rss / tss;
        let adj_r2 = 1.0 - (n - c as f64) / df_resid * (1.0 - r2);
        let f_statistic = if kind == CovarianceKind::Classical {
            ((tss - rss) / df_model) / scale
        } else {
            robust.map_or(f64::NAN, |r| r.wald) / df_model
        };
        let f_p_value = match FisherSnedecor::new(df_model, df_resid) {
            Ok(f) if f_statistic.is_finite() => f.sf(f_statistic),
            _ if f_statistic == f64::INFINITY => 0.0,
            _ => f64::NAN,
        };
        let log_likelihood = -n / 2.0 * ((2.0 * std::f64::consts::PI * rss / n).ln() + 1.0)
            + 0.5 * stats.log_weight_sum;
        Some(Self {
            target: target.to_string(),
            covariance_type: kind,
            coefficients,
            rows: stats.rows,
            r2,
            adj_r2,
            f_statistic,
            f_p_value,
            residual_std_error: scale.sqrt(),
            df_model,
            df_resid,
            rss,
            log_likelihood,
            aic: -2.0 * log_likelihood + 2.0 * q as f64,
            bic: -2.0 * log_likelihood + n.ln() * q as f64,
            condition_number: solution.conditioning.raw,
            covariance,
        })
    }
}

/// `P(|T| > |t|)` for Student's t with `df` degrees of freedom, through the regularized
/// incomplete beta function on whichever side keeps its digits: statrs' `sf` rounds to 0.5
/// for `|t|` below about 1e-8 (Wampler5's intercept has t = 4.6e-8, p = 1 − 3.6e-8).
fn two_sided_p(t: f64, df: f64) -> f64 {
    use statrs::function::beta::beta_reg;
    if t.is_nan() {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    let t2 = t * t;
    let x = t2 / (df + t2);
    if x < 0.5 {
        1.0 - beta_reg(0.5, df / 2.0, x)
    } else {
        beta_reg(df / 2.0, 0.5, df / (df + t2))
    }
}

/// The t quantile, polished by Newton steps on statrs' CDF (its inverse is accurate to about
/// 1e-9 relative; intervals printed to 8 decimals on coefficients in the thousands need more).
fn t_quantile(d: &StudentsT, prob: f64) -> f64 {
    use statrs::distribution::Continuous;
    let df = d.freedom();
    if df > 1e5 {
        // statrs' inverse does not finish for tens of millions of degrees of freedom (out-of-core
        // tables have them); there the Cornish–Fisher expansion around the normal quantile is
        // exact to O(1/df³), below 1e-15.
        let z = statrs::distribution::Normal::standard().inverse_cdf(prob);
        let (z3, z5) = (z.powi(3), z.powi(5));
        return z + (z3 + z) / (4.0 * df) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df);
    }
    let mut t = d.inverse_cdf(prob);
    for _ in 0..3 {
        let step = (d.cdf(t) - prob) / d.pdf(t);
        if !step.is_finite() {
            break;
        }
        t -= step;
        if step.abs() <= 1e-16 * t.abs() {
            break;
        }
    }
    t
}

/// Heteroskedasticity-consistent covariance of every target's coefficients (intercept first),
/// from a pass over the rows: `C·(Σ ω_i a_i a_iᵀ)·C` with `C = (AᵀA)⁻¹`, `a_i` the (√w-scaled)
/// design row, `e_i` its (√w-scaled) residual and `ω_i` = `e²` (HC0), `e²·n/(n − p)` (HC1),
/// `e²/(1 − h_i)` (HC2) or `e²/(1 − h_i)²` (HC3), `h_i = a_iᵀ C a_i`. Residuals are computed in
/// double-double, so that ill-conditioned fits keep their digits.
pub fn robust_covariance<T: Element>(
    x: View<'_, T>,
    y: View<'_, T>,
    weights: Option<&[f64]>,
    solution: &Solution,
    kind: CovarianceKind,
) -> Result<Vec<Robust>, SolveError> {
    let stats = solution.stats.as_ref().ok_or_else(|| {
        SolveError::InvalidParameter(
            "robust standard errors need a full-rank fit without penalty".into(),
        )
    })?;
    let (n, p, k) = (x.rows(), x.cols(), y.cols());
    if y.rows() != n || weights.is_some_and(|w| w.len() != n) {
        return Err(SolveError::Shape(
            "rows, targets and weights disagree".into(),
        ));
    }
    let q = stats.params();
    let c = usize::from(stats.intercept);
    if q != p + c {
        return Err(SolveError::Shape(format!(
            "the fit has {q} coefficients, the rows give {}",
            p + c
        )));
    }
    let cu = &stats.cov_unscaled;
    let dof = n as f64 - q as f64;
    let m_slopes = q - c;
    let mut meat = vec![vec![0.0; q * q]; k];
    // Rows of L = diag(√ω)·A·C (slope columns), one matrix per target: V_s = LᵀL.
    let mut l: Vec<faer::Mat<f64>> = (0..k).map(|_| faer::Mat::zeros(n, m_slopes)).collect();
    let mut a = vec![0.0; q];
    for i in 0..n {
        let s = weights.map_or(1.0, |w| w[i].sqrt());
        if c == 1 {
            a[0] = s;
        }
        for (j, v) in x.row(i).iter().enumerate() {
            a[j + c] = s * v.to_f64();
        }
        // aᵀC in double-double: C's entries are large and of both signs.
        let ac: Vec<f64> = (0..q)
            .map(|v| {
                (0..q)
                    .fold(Dd::ZERO, |acc, u| acc + Dd::mul_f64(a[u], cu[u * q + v]))
                    .to_f64()
            })
            .collect();
        let h: f64 = (0..q).map(|u| a[u] * ac[u]).sum();
        for (t, m) in meat.iter_mut().enumerate() {
            let fit = &solution.fit;
            let pred = x
                .row(i)
                .iter()
                .zip(&fit.weight[t])
                .fold(Dd::from_f64(fit.bias[t]), |acc, (v, w)| {
                    acc + Dd::mul_f64(*w, v.to_f64())
                });
            let e = s * (Dd::from_f64(y.row(i)[t].to_f64()) - pred).to_f64();
            let omega = match kind {
                CovarianceKind::Classical | CovarianceKind::Hc0 => e * e,
                CovarianceKind::Hc1 => e * e * n as f64 / dof,
                CovarianceKind::Hc2 => e * e / (1.0 - h),
                CovarianceKind::Hc3 => e * e / ((1.0 - h) * (1.0 - h)),
            };
            for u in 0..q {
                for v in 0..=u {
                    m[u * q + v] += omega * a[u] * a[v];
                }
            }
            let root = omega.sqrt();
            for j in 0..m_slopes {
                l[t][(i, j)] = root * ac[c + j];
            }
        }
    }
    Ok(meat
        .into_iter()
        .zip(l)
        .enumerate()
        .map(|(t, (mut m, l))| {
            for u in 0..q {
                for v in 0..u {
                    m[v * q + u] = m[u * q + v];
                }
            }
            // C·M·C.
            let cm: Vec<f64> = (0..q * q)
                .map(|uv| {
                    let (u, v) = (uv / q, uv % q);
                    (0..q).map(|w| cu[u * q + w] * m[w * q + v]).sum()
                })
                .collect();
            let covariance = (0..q)
                .map(|u| {
                    (0..q)
                        .map(|v| (0..q).map(|w| cm[u * q + w] * cu[w * q + v]).sum())
                        .collect()
                })
                .collect();
            Robust {
                kind,
                covariance,
                wald: wald(&l, &solution.fit.weight[t]),
            }
        })
        .collect())
}

/// `βᵀ(LᵀL)⁻¹β = ‖R⁻ᵀβ‖²` with `L = QR`: the square root of `V_s`'s condition number only.
fn wald(l: &faer::Mat<f64>, beta: &[f64]) -> f64 {
    let m = beta.len();
    if m == 0 || l.nrows() < m {
        return f64::NAN;
    }
    let qr = l.qr();
    let r = qr.R();
    // Forward substitution: Rᵀz = β.
    let mut z = vec![0.0; m];
    for i in 0..m {
        let s: f64 = (0..i).map(|j| r[(j, i)] * z[j]).sum();
        z[i] = (beta[i] - s) / r[(i, i)];
    }
    z.iter().map(|v| v * v).sum()
}

#[cfg(test)]
mod huge_df_tests {
    use super::*;

    #[test]
    fn t_quantile_for_huge_degrees_of_freedom() {
        // SciPy 1.x: t.ppf(0.975, df) and 2·t.sf(2, 8e7).
        for (df, want) in [(1e8, 1.9599640082627663), (8e7, 1.9599640141934442)] {
            let got = t_quantile(&StudentsT::new(0.0, 1.0, df).unwrap(), 0.975);
            assert!((got - want).abs() < 1e-14, "df {df}: {got} vs {want}");
        }
        // The p-value's incomplete beta is fast there, and good to about 1e-9 (printed to 3 digits).
        let p = two_sided_p(2.0, 8e7);
        assert!((p - 0.0455002672707938).abs() < 1e-8, "{p}");
    }
}
