//! The regularization path and its cross-validation as `model.json` and `summary.json` hold
//! them: every α's coefficients on the original columns, so that `predict --alpha` can use any
//! point of the path.

use serde::{Deserialize, Serialize};

use crate::ParamsJson;

/// A penalized fit's path (one point for a single α), in `model.json` and `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathJson {
    /// `R` in `α(R‖β‖₁ + (1−R)/2‖β‖²)`: 1 for the lasso, 0 for ridge.
    pub l1_ratio: f64,
    /// Whether the penalty acted on standardized coefficients (glmnet's `standardize=TRUE`).
    pub standardize: bool,
    /// The α of the saved model.
    pub alpha: f64,
    /// The smallest α at which every coefficient is zero.
    pub alpha_max: f64,
    /// The α of each point, decreasing.
    pub alphas: Vec<f64>,
    /// `weight[a][target][feature]`: the coefficients at `alphas[a]`, on the original columns.
    pub weight: Vec<Vec<Vec<f64>>>,
    /// `bias[a][target]`: the intercepts (0 without intercept).
    pub bias: Vec<Vec<f64>>,
    /// Number of non-zero coefficients at each α (all targets together).
    pub nonzero: Vec<usize>,
    /// Fraction of the training deviance explained at each α, per target.
    pub deviance_ratio: Vec<Vec<f64>>,
}

/// Why `PathJson::params_at` has no coefficients for an α.
#[derive(Debug, Clone, PartialEq)]
pub enum AlphaError {
    /// Not a finite number ≥ 0.
    Invalid(f64),
    /// Outside the path's range, `[smallest, largest]`.
    OutOfRange {
        /// The α asked for.
        alpha: f64,
        /// The path's smallest α.
        smallest: f64,
        /// The path's largest α.
        largest: f64,
    },
}

impl std::fmt::Display for AlphaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(a) => write!(f, "--alpha {a} is invalid: expected a finite number ≥ 0"),
            Self::OutOfRange {
                alpha,
                smallest,
                largest,
            } => write!(
                f,
                "--alpha {alpha} is outside the saved path [{smallest}, {largest}]; choose an α in \
                 that range, or train again with --alphas including it"
            ),
        }
    }
}

impl PathJson {
    /// The coefficients at `alpha` on the original columns: a point of the path, or between
    /// two points linear in α (glmnet's `predict(..., s = α)`).
    pub fn params_at(&self, alpha: f64) -> Result<ParamsJson, AlphaError> {
        if !(alpha.is_finite() && alpha >= 0.0) {
            return Err(AlphaError::Invalid(alpha));
        }
        let n = self.alphas.len();
        let (largest, smallest) = (self.alphas[0], self.alphas[n - 1]);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs());
        if let Some(i) = self.alphas.iter().position(|&a| close(a, alpha)) {
            return Ok(self.point(i));
        }
        // Above α_max every coefficient is 0 (for ridge, R < 0.001, α_max only starts the
        // grid): the path's first point, if it starts there.
        let zero_above = self.l1_ratio >= 1e-3 && largest >= self.alpha_max * (1.0 - 1e-12);
        if alpha > largest && zero_above {
            return Ok(self.point(0));
        }
        if alpha > largest || alpha < smallest {
            return Err(AlphaError::OutOfRange {
                alpha,
                smallest,
                largest,
            });
        }
        // alphas decrease: the first below `alpha` and the one before it bracket it.
        let right = self.alphas.iter().position(|&a| a < alpha).unwrap_or(n - 1);
        let left = right - 1;
        let t = (self.alphas[left] - alpha) / (self.alphas[left] - self.alphas[right]);
        let mix = |a: f64, b: f64| a + t * (b - a);
        let (l, r) = (self.point(left), self.point(right));
        Ok(ParamsJson {
            weight: l
                .weight
                .iter()
                .zip(&r.weight)
                .map(|(a, b)| a.iter().zip(b).map(|(&x, &y)| mix(x, y)).collect())
                .collect(),
            bias: l
                .bias
                .iter()
                .zip(&r.bias)
                .map(|(&x, &y)| mix(x, y))
                .collect(),
        })
    }

    /// Each coefficient's values along the path, named by its feature (`target: feature`
    /// with several targets): what the path's figures draw.
    pub fn curves(&self, features: &[String], targets: &[String]) -> Vec<(String, Vec<f64>)> {
        let mut curves = Vec::with_capacity(features.len() * targets.len());
        for (t, target) in targets.iter().enumerate() {
            for (j, feature) in features.iter().enumerate() {
                let name = match targets.len() {
                    1 => feature.clone(),
                    _ => format!("{target}: {feature}"),
                };
                curves.push((name, self.weight.iter().map(|w| w[t][j]).collect()));
            }
        }
        curves
    }

    fn point(&self, i: usize) -> ParamsJson {
        ParamsJson {
            weight: self.weight[i].clone(),
            bias: self.bias[i].clone(),
        }
    }

    /// Whether the lists agree in length (a hand-edited file is refused, not indexed out of
    /// range).
    pub fn is_consistent(&self, features: usize, targets: usize) -> bool {
        let n = self.alphas.len();
        n > 0
            && self.weight.len() == n
            && self.bias.len() == n
            && self.alphas.windows(2).all(|w| w[0] > w[1])
            && self.alphas.iter().all(|a| a.is_finite() && *a >= 0.0)
            && self
                .weight
                .iter()
                .all(|w| w.len() == targets && w.iter().all(|row| row.len() == features))
            && self.bias.iter().all(|b| b.len() == targets)
    }
}

/// K-fold cross-validation of a path, as `cv.glmnet` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvJson {
    /// Number of folds.
    pub folds: usize,
    /// How rows were given folds: `seeded by --seed N`, or the fold column's name.
    pub assignment: String,
    /// Training rows in each fold.
    pub fold_rows: Vec<u64>,
    /// Mean held-out mean squared error at each α of the path.
    pub mean: Vec<f64>,
    /// Its standard error.
    pub standard_error: Vec<f64>,
    /// The α with the least mean error.
    pub alpha_min: f64,
    /// The largest α whose mean error is within one standard error of the least.
    pub alpha_1se: f64,
    /// `min` or `1se`: which of the two the saved model uses.
    pub rule: String,
}

/// `summary.json`'s `penalty`: what the coefficients paid and how α was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PenaltyJson {
    /// `lasso`, `elasticnet` or `ridge`.
    pub kind: String,
    /// The objective, in words.
    pub objective: String,
    /// The relative duality-gap tolerance of coordinate descent.
    pub tol: f64,
    /// The path (a single point for one α).
    pub path: PathJson,
    /// Cross-validation, when α was chosen by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv: Option<CvJson>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> PathJson {
        PathJson {
            l1_ratio: 1.0,
            standardize: true,
            alpha: 0.5,
            alpha_max: 2.0,
            alphas: vec![2.0, 1.0, 0.5],
            weight: vec![
                vec![vec![0.0, 0.0]],
                vec![vec![1.0, 0.0]],
                vec![vec![2.0, -1.0]],
            ],
            bias: vec![vec![3.0], vec![2.0], vec![1.0]],
            nonzero: vec![0, 1, 2],
            deviance_ratio: vec![vec![0.0], vec![0.5], vec![0.8]],
        }
    }

    #[test]
    fn a_point_of_the_path_is_returned_as_saved() {
        let p = path().params_at(1.0).unwrap();
        assert_eq!((p.weight, p.bias), (vec![vec![1.0, 0.0]], vec![2.0]));
    }

    #[test]
    fn between_points_the_coefficients_are_linear_in_alpha() {
        let p = path().params_at(0.75).unwrap();
        assert_eq!((p.weight, p.bias), (vec![vec![1.5, -0.5]], vec![1.5]));
    }

    #[test]
    fn outside_the_path_is_an_error_naming_its_range() {
        // Above α_max the model is the first point's (every coefficient 0).
        assert_eq!(path().params_at(5.0).unwrap().weight, vec![vec![0.0, 0.0]]);
        let mut from_below = path();
        from_below.alpha_max = 3.0;
        assert!(from_below.params_at(2.5).is_err());
        let e = path().params_at(0.1).unwrap_err();
        assert!(e.to_string().contains("[0.5, 2]"), "{e}");
        assert!(matches!(
            path().params_at(f64::NAN),
            Err(AlphaError::Invalid(_))
        ));
    }

    #[test]
    fn inconsistent_lists_are_caught() {
        let mut p = path();
        assert!(p.is_consistent(2, 1));
        p.bias.pop();
        assert!(!p.is_consistent(2, 1));
    }
}
