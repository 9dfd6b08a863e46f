//! A table by its path: one CSV file as `linreg-data` reads it, or Parquet files,
//! directories and globs (and compressed CSV) through `linreg-io`.

use std::path::Path;

use linreg_data::table::Compression;
use linreg_data::{Columns, CsvOptions, Table};
use linreg_io::{Format, Selection, Source};
use linreg_stream::MemoryBudget;

use crate::Result;

/// Whether `path` is one plain CSV file, which `linreg-data`'s reader reads as it always has.
fn plain_csv(path: &Path) -> bool {
    path.is_file()
        && Compression::of(path) == Compression::None
        && Format::of(path).is_ok_and(|f| f == Format::Csv)
}

/// Opens `path` as a source (file, directory or glob).
pub fn open(path: &Path, options: &CsvOptions) -> Result<Source> {
    Ok(Source::open(path)?.with_csv_options(options.clone()))
}

/// Reads the chosen columns of `path` into matrices, whatever the format: the weight column,
/// if any, rides along as the last target (as `Columns` asks).
pub fn read_table_as<T: linreg_io::Element>(
    path: &Path,
    columns: &Columns,
    options: &CsvOptions,
) -> Result<Table<T>> {
    if plain_csv(path) {
        return Ok(linreg_data::read_table_as::<T>(path, columns, options)?);
    }
    let source = open(path, options)?;
    let selected = source.select(&Selection::new(
        columns.targets.clone(),
        columns.features.clone(),
        None,
    ))?;
    source
        .read_all::<T>(&selected)
        .map_err(|e| crate::FitError::from(e).context(format!("cannot read {}", path.display())))
}

/// Cells (rows × columns) a table would take in memory: exact for Parquet (the footers say
/// how many rows), estimated from the file sizes for CSV (about 10 bytes of text per cell,
/// three times that when compressed). `columns`: how many are read (`None`: all of them).
pub fn estimated_cells(source: &Source, columns: Option<usize>) -> Result<u64> {
    Ok(match source.rows()? {
        Some(rows) => {
            let columns = match columns {
                Some(c) => c as u64,
                None => source.column_names()?.len() as u64,
            };
            rows * columns
        }
        None => source
            .files()
            .iter()
            .map(|f| {
                let bytes = std::fs::metadata(f).map_or(0, |m| m.len());
                match Compression::of(f) {
                    Compression::None => bytes / 10,
                    _ => bytes * 3 / 10,
                }
            })
            .sum(),
    })
}

/// Whether `path` is one plain CSV file whose cells fit `budget`: then it is read whole, as
/// before, and every column of it can be written back beside the predictions.
pub fn plain_csv_that_fits(
    path: &Path,
    options: &CsvOptions,
    budget: MemoryBudget,
) -> Result<bool> {
    Ok(plain_csv(path) && budget.fits(estimated_cells(&open(path, options)?, None)?))
}
