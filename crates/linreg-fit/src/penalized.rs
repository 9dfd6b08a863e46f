//! Penalized least squares: the elastic net (lasso and ridge its ends) at one α, along a
//! path, or along a path with K-fold cross-validation choosing α. Everything comes from
//! moments on the original columns (the whole training set's, or one per fold), so the same
//! code serves rows in memory and every out-of-core route; `linreg-path` does the solving.

use std::time::Instant;

use linreg_data::Standardizer;
use linreg_path::{CrossValidation, Path, PathOptions};
use linreg_solve::{Conditioning, Fit, Moments, View};
use linreg_store::{CvJson, PathJson, PenaltyJson};

use crate::exact::{standardized_params, Exact, Statistical};
use crate::{AlphaChoice, CvRule, ElasticNet, FitError, FitSpec, Folds, Prepared, Result};
use linreg_path::MAX_FOLDS;

/// Above this many features the rows are swept instead of a Gram matrix built (glmnet's
/// "naive" updates): the Gram's `p²` memory and `n·p²` pass cost more than `p`-wide sweeps.
pub const WIDE: usize = 1000;

/// `e` in the words of the options that cause it: `linreg-path`'s own messages name the
/// fields a program sets (`max_sweeps`, `Alphas::Given`), not the command line's options.
pub fn explain(e: &linreg_path::PathError) -> String {
    use linreg_path::PathError;
    match e {
        PathError::NoSignal => "α_max is 0: the target is constant in the training rows, or no \
            feature varies, so there is no path to grid; give the α values with --alphas if a \
            fit is still wanted"
            .into(),
        PathError::NotConverged { alpha, sweeps, gap } => format!(
            "coordinate descent did not reach --tol at α = {alpha} after {sweeps} sweeps \
             (duality gap {gap:e} of the target's mean square); raise --tol (1e-5 is often \
             enough), standardize the features, or stop the path at a larger α \
             (--alpha-min-ratio)"
        ),
        other => other.to_string(),
    }
}

/// The training rows as the penalized solver takes them.
pub enum Training {
    /// The moments of every training row.
    Whole(Moments),
    /// One set of moments per fold, and how rows got their fold (for the summary).
    Folds {
        /// The moments of each fold's rows.
        folds: Vec<Moments>,
        /// `seeded by --seed N`, or the fold column's name.
        assignment: String,
    },
}

/// A penalized fit: the chosen point as an exact solution (no inference table), and the
/// path and cross-validation for `summary.json` and `model.json`.
pub struct Penalized {
    /// The saved model's coefficients, as an exact solve's.
    pub statistical: Statistical,
    /// The penalty, the path on the original columns, and the cross-validation.
    pub summary: PenaltyJson,
}

/// Solves `net` on `training` (moments on the original columns); `standardizer` converts
/// the chosen coefficients to the model's units.
pub fn solve(
    spec: &FitSpec,
    net: &ElasticNet,
    training: Training,
    standardizer: Option<&Standardizer>,
) -> Result<Penalized> {
    let start = Instant::now();
    let options = path_options(spec, net);
    let (path, cv) = match training {
        Training::Whole(m) => (linreg_path::path(&m, &options)?, None),
        Training::Folds { folds, assignment } => {
            if !(2..=MAX_FOLDS).contains(&folds.len()) {
                return Err(FitError::Input(format!(
                    "cross-validation by {assignment}: {} fold(s) in the training rows; it needs \
                     between 2 and {MAX_FOLDS}",
                    folds.len()
                )));
            }
            let cv = linreg_path::cross_validate(&folds, &options)?;
            (cv.path.clone(), Some((cv, assignment)))
        }
    };
    finish(spec, net, path, cv, standardizer, start)
}

fn path_options(spec: &FitSpec, net: &ElasticNet) -> PathOptions {
    PathOptions {
        l1_ratio: net.l1_ratio,
        alphas: net.alphas.clone(),
        standardize: spec.basis.standardize,
        intercept: spec.basis.intercept,
        tol: net.tol,
        ..PathOptions::default()
    }
}

fn finish(
    spec: &FitSpec,
    net: &ElasticNet,
    path: Path,
    cv: Option<(CrossValidation, String)>,
    standardizer: Option<&Standardizer>,
    start: Instant,
) -> Result<Penalized> {
    let chosen = match (&net.choice, &cv) {
        (AlphaChoice::CrossValidation(c), Some((cv, _))) => match c.rule {
            CvRule::Min => cv.index_min,
            CvRule::OneSe => cv.index_1se,
        },
        _ => path.points.len() - 1,
    };
    let point = &path.points[chosen];
    let original = (point.weight.clone(), point.bias.clone());
    let (weight, bias) = standardized_params(&original, standardizer);
    let exact = Exact {
        fit: Fit {
            weight,
            bias,
            iterations: point.sweeps,
            rank_deficiency: None,
        },
        method: method(net),
        seconds: start.elapsed().as_secs_f64(),
        bias: spec.basis.intercept,
    };
    let rule = match &net.choice {
        AlphaChoice::CrossValidation(c) => c.rule,
        AlphaChoice::Smallest => CvRule::Min,
    };
    let summary = PenaltyJson {
        kind: net.kind().into(),
        objective: "(1/2W)·Σ w·(y − x·β − β₀)² + α·(R‖β‖₁ + (1−R)/2·‖β‖²)".into(),
        tol: net.tol,
        path: path_json(&path, chosen, spec.basis.standardize),
        cv: cv.map(|(cv, assignment)| cv_json(&cv, assignment, rule)),
    };
    Ok(Penalized {
        statistical: Statistical {
            exact,
            original,
            tables: Vec::new(),
            conditioning: Conditioning::default(),
        },
        summary,
    })
}

fn method(net: &ElasticNet) -> &'static str {
    match net.kind() {
        "lasso" => "lasso (coordinate descent from the moments)",
        "ridge" => "ridge (coordinate descent from the moments)",
        _ => "elastic net (coordinate descent from the moments)",
    }
}

fn path_json(path: &Path, chosen: usize, standardize: bool) -> PathJson {
    let points = &path.points;
    PathJson {
        l1_ratio: path.l1_ratio,
        standardize,
        alpha: points[chosen].alpha,
        alpha_max: path.alpha_max,
        alphas: points.iter().map(|p| p.alpha).collect(),
        weight: points.iter().map(|p| p.weight.clone()).collect(),
        bias: points.iter().map(|p| p.bias.clone()).collect(),
        nonzero: points.iter().map(|p| p.nonzero).collect(),
        deviance_ratio: points.iter().map(|p| p.deviance_ratio.clone()).collect(),
    }
}

fn cv_json(cv: &CrossValidation, assignment: String, rule: CvRule) -> CvJson {
    CvJson {
        folds: cv.folds,
        assignment,
        fold_rows: cv.fold_rows.clone(),
        mean: cv.mean.clone(),
        standard_error: cv.standard_error.clone(),
        alpha_min: cv.alpha_min,
        alpha_1se: cv.alpha_1se,
        rule: rule.name().into(),
    }
}

/// The penalized fit of the rows in memory: their moments on the original columns (powers
/// made for a polynomial), whole or per fold.
pub fn in_memory(spec: &FitSpec, net: &ElasticNet, data: &Prepared) -> Result<Penalized> {
    let raw = data
        .raw
        .as_ref()
        .ok_or_else(|| FitError::Input("internal: a penalized fit needs the f64 rows".into()))?;
    let powers = data
        .polynomial
        .as_ref()
        .map(|p| linreg_solve::polynomial_features(raw.x.values(), p.degree));
    let (n, p, k) = (raw.y.rows(), data.features.len(), raw.y.cols());
    let x = powers.as_deref().unwrap_or(raw.x.values());
    let (xv, yv) = (View::new(n, p, x)?, View::new(n, k, raw.y.values())?);
    let w = raw.weights.as_deref();
    let standardizer = data.standardizer.as_ref();
    let folds = match &net.choice {
        AlphaChoice::Smallest => None,
        AlphaChoice::CrossValidation(cv) => Some(match &cv.folds {
            Folds::Seeded(k) => (
                linreg_path::fold_ids(spec.seed, n, *k),
                format!("seeded by --seed {}", spec.seed),
            ),
            Folds::Column(c) => (
                column_folds(c, raw.folds.as_deref().unwrap_or(&[]))?,
                c.clone(),
            ),
        }),
    };
    if p > WIDE {
        // A Gram matrix this large costs more than sweeps over the rows.
        let start = Instant::now();
        let options = path_options(spec, net);
        let (path, cv) = match folds {
            None => (linreg_path::path_rows(xv, yv, w, &options)?, None),
            Some((fold, assignment)) => {
                let cv = linreg_path::cross_validate_rows(xv, yv, w, &fold, &options)?;
                (cv.path.clone(), Some((cv, assignment)))
            }
        };
        return finish(spec, net, path, cv, standardizer, start);
    }
    let training = match folds {
        None => Training::Whole(Moments::from_rows(xv, yv, w)?),
        Some((fold, assignment)) => Training::Folds {
            folds: linreg_path::moments_by_fold(xv, yv, w, &fold)?,
            assignment,
        },
    };
    solve(spec, net, training, standardizer)
}

/// Fold indices from a column's values: one fold per distinct value, in increasing order
/// (−0 is 0).
pub fn column_folds(column: &str, values: &[f64]) -> Result<Vec<usize>> {
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(FitError::Input(format!(
            "--cv-column {column}: training row {} has no fold ({}); every row needs a finite \
             fold label",
            i + 1,
            values[i]
        )));
    }
    let mut labels: Vec<f64> = values.iter().map(|v| v + 0.0).collect();
    labels.sort_by(f64::total_cmp);
    labels.dedup();
    if labels.len() < 2 || labels.len() > MAX_FOLDS {
        return Err(FitError::Input(format!(
            "--cv-column {column} holds {} distinct value(s) in the training rows; it needs \
             between 2 and {MAX_FOLDS} (one per fold)",
            labels.len()
        )));
    }
    let fold = |v: &f64| labels.partition_point(|l| *l < v + 0.0);
    Ok(values.iter().map(fold).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fold_column_numbers_its_values_in_order() {
        let f = column_folds("fold", &[3.0, 1.0, 3.0, 2.0, 1.0]).unwrap();
        assert_eq!(f, [2, 0, 2, 1, 0]);
    }

    #[test]
    fn a_fold_column_with_one_value_or_a_gap_is_refused() {
        let e = column_folds("fold", &[1.0, 1.0]).unwrap_err().to_string();
        assert!(
            e.contains("1 distinct value(s)") && e.contains("between 2"),
            "{e}"
        );
        let e = column_folds("fold", &[1.0, f64::NAN])
            .unwrap_err()
            .to_string();
        assert!(e.contains("training row 2 has no fold"), "{e}");
    }
}
