//! linreg's least-squares statistics as an [Apache DataFusion](https://datafusion.apache.org)
//! aggregate, so a query engine computes them: every core, SQL filters, file globs and object
//! stores come with it (and `linreg-ballista` runs the same aggregate on Ballista, distributed
//! DataFusion).
//!
//! [`MomentsUdaf`] is an [`AggregateUDFImpl`]: `linreg_moments(c1, c2, …, cd)` folds its rows
//! into a [`Moments`] (count, means and centred cross products of the `d` columns, f64) and
//! returns them as bytes ([`decode`]); `linreg_moments_weighted(c1, …, cd, w)` weighs each row
//! by `w`. Partial aggregates travel between threads (or machines) as the same bytes and are
//! merged exactly (Chan–Golub–LeVeque) in [`Accumulator::merge_batch`]. The features and
//! targets are just the first `p` and last `k` of the `d` columns: the moments are symmetric,
//! so the split is applied when they are decoded.
//!
//! [`moments`] runs it over a Parquet or CSV table with an optional SQL `WHERE` condition.
//!
//! ```
//! # #[cfg(not(feature = "enabled"))] fn main() {}
//! # #[cfg(feature = "enabled")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use linreg_datafusion::{moments, MomentsQuery, TableFormat};
//!
//! let dir = std::env::temp_dir().join(format!("linreg-df-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("line.csv");
//! let rows: String = (0..100).map(|i| format!("{},{}\n", i, 3 * i - 1)).collect();
//! std::fs::write(&path, format!("x,y\n{rows}"))?;
//!
//! let query = MomentsQuery {
//!     location: path.display().to_string(),
//!     format: TableFormat::Csv { delimiter: b',' },
//!     features: vec!["x".into()],
//!     targets: vec!["y".into()],
//!     weights: None,
//!     filter: Some("x >= 10".into()),
//!     folds: None,
//! };
//! let m = moments(&query)?;
//! assert_eq!(m.plain.rows(), 90);
//! let fit = m.weighted.least_squares(true, 0.0)?.fit;
//! assert!((fit.weight[0][0] - 3.0).abs() < 1e-9 && (fit.bias[0] + 1.0).abs() < 1e-9);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! (Everything below is behind the crate's `enabled` feature.)
#![cfg(feature = "enabled")]

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{exec_err, DataFusionError, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};
use linreg_solve::{Moments, SolveError};

/// Why the engine could not compute the moments.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// DataFusion refused the table or the query (its message names the problem).
    #[error("DataFusion: {0}")]
    DataFusion(#[from] DataFusionError),
    /// The statistics could not be merged or decoded.
    #[error(transparent)]
    Solve(#[from] SolveError),
    /// The query returned something unexpected.
    #[error("{0}")]
    Invalid(String),
}

/// Name of the unweighted aggregate.
pub const MOMENTS: &str = "linreg_moments";
/// Name of the weighted aggregate (last argument: the row weight).
pub const MOMENTS_WEIGHTED: &str = "linreg_moments_weighted";

/// The aggregate: moments of its arguments (cast to `DOUBLE`), as bytes.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MomentsUdaf {
    signature: Signature,
    weighted: bool,
}

impl MomentsUdaf {
    /// `linreg_moments` (`weighted = false`) or `linreg_moments_weighted`.
    pub fn new(weighted: bool) -> Self {
        Self {
            // Any number of arguments, each coerced to DOUBLE (`coerce_types`).
            signature: Signature::user_defined(Volatility::Immutable),
            weighted,
        }
    }
}

/// Both aggregates, ready for `SessionContext::register_udaf` (or a Ballista executor's
/// function registry).
pub fn udafs() -> [AggregateUDF; 2] {
    [
        AggregateUDF::from(MomentsUdaf::new(false)),
        AggregateUDF::from(MomentsUdaf::new(true)),
    ]
}

impl AggregateUDFImpl for MomentsUdaf {
    fn name(&self) -> &str {
        if self.weighted {
            MOMENTS_WEIGHTED
        } else {
            MOMENTS
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(DataType::Binary)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> datafusion::common::Result<Vec<DataType>> {
        if let Some(t) = arg_types.iter().find(|t| !(t.is_numeric() || t.is_null())) {
            return exec_err!("{} takes numeric columns, not {t}", self.name());
        }
        Ok(vec![DataType::Float64; arg_types.len()])
    }

    fn accumulator(&self, _: AccumulatorArgs) -> datafusion::common::Result<Box<dyn Accumulator>> {
        Ok(Box::new(MomentsAccumulator {
            moments: None,
            weighted: self.weighted,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> datafusion::common::Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[moments]", args.name),
            DataType::Binary,
            true,
        ))])
    }
}

/// Folds rows into moments; its state is [`encode`]'s bytes.
#[derive(Debug)]
struct MomentsAccumulator {
    /// `None` until the first rows say how many columns there are.
    moments: Option<Moments>,
    weighted: bool,
}

/// The moments as bytes: the column count, then [`Moments::to_state`], little-endian f64.
pub fn encode(m: &Moments) -> Vec<u8> {
    let d = (m.features() + m.targets()) as f64;
    std::iter::once(d)
        .chain(m.to_state())
        .flat_map(f64::to_le_bytes)
        .collect()
}

/// Decodes [`encode`]'s bytes as the moments of `features` then `targets` columns.
pub fn decode(bytes: &[u8], features: usize, targets: usize) -> Result<Moments, EngineError> {
    let values: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    match values.split_first() {
        Some((&d, state)) if bytes.len().is_multiple_of(8) && d == (features + targets) as f64 => {
            Ok(Moments::from_state(features, targets, state)?)
        }
        _ => Err(EngineError::Invalid(format!(
            "the aggregate returned {} bytes, not the moments of {features}+{targets} columns",
            bytes.len()
        ))),
    }
}

fn decode_any(bytes: &[u8]) -> datafusion::common::Result<Moments> {
    let d = bytes
        .get(..8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        .unwrap_or(0);
    if d < 2 {
        return exec_err!("a linreg_moments state of {} bytes is damaged", bytes.len());
    }
    decode(bytes, d - 1, 1).map_err(|e| DataFusionError::Execution(e.to_string()))
}

fn solve_err(e: SolveError) -> DataFusionError {
    DataFusionError::Execution(e.to_string())
}

impl Accumulator for MomentsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> datafusion::common::Result<()> {
        let d = values.len() - usize::from(self.weighted);
        if d < 2 {
            return exec_err!("linreg_moments needs at least two columns (a feature and a target)");
        }
        let mut cols = Vec::with_capacity(values.len());
        for (j, v) in values.iter().enumerate() {
            if v.null_count() > 0 {
                return exec_err!(
                    "argument {} of linreg_moments holds {} null(s); linreg needs a number in every used cell: \
                     filter them out (--where \"col IS NOT NULL\") or impute them",
                    j + 1,
                    v.null_count()
                );
            }
            cols.push(v.as_primitive::<Float64Type>().values());
        }
        let m = self.moments.get_or_insert_with(|| Moments::new(d - 1, 1));
        if m.features() + m.targets() != d {
            return exec_err!(
                "linreg_moments was called with {d} columns after {}",
                m.features() + 1
            );
        }
        let data: Vec<&[f64]> = cols[..d].iter().map(|c| &c[..]).collect();
        let weights = self.weighted.then(|| &cols[d][..]);
        if let Some(w) = weights {
            if let Some(i) = w.iter().position(|&v| !(v.is_finite() && v > 0.0)) {
                return exec_err!(
                    "a row has weight {}; weights must be positive finite numbers",
                    w[i]
                );
            }
        }
        m.push_columns(&data, weights).map_err(solve_err)
    }

    fn evaluate(&mut self) -> datafusion::common::Result<ScalarValue> {
        Ok(ScalarValue::Binary(self.moments.as_ref().map(encode)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self
                .moments
                .as_ref()
                .map_or(0, |m| 8 * Moments::state_len(m.features(), m.targets()))
    }

    fn state(&mut self) -> datafusion::common::Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> datafusion::common::Result<()> {
        let states: &BinaryArray = states[0].as_binary();
        for bytes in states.iter().flatten() {
            let other = decode_any(bytes)?;
            match &mut self.moments {
                Some(m) => m.merge(&other).map_err(solve_err)?,
                None => self.moments = Some(other),
            }
        }
        Ok(())
    }
}

/// A table's format, as DataFusion reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Parquet files.
    Parquet,
    /// CSV files with a header row.
    Csv {
        /// The field delimiter.
        delimiter: u8,
    },
}

/// What to aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MomentsQuery {
    /// A file, a directory, a glob, or an object-store URL that DataFusion can list.
    pub location: String,
    /// The files' format.
    pub format: TableFormat,
    /// Feature columns.
    pub features: Vec<String>,
    /// Target columns.
    pub targets: Vec<String>,
    /// A column of row weights, if any.
    pub weights: Option<String>,
    /// An SQL condition the rows must meet (`WHERE …`).
    pub filter: Option<String>,
    /// A column of cross-validation fold labels: the moments are also summed per label.
    pub folds: Option<String>,
}

/// The moments a query returns: with the row weights (the same as `plain` without a weight
/// column) and without.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineMoments {
    /// Weighted (what weighted least squares solves).
    pub weighted: Moments,
    /// Unweighted (standardization statistics, metrics).
    pub plain: Moments,
    /// With [`MomentsQuery::folds`]: each label's rows, in increasing label order (the
    /// totals above are their merge).
    pub folds: Vec<FoldMoments>,
}

/// The moments of the rows of one fold label.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldMoments {
    /// The label.
    pub label: f64,
    /// With the row weights.
    pub weighted: Moments,
    /// Without.
    pub plain: Moments,
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The SQL that computes the moments of `query` over the table registered as `table`.
pub fn moments_sql(query: &MomentsQuery, table: &str) -> String {
    let cols: Vec<String> = query
        .features
        .iter()
        .chain(&query.targets)
        .map(|c| format!("CAST({} AS DOUBLE)", quote(c)))
        .collect();
    let plain = format!("{MOMENTS}({})", cols.join(", "));
    let select = match &query.weights {
        Some(w) => format!(
            "{plain}, {MOMENTS_WEIGHTED}({}, CAST({} AS DOUBLE))",
            cols.join(", "),
            quote(w)
        ),
        None => plain,
    };
    let filter = query
        .filter
        .as_ref()
        .map(|f| format!(" WHERE {f}"))
        .unwrap_or_default();
    match &query.folds {
        Some(fold) => {
            let label = fold_label(fold);
            format!("SELECT {select}, {label} FROM {table}{filter} GROUP BY {label}")
        }
        None => format!("SELECT {select} FROM {table}{filter}"),
    }
}

/// A fold column's label as the queries group by it: a double, −0 as 0 (as in memory).
fn fold_label(fold: &str) -> String {
    format!("(CAST({} AS DOUBLE) + 0.0)", quote(fold))
}

/// Refuses a fold column with more than [`linreg_path::MAX_FOLDS`] labels, before the
/// grouped aggregate (one set of moments per label) is built.
async fn check_fold_count(
    ctx: &SessionContext,
    query: &MomentsQuery,
    fold: &str,
) -> Result<(), EngineError> {
    let filter = query
        .filter
        .as_ref()
        .map(|f| format!(" WHERE {f}"))
        .unwrap_or_default();
    // (No COUNT: Ballista ships only linreg's own aggregates; the labels are few or cut off.)
    let limit = linreg_path::MAX_FOLDS + 1;
    let sql = format!(
        "SELECT DISTINCT {} FROM t{filter} LIMIT {limit}",
        fold_label(fold)
    );
    let batches = ctx.sql(&sql).await?.collect().await?;
    let count: usize = batches.iter().map(|b| b.num_rows()).sum();
    if count > linreg_path::MAX_FOLDS {
        return Err(EngineError::Invalid(format!(
            "the fold column {fold} holds more than {} distinct values; name a column with one \
             label per fold (5 or 10 folds are usual)",
            linreg_path::MAX_FOLDS
        )));
    }
    Ok(())
}

/// Registers the aggregates and `query`'s files (as table `t`) with `ctx`.
pub async fn register(ctx: &SessionContext, query: &MomentsQuery) -> Result<(), EngineError> {
    for udaf in udafs() {
        ctx.register_udaf(udaf);
    }
    let ext = |default: &str| -> String {
        // DataFusion lists the files of a directory by extension.
        let name = query.location.rsplit('/').next().unwrap_or_default();
        match name.split_once('.') {
            Some((_, e)) if !name.contains('*') => format!(".{e}"),
            _ => default.into(),
        }
    };
    match query.format {
        TableFormat::Parquet => {
            let options = ParquetReadOptions {
                file_extension: &ext(".parquet"),
                ..Default::default()
            };
            ctx.register_parquet("t", &query.location, options).await?
        }
        TableFormat::Csv { delimiter } => {
            let e = ext(".csv");
            let options = CsvReadOptions::new()
                .has_header(true)
                .delimiter(delimiter)
                .file_extension(&e);
            ctx.register_csv("t", &query.location, options).await?
        }
    }
    Ok(())
}

/// Runs the moments query on `ctx` (registered by [`register`]).
pub async fn run(ctx: &SessionContext, query: &MomentsQuery) -> Result<EngineMoments, EngineError> {
    if let Some(fold) = &query.folds {
        check_fold_count(ctx, query, fold).await?;
    }
    let batches = ctx.sql(&moments_sql(query, "t")).await?.collect().await?;
    let mut rows = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            rows.push(row_moments(query, b, r)?);
        }
    }
    let Some(folds) = &query.folds else {
        let (weighted, plain) = rows
            .pop()
            .map(|f| (f.weighted, f.plain))
            .ok_or_else(|| EngineError::Invalid("the moments query returned no row".into()))?;
        return Ok(EngineMoments {
            weighted,
            plain,
            folds: Vec::new(),
        });
    };
    if let Some(bad) = rows.iter().find(|f| !f.label.is_finite()) {
        return Err(EngineError::Invalid(format!(
            "the fold column {folds} is empty, infinite or not a number in some rows ({}); every \
             row needs a finite label",
            bad.label
        )));
    }
    rows.sort_by(|a, b| a.label.total_cmp(&b.label));
    let (p, k) = (query.features.len(), query.targets.len());
    let (mut weighted, mut plain) = (Moments::new(p, k), Moments::new(p, k));
    for f in &rows {
        weighted.merge(&f.weighted)?;
        plain.merge(&f.plain)?;
    }
    Ok(EngineMoments {
        weighted,
        plain,
        folds: rows,
    })
}

/// Row `r` of a result batch: the moments (plain, then weighted when weighted), then the
/// fold label when grouped (NaN for a null label).
fn row_moments(
    query: &MomentsQuery,
    b: &datafusion::arrow::record_batch::RecordBatch,
    r: usize,
) -> Result<FoldMoments, EngineError> {
    let (p, k) = (query.features.len(), query.targets.len());
    let get = |i: usize| -> Result<Moments, EngineError> {
        let col: &BinaryArray = b.column(i).as_binary();
        if col.is_null(r) {
            // No row passed the filter.
            return Ok(Moments::new(p, k));
        }
        decode(col.value(r), p, k)
    };
    let plain = get(0)?;
    let weighted = match query.weights {
        Some(_) => get(1)?,
        None => plain.clone(),
    };
    let label = match query.folds {
        Some(_) => {
            let col = b.column(b.num_columns() - 1);
            let values = col.as_primitive::<Float64Type>();
            if values.is_null(r) {
                f64::NAN
            } else {
                values.value(r)
            }
        }
        None => 0.0,
    };
    Ok(FoldMoments {
        label,
        weighted,
        plain,
    })
}

/// The moments of `query`'s rows, computed by DataFusion on every core of this machine.
pub fn moments(query: &MomentsQuery) -> Result<EngineMoments, EngineError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::Invalid(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let ctx = SessionContext::new();
        register(&ctx, query).await?;
        run(&ctx, query).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_refuse_the_wrong_shape() {
        let mut m = Moments::new(2, 1);
        let cols: [&[f64]; 3] = [&[1.0, 2.0, 4.0], &[2.0, 1.0, 0.5], &[3.0, 5.0, 9.5]];
        m.push_columns(&cols, None).unwrap();
        let b = encode(&m);
        assert_eq!(decode(&b, 2, 1).unwrap(), m);
        // The same columns split as 1 feature + 2 targets: the same statistics.
        assert_eq!(decode(&b, 1, 2).unwrap().to_state(), m.to_state());
        assert!(decode(&b, 3, 1).is_err());
        assert!(decode(&b[..12], 2, 1).is_err());
    }

    #[test]
    fn the_sql_quotes_names_and_casts() {
        let q = MomentsQuery {
            location: "t.parquet".into(),
            format: TableFormat::Parquet,
            features: vec!["a b".into()],
            targets: vec!["y".into()],
            weights: Some("w".into()),
            filter: Some("y > 0".into()),
            folds: None,
        };
        assert_eq!(
            moments_sql(&q, "t"),
            "SELECT linreg_moments(CAST(\"a b\" AS DOUBLE), CAST(\"y\" AS DOUBLE)), \
             linreg_moments_weighted(CAST(\"a b\" AS DOUBLE), CAST(\"y\" AS DOUBLE), CAST(\"w\" AS DOUBLE)) \
             FROM t WHERE y > 0"
        );
    }
}
