//! [`Chunk`]: some rows of the selected columns, column by column; and the conversion of Arrow
//! arrays into them.

use std::borrow::Cow;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Decimal32Type, Decimal64Type, Float16Type, Float32Type, Float64Type, Int16Type,
    Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::DataType;

use crate::IoError;

/// A number a chunk holds: `f32` (training) or `f64` (statistics). An Arrow column of
/// exactly this type is borrowed without a copy; other numeric types are converted (rounded to
/// nearest).
pub trait Element: linreg_data::Real + arrow_array::ArrowNativeTypeOp {
    /// Its Arrow type.
    type Arrow: ArrowPrimitiveType<Native = Self>;
}

impl Element for f32 {
    type Arrow = Float32Type;
}

impl Element for f64 {
    type Arrow = Float64Type;
}

/// Some consecutive rows of a table (in the file's order), column by column, in the
/// [`Selected`](crate::Selected) order: features, targets, the weight column, then the fold column.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a, T> {
    first_row: u64,
    rows: usize,
    columns: &'a [&'a [T]],
    features: usize,
    targets: usize,
    weighted: bool,
    origin: Origin<'a>,
}

/// Where a chunk's rows are, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    pub path: &'a Path,
    /// The Parquet row group (`None` for CSV).
    pub row_group: Option<usize>,
    /// Index of the chunk's first row within its file.
    pub file_row: u64,
    /// Column names, in chunk order.
    pub names: &'a [String],
    /// First row (in the whole source) of the unit the chunk was read from; 0 for CSV.
    pub unit_first_row: u64,
}

impl<'a, T: Element> Chunk<'a, T> {
    pub(crate) fn new(
        first_row: u64,
        columns: &'a [&'a [T]],
        (features, targets, weighted): (usize, usize, bool),
        origin: Origin<'a>,
    ) -> Self {
        Self {
            first_row,
            rows: columns.first().map_or(0, |c| c.len()),
            columns,
            features,
            targets,
            weighted,
            origin,
        }
    }

    /// Refuses a NaN or infinite value, naming the file, row group, column and row. (CSV
    /// readers refuse them while parsing; Parquet columns are checked here, by the consumer
    /// that needs it — the moments notice non-finite sums themselves, and then ask.)
    pub fn check_finite(&self) -> Result<(), IoError> {
        for (j, col) in self.columns.iter().enumerate() {
            if let Some(r) = first_non_finite(col) {
                return Err(IoError::NonFinite {
                    path: self.origin.path.to_path_buf(),
                    row_group: self.origin.row_group.unwrap_or(0),
                    column: self.origin.names[j].clone(),
                    row: self.origin.file_row + r as u64,
                    value: col[r].to_f64(),
                });
            }
        }
        Ok(())
    }

    /// Index of the first row in the source (files in order, rows counted from 0).
    pub fn first_row(&self) -> u64 {
        self.first_row
    }

    /// The first row (in the whole source) of the Parquet unit this chunk belongs to (0 for
    /// CSV, read in order on one thread): one thread reads a unit's chunks in order, so
    /// per-unit sums merged in unit order are the same whatever thread read which unit.
    pub fn unit_first_row(&self) -> u64 {
        self.origin.unit_first_row
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Every column: features, targets, then the weights if any.
    pub fn columns(&self) -> &'a [&'a [T]] {
        self.columns
    }

    /// The feature columns.
    pub fn features(&self) -> &'a [&'a [T]] {
        &self.columns[..self.features]
    }

    /// The target columns.
    pub fn targets(&self) -> &'a [&'a [T]] {
        &self.columns[self.features..self.features + self.targets]
    }

    /// Features and targets (what the moments take), without the weights.
    pub fn data(&self) -> &'a [&'a [T]] {
        &self.columns[..self.features + self.targets]
    }

    /// The weight column, if one was selected.
    pub fn weights(&self) -> Option<&'a [T]> {
        match self.weighted {
            true => self.columns.get(self.features + self.targets).copied(),
            false => None,
        }
    }

    /// The fold-label column, if one was selected.
    pub fn folds(&self) -> Option<&'a [T]> {
        let at = self.features + self.targets + usize::from(self.weighted);
        self.columns.get(at).copied()
    }

    /// Rows `rows` of `x` (features) into `x_out` and of the targets into `y_out`,
    /// row-major, appended: what a tensor takes.
    pub fn rows_into(&self, range: std::ops::Range<usize>, x_out: &mut Vec<T>, y_out: &mut Vec<T>) {
        for r in range {
            x_out.extend(self.features().iter().map(|c| c[r]));
            y_out.extend(self.targets().iter().map(|c| c[r]));
        }
    }
}

/// A column's values as `T`: borrowed when the array already holds `T`, converted otherwise.
/// `Err` names the type when it is not numeric.
pub(crate) fn values<T: Element>(array: &dyn Array) -> Result<Cow<'_, [T]>, String> {
    if let Some(a) = array.as_any().downcast_ref::<PrimitiveArray<T::Arrow>>() {
        return Ok(Cow::Borrowed(&a.values()[..]));
    }
    fn conv<A: ArrowPrimitiveType, T: Element>(
        array: &dyn Array,
        f: impl Fn(A::Native) -> f64,
    ) -> Cow<'static, [T]> {
        Cow::Owned(
            array
                .as_primitive::<A>()
                .values()
                .iter()
                .map(|&v| T::from_f64(f(v)))
                .collect(),
        )
    }
    let decimal = |scale: i8| 10f64.powi(-i32::from(scale));
    Ok(match array.data_type() {
        DataType::Float16 => conv::<Float16Type, T>(array, |v| v.to_f64()),
        DataType::Float32 => conv::<Float32Type, T>(array, f64::from),
        DataType::Float64 => conv::<Float64Type, T>(array, |v| v),
        DataType::Int8 => conv::<Int8Type, T>(array, f64::from),
        DataType::Int16 => conv::<Int16Type, T>(array, f64::from),
        DataType::Int32 => conv::<Int32Type, T>(array, f64::from),
        DataType::Int64 => conv::<Int64Type, T>(array, |v| v as f64),
        DataType::UInt8 => conv::<UInt8Type, T>(array, f64::from),
        DataType::UInt16 => conv::<UInt16Type, T>(array, f64::from),
        DataType::UInt32 => conv::<UInt32Type, T>(array, f64::from),
        DataType::UInt64 => conv::<UInt64Type, T>(array, |v| v as f64),
        DataType::Decimal32(_, s) => {
            let k = decimal(*s);
            conv::<Decimal32Type, T>(array, move |v| f64::from(v) * k)
        }
        DataType::Decimal64(_, s) => {
            let k = decimal(*s);
            conv::<Decimal64Type, T>(array, move |v| v as f64 * k)
        }
        DataType::Decimal128(_, s) => {
            let k = decimal(*s);
            conv::<Decimal128Type, T>(array, move |v| v as f64 * k)
        }
        other => return Err(other.to_string()),
    })
}

/// The first non-finite value of a column, if any (vectorizes: no early exit per value).
pub(crate) fn first_non_finite<T: Element>(values: &[T]) -> Option<usize> {
    const STEP: usize = 4096;
    values.chunks(STEP).enumerate().find_map(|(i, c)| {
        let all = c.iter().fold(true, |ok, v| ok & v.is_finite());
        if all {
            None
        } else {
            c.iter().position(|v| !v.is_finite()).map(|j| i * STEP + j)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float32Array, Int64Array, StringArray};

    #[test]
    fn borrowed_when_the_type_matches_converted_otherwise() {
        let f = Float32Array::from(vec![1.5_f32, 2.5]);
        assert!(matches!(
            values::<f32>(&f).unwrap(),
            Cow::Borrowed(&[1.5, 2.5])
        ));
        assert_eq!(&*values::<f64>(&f).unwrap(), &[1.5, 2.5]);
        let i = Int64Array::from(vec![3_i64, -4]);
        assert_eq!(&*values::<f32>(&i).unwrap(), &[3.0, -4.0]);
        let s = StringArray::from(vec!["a"]);
        assert_eq!(values::<f32>(&s).unwrap_err(), "Utf8");
        let d = arrow_array::Decimal128Array::from(vec![12345_i128])
            .with_precision_and_scale(10, 2)
            .unwrap();
        assert_eq!(&*values::<f64>(&d).unwrap(), &[123.45]);
        // A slice of an array is borrowed from its offset.
        let sliced = f.slice(1, 1);
        assert_eq!(&*values::<f32>(&sliced).unwrap(), &[2.5]);
    }

    #[test]
    fn non_finite_values_are_found() {
        let mut v = vec![1.0_f32; 10_000];
        assert_eq!(first_non_finite(&v), None);
        v[9000] = f32::NAN;
        v[9500] = f32::INFINITY;
        assert_eq!(first_non_finite(&v), Some(9000));
    }
}
