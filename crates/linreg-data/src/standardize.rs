//! Feature standardization: statistics from the training rows, applied to any rows after.

use crate::{DataError, Matrix, Real};

/// Per-feature mean and scale: `z = (x − mean) / scale`.
///
/// `scale` is the population standard deviation (divide by n), as scikit-learn's
/// `StandardScaler` computes it. Statistics are accumulated in f64.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Mean of each feature over the rows it was fitted on.
    pub mean: Vec<f64>,
    /// Standard deviation of each feature over those rows; never zero.
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// Fits the statistics on `x`, refusing a constant feature (its scale would be zero).
    /// `names` names the columns in errors.
    pub fn fit<T: Real>(x: &Matrix<T>, names: &[String]) -> Result<Self, DataError> {
        let (n, k) = (x.rows(), x.cols());
        let mut mean = vec![0.0_f64; k];
        for r in 0..n {
            for (m, &v) in mean.iter_mut().zip(x.row(r)) {
                *m += v.to_f64();
            }
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        let mut var = vec![0.0_f64; k];
        for r in 0..n {
            for ((s, &v), m) in var.iter_mut().zip(x.row(r)).zip(&mean) {
                *s += (v.to_f64() - m).powi(2);
            }
        }
        let mut scale = Vec::with_capacity(k);
        for (j, s) in var.into_iter().enumerate() {
            let sd = (s / n.max(1) as f64).sqrt();
            // A spread this small next to the values is rounding noise, not information.
            if sd == 0.0 || sd <= 1e-7 * mean[j].abs() {
                return Err(DataError::ConstantFeature {
                    column: names
                        .get(j)
                        .cloned()
                        .unwrap_or_else(|| format!("#{}", j + 1)),
                    value: mean[j],
                });
            }
            scale.push(sd);
        }
        Ok(Self { mean, scale })
    }

    /// Standardizes `x` in place.
    pub fn apply<T: Real>(&self, x: &mut Matrix<T>) {
        let k = self.mean.len();
        for row in x.values_mut().chunks_exact_mut(k) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = T::from_f64((v.to_f64() - m) / s);
            }
        }
    }

    /// Turns coefficients learned on standardized features (`[out][in]`, and one bias per
    /// output) into coefficients on the original columns: `w' = w / scale`,
    /// `b' = b − Σ w·mean/scale`.
    pub fn to_original_units(
        &self,
        weight: &[Vec<f64>],
        bias: &[f64],
    ) -> (Vec<Vec<f64>>, Vec<f64>) {
        let w: Vec<Vec<f64>> = weight
            .iter()
            .map(|row| row.iter().zip(&self.scale).map(|(w, s)| w / s).collect())
            .collect();
        let b = w
            .iter()
            .zip(bias)
            .map(|(row, b)| b - row.iter().zip(&self.mean).map(|(w, m)| w * m).sum::<f64>())
            .collect();
        (w, b)
    }

    /// The inverse of [`Standardizer::to_original_units`]: coefficients on the original
    /// columns as a model on standardized features needs them, `w' = w·scale`,
    /// `b' = b + Σ w·mean`. An empty `bias` (no intercept) stays empty.
    pub fn to_model_units(&self, weight: &[Vec<f64>], bias: &[f64]) -> (Vec<Vec<f64>>, Vec<f64>) {
        let (mut weight, mut bias) = (weight.to_vec(), bias.to_vec());
        for (row, b) in weight.iter_mut().zip(bias.iter_mut()) {
            for ((w, m), sc) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *b += *w * m;
                *w *= sc;
            }
        }
        for row in weight.iter_mut().skip(bias.len()) {
            for (w, sc) in row.iter_mut().zip(&self.scale) {
                *w *= sc;
            }
        }
        (weight, bias)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(k: usize) -> Vec<String> {
        (1..=k).map(|i| format!("x{i}")).collect()
    }

    #[test]
    fn model_units_and_original_units_are_inverses() {
        let s = Standardizer {
            mean: vec![2.0, -1.0],
            scale: vec![0.5, 4.0],
        };
        // y = 3·x1 − 2·x2 + 1 on the original columns.
        let (w, b) = s.to_model_units(&[vec![3.0, -2.0]], &[1.0]);
        // On standardized z: 3·(0.5 z1 + 2) − 2·(4 z2 − 1) + 1 = 1.5 z1 − 8 z2 + 9.
        assert_eq!((w.clone(), b.clone()), (vec![vec![1.5, -8.0]], vec![9.0]));
        assert_eq!(
            s.to_original_units(&w, &b),
            (vec![vec![3.0, -2.0]], vec![1.0])
        );
        // Without an intercept only the weights scale.
        assert_eq!(
            s.to_model_units(&[vec![3.0, -2.0]], &[]).0,
            vec![vec![1.5, -8.0]]
        );
    }

    #[test]
    fn standardizes_to_zero_mean_unit_variance() {
        let mut x = Matrix::new(4, 2, vec![1., 10., 2., 20., 3., 30., 4., 40.]).unwrap();
        let s = Standardizer::fit(&x, &names(2)).unwrap();
        assert_eq!(s.mean, vec![2.5, 25.0]);
        assert!((s.scale[0] - 1.25_f64.sqrt()).abs() < 1e-12);
        s.apply(&mut x);
        let col = x.column_values(1);
        assert!((col.iter().sum::<f32>()).abs() < 1e-6);
        assert!((col[0] + 1.341_640_8).abs() < 1e-6);
    }

    #[test]
    fn original_units_undo_the_scaling() {
        // y = 3·x1 − 2·x2 + 1 on the original columns.
        let x = Matrix::new(3, 2, vec![0., 1., 1., 5., 2., 3.]).unwrap();
        let s = Standardizer::fit(&x, &names(2)).unwrap();
        // On standardized features the same line has w_j = coef_j · scale_j, b = y(mean).
        let w_std = vec![vec![3.0 * s.scale[0], -2.0 * s.scale[1]]];
        let b_std = vec![3.0 * s.mean[0] - 2.0 * s.mean[1] + 1.0];
        let (w, b) = s.to_original_units(&w_std, &b_std);
        assert!((w[0][0] - 3.0).abs() < 1e-12 && (w[0][1] + 2.0).abs() < 1e-12);
        assert!((b[0] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn constant_feature_is_named() {
        let x = Matrix::new(3, 2, vec![1., 7., 2., 7., 3., 7.]).unwrap();
        let err = Standardizer::fit(&x, &names(2)).unwrap_err().to_string();
        assert!(
            err.contains("feature 'x2' is constant (7 in every training row)"),
            "{err}"
        );
    }
}
