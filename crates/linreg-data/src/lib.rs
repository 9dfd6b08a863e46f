//! Tables for linreg, before any tensor exists.
//!
//! This crate knows rows and columns, not devices: it builds the tutorial's synthetic line, holds
//! tables as one contiguous row-major buffer per matrix ([`Matrix`]: `f32` by default, `f64` for
//! statistics), reads CSV files into them on every core ([`read_table`]), and splits a
//! [`Dataset`] into training and test rows. It has no Burn dependency, so it is cheap to use from
//! tests, plotting and solvers alike.
//!
//! The tutorial's data match PyTorch bit for bit: `torch.arange(0, 1, 0.02)` is not
//! `f32(i * 0.02)`, and [`arange_f32`] reproduces its CPU kernel exactly.
//!
//! ```
//! use linreg_data::{LineSpec, Split};
//!
//! let data = LineSpec::default().generate()?; // y = 0.8 x + 0.2, x = 0, 0.02, …, 0.98
//! assert_eq!(data.len(), 50);
//! let split = Split::ordered(data, 0.8)?;
//! assert_eq!((split.train.len(), split.test.len()), (40, 10));
//! assert_eq!(split.test.x.row(0), &[0.8_f32][..]);
//! # Ok::<(), linreg_data::DataError>(())
//! ```

use std::fmt;

pub mod rng;
mod standardize;
mod synthetic;
pub mod table;

pub use standardize::Standardizer;
pub use synthetic::{write_csv, Synthetic, SyntheticSpec, SyntheticStream};
pub use table::{
    read_table, read_table_as, read_table_chunks, Columns, CsvError, CsvOptions, Table,
};

/// What can go wrong when building or splitting a table.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// A matrix's buffer length is not `rows * cols`.
    #[error("a {rows}×{cols} matrix needs {} values, got {len}", rows * cols)]
    BadBuffer {
        /// Rows asked for.
        rows: usize,
        /// Columns asked for.
        cols: usize,
        /// Values given.
        len: usize,
    },
    /// Features and targets have a different number of rows.
    #[error("features have {x_rows} rows but targets have {y_rows}; give one target row per feature row")]
    RowMismatch {
        /// Rows of the feature matrix.
        x_rows: usize,
        /// Rows of the target matrix.
        y_rows: usize,
    },
    /// A generation or split parameter is out of range.
    #[error("{name} = {value} is invalid: {expected}")]
    InvalidParameter {
        /// The parameter's name, as a user spells it.
        name: &'static str,
        /// The value given.
        value: f64,
        /// What a valid value looks like.
        expected: &'static str,
    },
    /// A feature has the same value in every training row, so it cannot be standardized.
    #[error(
        "feature '{column}' is constant ({value} in every training row): standardizing would divide \
         by zero; drop it from --features or pass --no-standardize"
    )]
    ConstantFeature {
        /// The column's name.
        column: String,
        /// Its one value.
        value: f64,
    },
    /// The split leaves one side without rows.
    #[error(
        "a train fraction of {fraction} leaves {train} training and {test} test rows out of {rows}; \
         both need at least one row (use more rows or a fraction nearer 0.5)"
    )]
    EmptySplit {
        /// The fraction asked for.
        fraction: f64,
        /// Rows in the table.
        rows: usize,
        /// Rows that would train.
        train: usize,
        /// Rows that would test.
        test: usize,
    },
}

/// A number a table can hold: `f32` (what models train on) or `f64` (what statistics need).
///
/// Sealed: tables hold one of these two IEEE types, so code can rely on their rounding.
pub trait Real:
    Copy
    + Default
    + PartialEq
    + PartialOrd
    + fmt::Debug
    + fmt::Display
    + Send
    + Sync
    + 'static
    + std::str::FromStr
    + sealed::Sealed
{
    /// `"f32"` or `"f64"`, as a user would name the precision.
    const NAME: &'static str;
    /// The nearest value of this type (rounding to nearest, ties to even).
    fn from_f64(v: f64) -> Self;
    /// The value as f64 (exact for both types).
    fn to_f64(self) -> f64;
    /// Whether the value is neither NaN nor infinite.
    fn is_finite(self) -> bool;
    /// Parses a decimal number (as Rust's `str::parse` accepts it, correctly rounded), or
    /// `None`.
    fn parse_bytes(text: &[u8]) -> Option<Self>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl Real for f32 {
    const NAME: &'static str = "f32";
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    fn parse_bytes(text: &[u8]) -> Option<Self> {
        lexical_core::parse(text).ok()
    }
}

impl Real for f64 {
    const NAME: &'static str = "f64";
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    fn parse_bytes(text: &[u8]) -> Option<Self> {
        lexical_core::parse(text).ok()
    }
}

/// A dense row-major matrix of `f32` (the default) or `f64`: one contiguous buffer, so it moves
/// into a tensor in one copy.
#[derive(Clone, PartialEq)]
pub struct Matrix<T = f32> {
    rows: usize,
    cols: usize,
    values: Vec<T>,
}

impl<T: Real> Matrix<T> {
    /// Wraps a row-major buffer of `rows * cols` values.
    pub fn new(rows: usize, cols: usize, values: Vec<T>) -> Result<Self, DataError> {
        if rows.checked_mul(cols) != Some(values.len()) {
            return Err(DataError::BadBuffer {
                rows,
                cols,
                len: values.len(),
            });
        }
        Ok(Self { rows, cols, values })
    }

    /// A one-column matrix from a vector.
    pub fn column(values: Vec<T>) -> Self {
        Self {
            rows: values.len(),
            cols: 1,
            values,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The row-major buffer.
    pub fn values(&self) -> &[T] {
        &self.values
    }

    /// The row-major buffer, to change in place.
    pub fn values_mut(&mut self) -> &mut [T] {
        &mut self.values
    }

    /// Gives the buffer up, for a tensor to take without a copy of the rows.
    pub fn into_values(self) -> Vec<T> {
        self.values
    }

    /// Row `i` as a slice.
    ///
    /// # Panics
    /// If `i >= self.rows()`, like slice indexing.
    pub fn row(&self, i: usize) -> &[T] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }

    /// Column `j`, copied out (for plotting and reports).
    pub fn column_values(&self, j: usize) -> Vec<T> {
        self.values
            .iter()
            .skip(j)
            .step_by(self.cols.max(1))
            .copied()
            .collect()
    }

    /// The rows at `indices`, in that order, as a new matrix.
    pub fn select_rows(&self, indices: &[usize]) -> Self {
        let mut values = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            values.extend_from_slice(self.row(i));
        }
        Self {
            rows: indices.len(),
            cols: self.cols,
            values,
        }
    }

    /// The same matrix in another precision (rounded to nearest when narrowing).
    pub fn cast<U: Real>(&self) -> Matrix<U> {
        Matrix {
            rows: self.rows,
            cols: self.cols,
            values: self
                .values
                .iter()
                .map(|&v| U::from_f64(v.to_f64()))
                .collect(),
        }
    }

    /// Splits off rows `at..` into a new matrix, keeping rows `..at` in this one's buffer
    /// (only the moved rows are copied).
    fn split_off_rows(&mut self, at: usize) -> Self {
        let tail = self.values.split_off(at * self.cols);
        let moved = Self {
            rows: self.rows - at,
            cols: self.cols,
            values: tail,
        };
        self.rows = at;
        self.values.shrink_to_fit();
        moved
    }
}

impl<T> fmt::Debug for Matrix<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Matrix({}×{})", self.rows, self.cols)
    }
}

/// Features `x` (rows × inputs) and targets `y` (rows × outputs), row-aligned.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<T = f32> {
    /// Feature matrix, one row per example.
    pub x: Matrix<T>,
    /// Target matrix, one row per example.
    pub y: Matrix<T>,
}

impl<T: Real> Dataset<T> {
    /// Pairs features with targets, checking that the rows line up.
    pub fn new(x: Matrix<T>, y: Matrix<T>) -> Result<Self, DataError> {
        if x.rows() != y.rows() {
            return Err(DataError::RowMismatch {
                x_rows: x.rows(),
                y_rows: y.rows(),
            });
        }
        Ok(Self { x, y })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.x.rows()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same rows in another precision.
    pub fn cast<U: Real>(&self) -> Dataset<U> {
        Dataset {
            x: self.x.cast(),
            y: self.y.cast(),
        }
    }
}

/// Training and test rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Split<T = f32> {
    /// Rows the model learns from.
    pub train: Dataset<T>,
    /// Rows held out to evaluate it.
    pub test: Dataset<T>,
}

impl<T: Real> Split<T> {
    /// A seeded random split: rows are shuffled (the same way for the same seed), then the first
    /// `int(fraction · n)` train and the rest test.
    pub fn shuffled(data: Dataset<T>, train_fraction: f64, seed: u64) -> Result<Self, DataError> {
        check_fraction(train_fraction)?;
        let order = rng::permutation(data.len(), seed);
        let shuffled = Dataset {
            x: data.x.select_rows(&order),
            y: data.y.select_rows(&order),
        };
        drop(data);
        Self::ordered(shuffled, train_fraction)
    }

    /// The tutorial's split: the first `int(fraction · n)` rows train, the rest test.
    ///
    /// The training rows keep the table's buffers; only the test rows are copied out.
    pub fn ordered(mut data: Dataset<T>, train_fraction: f64) -> Result<Self, DataError> {
        check_fraction(train_fraction)?;
        let rows = data.len();
        // Python's int() truncates toward zero; so does the cast.
        let train = (train_fraction * rows as f64) as usize;
        if train == 0 || train == rows {
            return Err(DataError::EmptySplit {
                fraction: train_fraction,
                rows,
                train,
                test: rows - train,
            });
        }
        let test = Dataset {
            x: data.x.split_off_rows(train),
            y: data.y.split_off_rows(train),
        };
        Ok(Self { train: data, test })
    }
}

fn check_fraction(train_fraction: f64) -> Result<(), DataError> {
    if train_fraction > 0.0 && train_fraction < 1.0 {
        Ok(())
    } else {
        Err(DataError::InvalidParameter {
            name: "train fraction",
            value: train_fraction,
            expected: "a number strictly between 0 and 1, such as 0.8",
        })
    }
}

/// The tutorial's synthetic line `y = weight · x + bias` for `x` in `[0, 1)` with a given step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineSpec {
    /// True slope (the tutorial's 0.8).
    pub weight: f32,
    /// True intercept (the tutorial's 0.2).
    pub bias: f32,
    /// Distance between consecutive x values (the tutorial's 0.02).
    pub step: f64,
}

impl Default for LineSpec {
    fn default() -> Self {
        Self {
            weight: 0.8,
            bias: 0.2,
            step: 0.02,
        }
    }
}

impl LineSpec {
    /// Builds the points, as PyTorch does: `x = arange(0, 1, step)`, `y = f32(weight · x) + bias`.
    pub fn generate(&self) -> Result<Dataset, DataError> {
        for (name, value) in [("weight", self.weight), ("bias", self.bias)] {
            if !value.is_finite() {
                return Err(DataError::InvalidParameter {
                    name,
                    value: f64::from(value),
                    expected: "a finite number",
                });
            }
        }
        let x = arange_f32(0.0, 1.0, self.step)?;
        // Two roundings, as in PyTorch's `weight * X + bias` on float32 tensors.
        let y = x.iter().map(|&xi| self.weight * xi + self.bias).collect();
        Dataset::new(Matrix::column(x), Matrix::column(y))
    }
}

/// Most points [`arange_f32`] will make: a guard against a step so small it would fill memory.
pub const MAX_ARANGE_POINTS: usize = 10_000_000;

/// `torch.arange(start, end, step)` in float32, bit for bit as PyTorch's CPU kernel computes it.
///
/// The kernel fills blocks of 8: `x[i] = f32(f64(f32(start + step·8·(i/8))) + (i%8)·step)`, and the
/// tail that does not fill a block of 8 is `f32(start + step·i)`. The length is
/// `ceil((end − start) / step)`, computed in f64.
pub fn arange_f32(start: f64, end: f64, step: f64) -> Result<Vec<f32>, DataError> {
    if !(step.is_finite() && step > 0.0) {
        return Err(DataError::InvalidParameter {
            name: "step",
            value: step,
            expected: "a positive finite number, such as 0.02",
        });
    }
    let span = end - start;
    let len = (span / step).ceil();
    if !(len >= 1.0 && len <= MAX_ARANGE_POINTS as f64) {
        return Err(DataError::InvalidParameter {
            name: "step",
            value: step,
            expected: "a step that yields between 1 and 10,000,000 points in [0, 1)",
        });
    }
    let len = len as usize;
    const BLOCK: usize = 8;
    let full = len - len % BLOCK;
    let values = (0..len)
        .map(|i| {
            if i < full {
                let base = (start + step * BLOCK as f64 * (i / BLOCK) as f64) as f32;
                (f64::from(base) + (i % BLOCK) as f64 * step) as f32
            } else {
                (start + step * i as f64) as f32
            }
        })
        .collect();
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first and last bit patterns PyTorch printed for `torch.arange(0, 1, 0.02)`.
    #[test]
    fn arange_matches_pytorch_bits() {
        let x = arange_f32(0.0, 1.0, 0.02).unwrap();
        assert_eq!(x.len(), 50);
        let bits: Vec<u32> = x.iter().map(|v| v.to_bits()).collect();
        assert_eq!(
            &bits[..5],
            &[0, 1017370378, 1025758986, 1031127695, 1034147594]
        );
        // The two tail points are f32(0.02 · i).
        assert_eq!(x[48], (0.02_f64 * 48.0) as f32);
        assert_eq!(x[49], (0.02_f64 * 49.0) as f32);
    }

    #[test]
    fn arange_is_not_naive_multiplication() {
        let x = arange_f32(0.0, 1.0, 0.02).unwrap();
        let naive: Vec<f32> = (0..50).map(|i| (0.02_f64 * i as f64) as f32).collect();
        assert_ne!(
            x, naive,
            "the block-of-8 kernel rounds differently somewhere"
        );
    }

    #[test]
    fn line_has_the_tutorial_values() {
        let data = LineSpec::default().generate().unwrap();
        assert_eq!(data.len(), 50);
        assert_eq!(data.y.values()[0], 0.2);
        let i = 10;
        let x = data.x.values()[i];
        assert_eq!(data.y.values()[i], 0.8_f32 * x + 0.2_f32);
    }

    #[test]
    fn ordered_split_truncates_like_python_int() {
        let data = LineSpec::default().generate().unwrap();
        let split = Split::ordered(data.clone(), 0.8).unwrap();
        assert_eq!(split.train.len(), 40);
        assert_eq!(split.test.len(), 10);
        assert_eq!(split.test.x.row(0), data.x.row(40));
        let split = Split::ordered(data, 0.75).unwrap();
        assert_eq!(split.train.len(), 37); // int(37.5)
    }

    #[test]
    fn bad_parameters_are_errors() {
        let data = LineSpec::default().generate().unwrap();
        assert!(matches!(
            Split::ordered(data.clone(), 1.0),
            Err(DataError::InvalidParameter {
                name: "train fraction",
                ..
            })
        ));
        assert!(matches!(
            Split::ordered(data, 0.001),
            Err(DataError::EmptySplit {
                train: 0,
                test: 50,
                ..
            })
        ));
        let spec = LineSpec {
            step: 0.0,
            ..LineSpec::default()
        };
        assert!(matches!(
            spec.generate(),
            Err(DataError::InvalidParameter { name: "step", .. })
        ));
        let spec = LineSpec {
            step: 2.0,
            ..LineSpec::default()
        };
        assert_eq!(spec.generate().unwrap().len(), 1);
        assert!(Matrix::new(2, 2, vec![1.0; 3]).is_err());
        assert!(Dataset::new(Matrix::column(vec![1.0]), Matrix::column(vec![])).is_err());
    }

    #[test]
    fn matrix_rows_and_columns() {
        let m = Matrix::new(2, 3, vec![1., 2., 3., 4., 5., 6.]).unwrap();
        assert_eq!(m.row(1), &[4., 5., 6.]);
        assert_eq!(m.column_values(2), vec![3., 6.]);
    }
}
