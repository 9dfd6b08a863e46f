//! Tables for linreg that may not fit in memory: CSV (plain, `.csv.gz`, `.csv.zst`) and Parquet
//! files, named one by one, as a directory, or as a glob, read whole or streamed in chunks.
//!
//! A [`Source`] is the list of files behind a `--data` argument. [`Source::select`] resolves
//! the columns a model uses (features, targets, an optional weight column) against the files'
//! headers or Parquet schemas and checks that they are numeric. Then:
//!
//! - [`Source::read_all`] reads the selected columns into one [`Table`] (the in-memory path);
//! - [`Source::scan`] hands the rows to one state per thread, as column slices ([`Chunk`]),
//!   in no particular order: Parquet row groups are spread over the cores
//!   (`with_row_groups`), each read with column projection and large record batches, its
//!   `f32`/`f64` columns borrowed without a copy (after checking that they hold no nulls);
//!   CSV blocks are parsed on every core by `linreg-data`'s reader;
//! - [`Source::stream`] hands them over in a chosen order of [units](Source::units) (Parquet
//!   row groups), read ahead on other threads, for training that shuffles row groups.
//!
//! Every problem is an [`IoError`] that names the file (and the row group, column and row, or
//! the CSV line) and says what to do. [`ParquetWriter`] writes numeric columns to Parquet,
//! atomically. No Burn, no solver.
//!
//! ```
//! use linreg_io::{ParquetWriter, Source, Selection};
//!
//! let dir = std::env::temp_dir().join(format!("linreg-io-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("t.parquet");
//! let mut w = ParquetWriter::create(&path, &["x".into(), "y".into()], Default::default())?;
//! w.write_columns::<f32>(&[&[1.0, 2.0, 3.0], &[3.0, 5.0, 7.0]])?;
//! w.finish()?;
//!
//! let source = Source::open(&path)?;
//! let sel = source.select(&Selection::new(vec!["y".into()], None, None))?;
//! assert_eq!((sel.features(), source.rows()?), (&["x".to_string()][..], Some(3)));
//! let table = source.read_all::<f64>(&sel)?;
//! assert_eq!(table.data.y.values(), &[3.0, 5.0, 7.0]);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod chunk;
mod scan;
mod source;
mod write;

use std::path::PathBuf;

pub use chunk::{Chunk, Element};
pub use scan::{ScanOptions, Unit};
pub use source::{Format, Selected, Selection, Source};
pub use write::{ParquetCompression, ParquetWriter, WriteOptions};

pub use linreg_data::Table;

/// Why a table could not be read or written. Every variant names the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IoError {
    /// A CSV problem, from `linreg-data`'s reader (it names the file, line and column).
    #[error(transparent)]
    Csv(#[from] linreg_data::CsvError),
    /// The file, directory or pattern could not be opened or read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A path, directory or glob that names no table.
    #[error("{0}")]
    NoFiles(String),
    /// The files behind one `--data` are of different formats.
    #[error("{first} is {first_format} but {other} is {other_format}; give files of one format (CSV or Parquet) at a time")]
    MixedFormats {
        /// A file of the first format.
        first: PathBuf,
        /// Its format.
        first_format: &'static str,
        /// A file of another format.
        other: PathBuf,
        /// That format.
        other_format: &'static str,
    },
    /// The Parquet reader failed (a damaged or unsupported file).
    #[error("{path}: {message}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        message: String,
    },
    /// A column named on the command line is not in a file.
    #[error("{path} has no column '{column}'; its columns are: {available}")]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        column: String,
        /// The file's columns, comma-separated.
        available: String,
    },
    /// A used column is not numeric.
    #[error("{path}: column '{column}' holds {kind}, not numbers; choose numeric columns with --features and --target")]
    NotNumeric {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// Its type, as Arrow names it.
        kind: String,
    },
    /// A column is named twice, or is both a target and a feature.
    #[error("column '{column}' {problem}")]
    Columns {
        /// The column.
        column: String,
        /// What is wrong.
        problem: String,
    },
    /// No feature column is left to learn from.
    #[error("{0} has no numeric feature column besides the targets; name some with --features")]
    NoFeatures(PathBuf),
    /// No target named.
    #[error("no target column given: name at least one with --target")]
    NoTargets,
    /// A used cell is missing (null).
    #[error("{path}, row group {row_group}, column '{column}': row {row} is null; linreg needs a number in every used cell (drop or impute those rows)")]
    Null {
        /// The file.
        path: PathBuf,
        /// The row group (0-based).
        row_group: usize,
        /// The column.
        column: String,
        /// The row (0-based, counted from the file's first row).
        row: u64,
    },
    /// A used cell is NaN or infinite.
    #[error("{path}, row group {row_group}, column '{column}': row {row} is {value}; values must be finite numbers (remove or impute the row)")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The row group (0-based).
        row_group: usize,
        /// The column.
        column: String,
        /// The row (0-based, counted from the file's first row).
        row: u64,
        /// The value.
        value: f64,
    },
    /// A table without data rows.
    #[error("{0} has no data rows")]
    NoRows(String),
    /// Writing failed.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The reading was stopped by the caller, with its reason.
    #[error("{0}")]
    Stopped(String),
}

impl IoError {
    pub(crate) fn read(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> Self {
        Self::Read {
            path: path.into(),
            message: e.to_string(),
        }
    }

    pub(crate) fn parquet(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> Self {
        Self::Parquet {
            path: path.into(),
            message: e.to_string(),
        }
    }
}
