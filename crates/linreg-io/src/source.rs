//! [`Source`]: the files behind one `--data` argument, and the columns a model takes from them.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use arrow_schema::DataType;
use linreg_data::{Columns, CsvOptions};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};

use crate::IoError;

/// A table's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-, semicolon- or tab-separated text with a header row; `.gz` and `.zst` are
    /// decompressed on the fly.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// The format in words.
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "CSV",
            Self::Parquet => "Parquet",
        }
    }

    /// The format of `path`, by its name: `.parquet`, `.parq` and `.pq` are Parquet,
    /// `.csv`, `.tsv`, `.txt` (and those with `.gz` or `.zst` after them) are CSV; anything
    /// else is judged by its first bytes (Parquet files start with `PAR1`).
    pub fn of(path: &Path) -> Result<Self, IoError> {
        if let Some(f) = Self::by_name(path) {
            return Ok(f);
        }
        let mut magic = [0u8; 4];
        let n = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut magic))
            .map_err(|e| IoError::read(path, e))?;
        Ok(if n == 4 && &magic == b"PAR1" {
            Self::Parquet
        } else {
            Self::Csv
        })
    }

    fn by_name(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .or_else(|| name.strip_suffix(".zstd"))
            .unwrap_or(&name);
        let ext = Path::new(name).extension()?.to_str()?;
        match ext {
            "parquet" | "parq" | "pq" => Some(Self::Parquet),
            "csv" | "tsv" | "txt" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// The files of one table: a file, every table file under a directory (recursively, as
/// Hive-style partitioned datasets are laid out; names starting with `.` or `_` are
/// skipped), or the files a glob pattern matches — in sorted order, all of one format.
#[derive(Debug, Clone)]
pub struct Source {
    spec: PathBuf,
    format: Format,
    files: Vec<PathBuf>,
    /// Parquet footers, one per file (empty for CSV).
    meta: Vec<ArrowReaderMetadata>,
    csv: CsvOptions,
}

/// The columns asked for: targets, features (`None` = every other numeric column), and an
/// optional weight column (never taken as a feature).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Target columns, in order (may be empty when only features are read).
    pub targets: Vec<String>,
    /// Feature columns; `None` for every other numeric column.
    pub features: Option<Vec<String>>,
    /// A column of positive row weights.
    pub weights: Option<String>,
    /// A column of cross-validation fold labels (read after the weights; never a feature).
    pub folds: Option<String>,
}

impl Selection {
    /// A selection of these columns.
    pub fn new(
        targets: Vec<String>,
        features: Option<Vec<String>>,
        weights: Option<String>,
    ) -> Self {
        Self {
            targets,
            features,
            weights,
            folds: None,
        }
    }

    /// The same selection, with a column of fold labels.
    pub fn with_folds(mut self, folds: Option<String>) -> Self {
        self.folds = folds;
        self
    }
}

/// The columns resolved against a source: every name exists and is numeric. Chunks hold
/// them in the order features, targets, weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    features: Vec<String>,
    targets: Vec<String>,
    weights: Option<String>,
    folds: Option<String>,
}

impl Selected {
    /// Feature column names.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// Target column names.
    pub fn targets(&self) -> &[String] {
        &self.targets
    }

    /// The weight column, if any.
    pub fn weights(&self) -> Option<&str> {
        self.weights.as_deref()
    }

    /// The column of fold labels, if any.
    pub fn folds(&self) -> Option<&str> {
        self.folds.as_deref()
    }

    /// Every column read, in chunk order: features, targets, the weight column, then the
    /// fold column.
    pub fn names(&self) -> Vec<String> {
        self.features
            .iter()
            .chain(&self.targets)
            .chain(&self.weights)
            .chain(&self.folds)
            .cloned()
            .collect()
    }

    /// Features, targets, and whether a weight column follows: a chunk's layout.
    pub(crate) fn counts(&self) -> (usize, usize, bool) {
        (
            self.features.len(),
            self.targets.len(),
            self.weights.is_some(),
        )
    }

    /// The CSV reader's view: the weight column rides along as a last target.
    pub(crate) fn csv_columns(&self) -> Columns {
        Columns {
            targets: self
                .targets
                .iter()
                .chain(&self.weights)
                .chain(&self.folds)
                .cloned()
                .collect(),
            features: Some(self.features.clone()),
        }
    }
}

impl Source {
    /// The files `spec` names: a file, a directory, or a glob pattern (`data/*.parquet`,
    /// `part-*.csv.gz`).
    pub fn open(spec: &Path) -> Result<Self, IoError> {
        let files = resolve(spec)?;
        let mut format = None;
        for f in &files {
            let this = Format::of(f)?;
            match format {
                None => format = Some((this, f)),
                Some((first, first_path)) if first != this => {
                    return Err(IoError::MixedFormats {
                        first: first_path.clone(),
                        first_format: first.name(),
                        other: f.clone(),
                        other_format: this.name(),
                    })
                }
                _ => {}
            }
        }
        let format = format.map_or(Format::Csv, |f| f.0);
        let meta = match format {
            Format::Csv => Vec::new(),
            Format::Parquet => files
                .iter()
                .map(|f| {
                    let file = std::fs::File::open(f).map_err(|e| IoError::read(f, e))?;
                    ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
                        .map_err(|e| IoError::parquet(f, e))
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            spec: spec.to_path_buf(),
            format,
            files,
            meta,
            csv: CsvOptions::default(),
        })
    }

    /// The same source, with CSV reading options (the delimiter).
    pub fn with_csv_options(mut self, options: CsvOptions) -> Self {
        self.csv = options;
        self
    }

    /// The path, directory or pattern this source was opened from.
    pub fn spec(&self) -> &Path {
        &self.spec
    }

    /// The format of its files.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Its files, in reading order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The CSV options in use.
    pub fn csv_options(&self) -> &CsvOptions {
        &self.csv
    }

    pub(crate) fn metadata(&self) -> &[ArrowReaderMetadata] {
        &self.meta
    }

    /// Number of rows, when the files say so without being read (Parquet footers); `None`
    /// for CSV.
    pub fn rows(&self) -> Result<Option<u64>, IoError> {
        Ok(match self.format {
            Format::Csv => None,
            Format::Parquet => Some(
                self.meta
                    .iter()
                    .map(|m| m.metadata().file_metadata().num_rows().max(0) as u64)
                    .sum(),
            ),
        })
    }

    /// Bytes on disk, all files together.
    pub fn bytes(&self) -> u64 {
        self.files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum()
    }

    /// The column names of the (first) file.
    pub fn column_names(&self) -> Result<Vec<String>, IoError> {
        match self.format {
            Format::Parquet => Ok(self.meta[0]
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()),
            Format::Csv => {
                let path = &self.files[0];
                let (mut reader, _) = linreg_data::table::open(path, &self.csv)?;
                Ok(linreg_data::table::headers(&mut reader, path)?)
            }
        }
    }

    /// Whether every selected column of every file is stored as `T` (then scans borrow
    /// them without converting); always false for CSV.
    pub fn stored_as<T: crate::Element>(&self, selected: &Selected) -> bool {
        let want = <T::Arrow as arrow_array::ArrowPrimitiveType>::DATA_TYPE;
        self.format == Format::Parquet
            && self.meta.iter().all(|m| {
                selected.names().iter().all(|n| {
                    m.schema()
                        .field_with_name(n)
                        .is_ok_and(|f| *f.data_type() == want)
                })
            })
    }

    /// Resolves `selection` against every file: the names exist, are numeric, and are not
    /// repeated; default features are every other numeric column (Parquet: by type; CSV:
    /// judged on the first data row, as `linreg-data` does).
    pub fn select(&self, selection: &Selection) -> Result<Selected, IoError> {
        let dup = |list: &[String], place: &str| -> Result<(), IoError> {
            for (i, n) in list.iter().enumerate() {
                if list[..i].contains(n) {
                    return Err(IoError::Columns {
                        column: n.clone(),
                        problem: format!("is named twice in {place}; each column may appear once"),
                    });
                }
            }
            Ok(())
        };
        dup(&selection.targets, "--target")?;
        if let Some(f) = &selection.features {
            dup(f, "--features")?;
            if let Some(t) = f.iter().find(|f| selection.targets.contains(f)) {
                return Err(IoError::Columns {
                    column: t.clone(),
                    problem: "is both a target and a feature; a model cannot predict its own input, so drop it from --features".into(),
                });
            }
        }
        for (c, what) in [(&selection.weights, "weight"), (&selection.folds, "fold")] {
            let Some(c) = c else { continue };
            if selection.targets.contains(c)
                || selection.features.as_ref().is_some_and(|f| f.contains(c))
                || (what == "fold" && selection.weights.as_ref() == Some(c))
            {
                return Err(IoError::Columns {
                    column: c.clone(),
                    problem: format!(
                        "is the {what} column and cannot also be a feature, a target or the weight column"
                    ),
                });
            }
        }
        let selected = match self.format {
            Format::Parquet => self.select_parquet(selection)?,
            Format::Csv => self.select_csv(selection)?,
        };
        if selected.features.is_empty() {
            return Err(IoError::NoFeatures(self.files[0].clone()));
        }
        Ok(selected)
    }

    fn select_parquet(&self, selection: &Selection) -> Result<Selected, IoError> {
        let schema = self.meta[0].schema();
        let used = |name: &String| {
            selection.targets.contains(name)
                || selection.weights.as_ref() == Some(name)
                || selection.folds.as_ref() == Some(name)
        };
        let features = match &selection.features {
            Some(f) => f.clone(),
            None => schema
                .fields()
                .iter()
                .filter(|f| numeric(f.data_type()) && !used(f.name()))
                .map(|f| f.name().clone())
                .collect(),
        };
        let selected = Selected {
            features,
            targets: selection.targets.clone(),
            weights: selection.weights.clone(),
            folds: selection.folds.clone(),
        };
        for (path, meta) in self.files.iter().zip(&self.meta) {
            let schema = meta.schema();
            for name in selected.names() {
                let field = schema
                    .field_with_name(&name)
                    .map_err(|_| IoError::UnknownColumn {
                        path: path.clone(),
                        column: name.clone(),
                        available: schema
                            .fields()
                            .iter()
                            .map(|f| f.name().as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?;
                if !numeric(field.data_type()) {
                    return Err(IoError::NotNumeric {
                        path: path.clone(),
                        column: name.clone(),
                        kind: field.data_type().to_string(),
                    });
                }
            }
        }
        Ok(selected)
    }

    fn select_csv(&self, selection: &Selection) -> Result<Selected, IoError> {
        let columns = Columns {
            targets: selection
                .targets
                .iter()
                .chain(&selection.weights)
                .chain(&selection.folds)
                .cloned()
                .collect(),
            features: selection.features.clone(),
        };
        let mut selected = None;
        for path in &self.files {
            // The header and the first block decide (and check) the columns.
            let (features, mut targets) =
                linreg_data::read_table_chunks::<f64>(path, &columns, &self.csv, 1, |_, _| {
                    ControlFlow::Break(())
                })?;
            targets.truncate(selection.targets.len());
            let this = Selected {
                features,
                targets,
                weights: selection.weights.clone(),
                folds: selection.folds.clone(),
            };
            match &selected {
                None => selected = Some(this),
                Some(first) if *first != this => {
                    return Err(IoError::Columns {
                        column: this.features.join(", "),
                        problem: format!(
                            "are the numeric feature columns of {}, but {} has {}; name the features with --features",
                            path.display(),
                            self.files[0].display(),
                            first.features.join(", ")
                        ),
                    })
                }
                _ => {}
            }
        }
        selected.ok_or_else(|| IoError::NoFiles(format!("{} names no file", self.spec.display())))
    }
}

/// Whether linreg reads this Arrow type as numbers.
pub(crate) fn numeric(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
    )
}

/// The files a `--data` argument names.
fn resolve(spec: &Path) -> Result<Vec<PathBuf>, IoError> {
    if spec.is_file() {
        return Ok(vec![spec.to_path_buf()]);
    }
    if spec.is_dir() {
        let mut files = Vec::new();
        walk(spec, &mut files)?;
        files.sort();
        if files.is_empty() {
            return Err(IoError::NoFiles(format!(
                "directory {} holds no .parquet, .csv, .csv.gz or .csv.zst file",
                spec.display()
            )));
        }
        return Ok(files);
    }
    let text = spec.to_string_lossy();
    if text.contains(['*', '?', '[']) {
        let paths = glob::glob(&text)
            .map_err(|e| IoError::NoFiles(format!("{text} is not a valid pattern: {e}")))?;
        let mut files = Vec::new();
        for p in paths {
            let p = p.map_err(|e| IoError::read(e.path(), e.error()))?;
            if p.is_file() {
                files.push(p);
            }
        }
        files.sort();
        if files.is_empty() {
            return Err(IoError::NoFiles(format!("no file matches {text}")));
        }
        return Ok(files);
    }
    Err(IoError::Read {
        path: spec.to_path_buf(),
        message: "no such file or directory".into(),
    })
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), IoError> {
    for entry in std::fs::read_dir(dir).map_err(|e| IoError::read(dir, e))? {
        let entry = entry.map_err(|e| IoError::read(dir, e))?;
        let path = entry.path();
        let hidden = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with('.') || n.starts_with('_'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, files)?;
        } else if Format::by_name(&path).is_some() {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name() {
        for (name, f) in [
            ("a.parquet", Some(Format::Parquet)),
            ("a.PQ", Some(Format::Parquet)),
            ("a.csv", Some(Format::Csv)),
            ("a.csv.gz", Some(Format::Csv)),
            ("a.tsv.zst", Some(Format::Csv)),
            ("a.bin", None),
            ("a.gz", None),
        ] {
            assert_eq!(Format::by_name(Path::new(name)), f, "{name}");
        }
    }
}
