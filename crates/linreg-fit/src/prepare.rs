//! A table read, split, expanded and standardized in memory: every data error surfaces
//! here, before any training.

use linreg_data::{Columns, Matrix, Real, Split, Standardizer, Table};
use linreg_store::PolynomialJson;

use crate::sources::read_table_as;
use crate::{FitError, FitSpec, Result};

/// The training and test rows a spec asks for, standardized when asked.
pub struct Prepared {
    /// The rows, features standardized if `standardizer` is set (polynomial powers included).
    pub split: Split,
    /// Feature names (the model's inputs: `x`, `x^2`, … for a polynomial).
    pub features: Vec<String>,
    /// Target names.
    pub targets: Vec<String>,
    /// The statistics applied, if any.
    pub standardizer: Option<Standardizer>,
    /// For exact least squares: `split` in f64 (the model's metrics come from these rows, so
    /// that an f64 model keeps their digits).
    pub wide: Option<Split<f64>>,
    /// For exact least squares: the training rows in f64 as the table has them (before any
    /// standardization; one column for a polynomial), with their weights.
    pub raw: Option<Raw>,
    /// The polynomial basis, if any.
    pub polynomial: Option<PolynomialJson>,
}

/// Training rows in f64, for the exact least-squares solver.
pub struct Raw {
    /// Features as read (the one column `x` for a polynomial).
    pub x: Matrix<f64>,
    /// Targets.
    pub y: Matrix<f64>,
    /// Row weights, one per row.
    pub weights: Option<Vec<f64>>,
    /// The `--cv-column` value of each row, if folds are given.
    pub folds: Option<Vec<f64>>,
}

/// A table read and split, weights separated from the targets.
struct Loaded<T: Real> {
    split: Split<T>,
    features: Vec<String>,
    targets: Vec<String>,
    weights: Option<Vec<f64>>,
    folds: Option<Vec<f64>>,
}

/// Reads, splits and standardizes the data of `spec`.
pub fn prepare(spec: &FitSpec) -> Result<Prepared> {
    // Exact least squares reads the table in f64, expands and standardizes it in f64 (the
    // model and its metrics use those rows: an f64 model keeps their digits), and keeps the
    // raw training rows for the solver; the f32 rows are the same, rounded.
    if spec.exact_least_squares() {
        let l = load::<f64>(spec)?;
        let raw = Raw {
            x: l.split.train.x.clone(),
            y: l.split.train.y.clone(),
            weights: l.weights,
            folds: l.folds,
        };
        let (mut split, mut features) = (l.split, l.features);
        let (polynomial, standardizer) = shape(spec, &mut split, &mut features)?;
        Ok(Prepared {
            split: Split {
                train: split.train.cast(),
                test: split.test.cast(),
            },
            wide: Some(split),
            features,
            targets: l.targets,
            standardizer,
            raw: Some(raw),
            polynomial,
        })
    } else {
        let l = load::<f32>(spec)?;
        let (mut split, mut features) = (l.split, l.features);
        let (polynomial, standardizer) = shape(spec, &mut split, &mut features)?;
        Ok(Prepared {
            split,
            wide: None,
            features,
            targets: l.targets,
            standardizer,
            raw: None,
            polynomial,
        })
    }
}

fn load<T: linreg_io::Element>(spec: &FitSpec) -> Result<Loaded<T>> {
    let (columns, options) = (&spec.columns, &spec.table.csv);
    let fold_column = spec
        .penalty
        .elastic_net()
        .and_then(|n| n.cv_column())
        .map(str::to_string);
    // The weight and fold columns ride along as more targets, so they are never taken as
    // features.
    let mut wanted = columns.targets.clone();
    let extras = [
        ("--weights", columns.weights.as_ref()),
        ("--cv-column", fold_column.as_ref()),
    ];
    for (option, c) in extras.iter().filter_map(|(o, c)| c.map(|c| (*o, c))) {
        if wanted.contains(c) || columns.features.as_ref().is_some_and(|f| f.contains(c)) {
            return Err(FitError::Options(format!(
                "{option} {c} is also a target, a feature or another option's column; it needs a \
                 column of its own"
            )));
        }
        wanted.push(c.clone());
    }
    let read = Columns {
        targets: wanted,
        features: columns.features.clone(),
    };
    let Table {
        mut data,
        features,
        mut targets,
    } = read_table_as::<T>(&spec.table.data, &read, options)?;
    // A separate test table needs no fold labels: they are taken off before it is read.
    let fold_values = match (&fold_column, &spec.split.test) {
        (Some(_), Some(_)) => {
            targets.pop();
            Some(take_last_column(&mut data.y))
        }
        _ => None,
    };
    let mut split = split(spec, data, &features, &targets)?;
    let fold_values = match (fold_column, fold_values) {
        (Some(_), None) => {
            targets.pop();
            take_last_column(&mut split.test.y);
            Some(take_last_column(&mut split.train.y))
        }
        (_, folds) => folds,
    };
    let weights = match &columns.weights {
        None => None,
        Some(name) => {
            targets.pop();
            let train = take_last_column(&mut split.train.y);
            take_last_column(&mut split.test.y);
            check_weights(name, &train)?;
            Some(train)
        }
    };
    Ok(Loaded {
        split,
        features,
        targets,
        weights,
        folds: fold_values,
    })
}

/// The split the spec asks for: the test table, a seeded shuffle, or the rows in order.
fn split<T: linreg_io::Element>(
    spec: &FitSpec,
    data: linreg_data::Dataset<T>,
    features: &[String],
    targets: &[String],
) -> Result<Split<T>> {
    let cannot = |e: linreg_data::DataError| {
        FitError::from(e).context(format!("cannot split {}", spec.table.data.display()))
    };
    let s = &spec.split;
    Ok(match &s.test {
        Some(test_path) => {
            // The test table must offer the same columns, in the model's order.
            let test_columns = Columns {
                targets: targets.to_vec(),
                features: Some(features.to_vec()),
            };
            let test = read_table_as::<T>(test_path, &test_columns, &spec.table.csv)?;
            Split {
                train: data,
                test: test.data,
            }
        }
        None if s.shuffle => Split::shuffled(data, s.train_fraction, spec.seed).map_err(cannot)?,
        None => Split::ordered(data, s.train_fraction).map_err(cannot)?,
    })
}

fn check_weights(name: &str, train: &[f64]) -> Result<()> {
    match train.iter().position(|&w| w <= 0.0 || w.is_nan()) {
        None => Ok(()),
        Some(i) => Err(FitError::Input(format!(
            "--weights {name}: row {} of the training rows has weight {}; weights must be \
             positive (drop rows whose weight is 0)",
            i + 1,
            train[i]
        ))),
    }
}

/// Removes a matrix's last column, returning it in f64.
fn take_last_column<T: Real>(m: &mut Matrix<T>) -> Vec<f64> {
    let (rows, cols) = (m.rows(), m.cols());
    let last = m
        .column_values(cols - 1)
        .into_iter()
        .map(Real::to_f64)
        .collect();
    let kept: Vec<T> = m
        .values()
        .chunks_exact(cols)
        .flat_map(|r| r[..cols - 1].iter().copied())
        .collect();
    *m = Matrix::new(rows, cols - 1, kept).expect("same rows, one column fewer");
    last
}

/// `[x, x², …, x^degree]` of a one-column matrix, each power rounded once.
pub(crate) fn expand<T: Real>(m: &Matrix<T>, degree: usize) -> Matrix<T> {
    let column: Vec<f64> = m.values().iter().map(|v| v.to_f64()).collect();
    let powers = linreg_solve::polynomial_features(&column, degree);
    Matrix::new(
        m.rows(),
        degree,
        powers.into_iter().map(T::from_f64).collect(),
    )
    .expect("rows × degree values")
}

/// The polynomial basis and the standardization, applied to both sets of rows.
fn shape<T: Real>(
    spec: &FitSpec,
    split: &mut Split<T>,
    features: &mut Vec<String>,
) -> Result<(Option<PolynomialJson>, Option<Standardizer>)> {
    let polynomial = match spec.basis.polynomial {
        None => None,
        Some(degree) => {
            if features.len() != 1 || degree == 0 {
                return Err(FitError::Options(format!(
                    "--polynomial {degree} needs exactly one feature column (got {}: {}) and a degree ≥ 1; \
                     choose it with --features",
                    features.len(),
                    features.join(", ")
                )));
            }
            let column = features[0].clone();
            split.train.x = expand(&split.train.x, degree);
            split.test.x = expand(&split.test.x, degree);
            *features = power_names(&column, degree);
            Some(PolynomialJson { column, degree })
        }
    };
    let standardizer = if spec.basis.standardize {
        let s = Standardizer::fit(&split.train.x, features)?;
        s.apply(&mut split.train.x);
        s.apply(&mut split.test.x);
        Some(s)
    } else {
        None
    };
    Ok((polynomial, standardizer))
}

/// `x`, `x^2`, …, `x^degree`.
fn power_names(column: &str, degree: usize) -> Vec<String> {
    (1..=degree)
        .map(|k| match k {
            1 => column.to_string(),
            _ => format!("{column}^{k}"),
        })
        .collect()
}
