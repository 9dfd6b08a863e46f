//! Reading CSV tables into contiguous matrices, with errors that name the file, line and column.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::{Dataset, Matrix};

/// Why a table could not be read. Every variant names the file; cell errors name the line
/// (1-based, the header is line 1) and the column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CsvError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        message: String,
    },
    /// The file has no header row.
    #[error("{0} is empty: a table needs a header row naming the columns, then data rows")]
    Empty(PathBuf),
    /// The file has a header and nothing else.
    #[error("{0} has a header row but no data rows")]
    NoRows(PathBuf),
    /// A row has more or fewer fields than the header.
    #[error("{path} line {line}: {found} fields, but the header has {expected}; every row needs one value per column")]
    Ragged {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },
    /// A cell of a used column is not a finite number.
    #[error("{path} line {line}, column '{column}': {problem}")]
    BadCell {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The column's name.
        column: String,
        /// What is wrong with the cell.
        problem: String,
    },
    /// A column named on the command line is not in the header.
    #[error("{path} has no column '{column}'; its columns are: {available}")]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        column: String,
        /// The header, comma-separated.
        available: String,
    },
    /// A name appears twice, in the header or in a column list.
    #[error("column '{column}' {place}; each column may appear once")]
    Duplicate {
        /// The repeated name.
        column: String,
        /// Where it repeats, e.g. "appears twice in the header of data.csv".
        place: String,
    },
    /// A column is both a target and a feature.
    #[error("column '{0}' is both a target and a feature; a model cannot predict its own input, so drop it from --features")]
    TargetIsFeature(String),
    /// No feature column is left to learn from.
    #[error("{0} has no numeric feature column besides the targets; name some with --features")]
    NoFeatures(PathBuf),
    /// No target named.
    #[error("no target column given: name at least one with --target")]
    NoTargets,
    /// Writing the output failed (a full disk, or a closed pipe: `kind` tells which).
    #[error("could not write the output: {message}")]
    Output {
        /// The system's error kind (`BrokenPipe` when the reader went away).
        kind: std::io::ErrorKind,
        /// What the system said.
        message: String,
    },
    /// The CSV parser failed (for example, invalid UTF-8 or an unclosed quote).
    #[error("{path} line {line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What the parser said.
        message: String,
    },
}

/// How to read a table.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// Field delimiter; `None` sniffs comma, semicolon or tab from the header line.
    pub delimiter: Option<u8>,
}

/// Which columns to use.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    /// Target columns, in order; may be empty when only features are read (prediction).
    pub targets: Vec<String>,
    /// Feature columns, in order; `None` = every other numeric column (judged on the first data
    /// row), in header order.
    pub features: Option<Vec<String>>,
}

/// A table read into matrices, with the names of its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Features and targets (targets has zero columns when none were asked for).
    pub data: Dataset,
    /// Feature column names, in matrix order.
    pub features: Vec<String>,
    /// Target column names, in matrix order.
    pub targets: Vec<String>,
}

/// Picks the delimiter that splits the header line most: comma, semicolon or tab.
pub fn sniff_delimiter(header_line: &str) -> u8 {
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (header_line.bytes().filter(|&b| b == d).count(), d == b','))
        .unwrap_or(b',')
}

/// Opens `path` and returns a CSV reader positioned at the header, and the delimiter chosen.
pub fn open(
    path: &Path,
    options: &CsvOptions,
) -> Result<(csv::Reader<Box<dyn Read>>, u8), CsvError> {
    let io = |e: std::io::Error| CsvError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(io)?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let delimiter = match options.delimiter {
        Some(d) => d,
        None => {
            let head = reader.fill_buf().map_err(io)?;
            let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
            sniff_delimiter(&String::from_utf8_lossy(first_line))
        }
    };
    let reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true) // ragged rows are reported by us, with the line number
        .from_reader(Box::new(reader) as Box<dyn Read>);
    Ok((reader, delimiter))
}

/// Reads the header row, refusing an empty file and repeated names.
pub fn headers(
    reader: &mut csv::Reader<Box<dyn Read>>,
    path: &Path,
) -> Result<Vec<String>, CsvError> {
    let header = reader.headers().map_err(|e| parse_error(path, &e))?.clone();
    if header.is_empty() || (header.len() == 1 && header[0].trim().is_empty()) {
        return Err(CsvError::Empty(path.to_path_buf()));
    }
    let names: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(CsvError::Duplicate {
                column: name.clone(),
                place: format!("appears twice in the header of {}", path.display()),
            });
        }
    }
    Ok(names)
}

fn parse_error(path: &Path, e: &csv::Error) -> CsvError {
    let line = e.position().map_or(0, |p| p.line());
    match e.kind() {
        csv::ErrorKind::Io(io) => CsvError::Io {
            path: path.to_path_buf(),
            message: io.to_string(),
        },
        _ => CsvError::Parse {
            path: path.to_path_buf(),
            line,
            message: e.to_string(),
        },
    }
}

/// Parses one cell as a finite f32, or says what is wrong with it.
pub fn parse_cell(cell: &[u8]) -> Result<f32, String> {
    let text = std::str::from_utf8(cell).map_err(|_| "the cell is not valid UTF-8".to_string())?;
    let text = text.trim();
    if text.is_empty() {
        return Err("empty cell; every used cell needs a number".into());
    }
    match text.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(format!(
            "{v} is not allowed; values must be finite numbers (remove or impute the row)"
        )),
        Err(_) => Err(format!("'{text}' is not a number")),
    }
}

fn index_of(names: &[String], column: &str, path: &Path) -> Result<usize, CsvError> {
    names
        .iter()
        .position(|n| n == column)
        .ok_or_else(|| CsvError::UnknownColumn {
            path: path.to_path_buf(),
            column: column.to_string(),
            available: names.join(", "),
        })
}

fn no_repeats(list: &[String], option: &str) -> Result<(), CsvError> {
    for (i, name) in list.iter().enumerate() {
        if list[..i].contains(name) {
            return Err(CsvError::Duplicate {
                column: name.clone(),
                place: format!("is named twice in {option}"),
            });
        }
    }
    Ok(())
}

/// Reads the chosen columns of `path` into one contiguous row-major buffer per matrix.
///
/// Rows are parsed straight into the buffers, with the record buffer reused, so a table of
/// millions of rows is read without a per-row allocation.
pub fn read_table(path: &Path, columns: &Columns, options: &CsvOptions) -> Result<Table, CsvError> {
    let (mut reader, _) = open(path, options)?;
    let names = headers(&mut reader, path)?;
    no_repeats(&columns.targets, "--target")?;
    let target_idx: Vec<usize> = columns
        .targets
        .iter()
        .map(|t| index_of(&names, t, path))
        .collect::<Result<_, _>>()?;

    let mut record = csv::ByteRecord::new();
    let mut first = true;
    let read_next = |reader: &mut csv::Reader<Box<dyn Read>>, record: &mut csv::ByteRecord| {
        reader
            .read_byte_record(record)
            .map_err(|e| parse_error(path, &e))
    };
    if !read_next(&mut reader, &mut record)? {
        return Err(CsvError::NoRows(path.to_path_buf()));
    }

    let feature_idx: Vec<usize> = match &columns.features {
        Some(list) => {
            no_repeats(list, "--features")?;
            if let Some(t) = list.iter().find(|f| columns.targets.contains(f)) {
                return Err(CsvError::TargetIsFeature(t.clone()));
            }
            list.iter()
                .map(|f| index_of(&names, f, path))
                .collect::<Result<_, _>>()?
        }
        None => (0..names.len())
            .filter(|i| !target_idx.contains(i))
            .filter(|&i| record.get(i).is_some_and(|c| parse_cell(c).is_ok()))
            .collect(),
    };
    if feature_idx.is_empty() {
        return Err(CsvError::NoFeatures(path.to_path_buf()));
    }

    let (nf, nt) = (feature_idx.len(), target_idx.len());
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut rows = 0usize;
    loop {
        if !first && !read_next(&mut reader, &mut record)? {
            break;
        }
        first = false;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != names.len() {
            // A blank line reads as one empty field: skip it, as most tools do.
            if record.len() == 1 && record[0].is_empty() {
                continue;
            }
            return Err(CsvError::Ragged {
                path: path.to_path_buf(),
                line,
                expected: names.len(),
                found: record.len(),
            });
        }
        for (idx, out) in [(&feature_idx, &mut x), (&target_idx, &mut y)] {
            for &i in idx.iter() {
                let v = parse_cell(&record[i]).map_err(|problem| CsvError::BadCell {
                    path: path.to_path_buf(),
                    line,
                    column: names[i].clone(),
                    problem,
                })?;
                out.push(v);
            }
        }
        rows += 1;
    }
    let pick = |idx: &[usize]| idx.iter().map(|&i| names[i].clone()).collect();
    let data = Dataset::new(
        Matrix::new(rows, nf, x).map_err(|e| internal(path, &e))?,
        Matrix::new(rows, nt, y).map_err(|e| internal(path, &e))?,
    )
    .map_err(|e| internal(path, &e))?;
    Ok(Table {
        data,
        features: pick(&feature_idx),
        targets: pick(&target_idx),
    })
}

/// Copies every row of `path` to `out`, each followed by its row of `extra`, under a header
/// extended with `extra_names`; the file's own delimiter is kept. `extra` has one row per data
/// row of `path`, as [`read_table`] read them.
pub fn write_with_columns<W: Write>(
    path: &Path,
    options: &CsvOptions,
    extra_names: &[String],
    extra: &Matrix,
    out: W,
) -> Result<(), CsvError> {
    let (mut reader, delimiter) = open(path, options)?;
    let names = headers(&mut reader, path)?;
    let output = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(e) => CsvError::Output {
            kind: e.kind(),
            message: e.to_string(),
        },
        other => CsvError::Output {
            kind: std::io::ErrorKind::Other,
            message: format!("{other:?}"),
        },
    };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_writer(std::io::BufWriter::with_capacity(1 << 20, out));
    let mut header = csv::ByteRecord::new();
    for n in names.iter().chain(extra_names) {
        header.push_field(n.as_bytes());
    }
    writer.write_byte_record(&header).map_err(output)?;
    let mut record = csv::ByteRecord::new();
    let mut row = 0;
    let mut cell = String::new();
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| parse_error(path, &e))?
    {
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        if row >= extra.rows() {
            return Err(CsvError::Parse {
                path: path.to_path_buf(),
                line: record.position().map_or(0, |p| p.line()),
                message: "the file changed while it was being read".into(),
            });
        }
        for v in extra.row(row) {
            cell.clear();
            // Writing into a String cannot fail.
            let _ = std::fmt::Write::write_fmt(&mut cell, format_args!("{v}"));
            record.push_field(cell.as_bytes());
        }
        writer.write_byte_record(&record).map_err(output)?;
        row += 1;
    }
    writer.flush().map_err(|e| CsvError::Output {
        kind: e.kind(),
        message: e.to_string(),
    })
}

fn internal(path: &Path, e: &crate::DataError) -> CsvError {
    CsvError::Parse {
        path: path.to_path_buf(),
        line: 0,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("linreg-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn cols(targets: &[&str], features: Option<&[&str]>) -> Columns {
        Columns {
            targets: targets.iter().map(|s| s.to_string()).collect(),
            features: features.map(|f| f.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn reads_chosen_columns_into_contiguous_matrices() {
        let p = write("ok.csv", "id,a,b,name,y\n1,0.5,2,x,3\n2,1.5,4,z,7\n");
        let t = read_table(&p, &cols(&["y"], Some(&["b", "a"])), &CsvOptions::default()).unwrap();
        assert_eq!(t.features, ["b", "a"]);
        assert_eq!(t.data.x.values(), &[2.0, 0.5, 4.0, 1.5]);
        assert_eq!(t.data.y.values(), &[3.0, 7.0]);
        // Default features: every other numeric column (the text column is skipped).
        let t = read_table(&p, &cols(&["y"], None), &CsvOptions::default()).unwrap();
        assert_eq!(t.features, ["id", "a", "b"]);
    }

    #[test]
    fn delimiter_is_sniffed() {
        assert_eq!(sniff_delimiter("a;b;c"), b';');
        assert_eq!(sniff_delimiter("a\tb"), b'\t');
        assert_eq!(sniff_delimiter("a,b;c,d"), b',');
        assert_eq!(sniff_delimiter("single"), b',');
        let p = write("semi.csv", "a;y\n1,5;2\n");
        // A semicolon file with decimal commas would not parse; plain numbers do.
        let err = read_table(&p, &cols(&["y"], None), &CsvOptions::default()).unwrap_err();
        assert!(
            err.to_string().contains("no numeric feature column"),
            "{err}"
        );
        let p = write("semi2.csv", "a;y\n1.5;2\n");
        let t = read_table(&p, &cols(&["y"], None), &CsvOptions::default()).unwrap();
        assert_eq!(t.data.x.values(), &[1.5]);
    }

    #[test]
    fn every_bad_input_names_file_line_and_column() {
        let o = CsvOptions::default();
        let c = cols(&["y"], Some(&["a"]));
        let cases: &[(&str, &str, &str)] = &[
            ("empty.csv", "", "is empty"),
            ("header.csv", "a,y\n", "has a header row but no data rows"),
            (
                "ragged.csv",
                "a,y\n1,2\n3\n",
                "line 3: 1 fields, but the header has 2",
            ),
            (
                "text.csv",
                "a,y\n1,2\nabc,3\n",
                "line 3, column 'a': 'abc' is not a number",
            ),
            ("blank.csv", "a,y\n1,\n", "line 2, column 'y': empty cell"),
            (
                "nan.csv",
                "a,y\nNaN,1\n",
                "line 2, column 'a': NaN is not allowed",
            ),
            (
                "inf.csv",
                "a,y\n1,inf\n",
                "line 2, column 'y': inf is not allowed",
            ),
            (
                "dup.csv",
                "a,a,y\n1,2,3\n",
                "column 'a' appears twice in the header",
            ),
        ];
        for (name, text, needle) in cases {
            let p = write(name, text);
            let err = read_table(&p, &c, &o).unwrap_err().to_string();
            assert!(err.contains(needle), "{name}: {err}");
            assert!(err.contains(name), "{name}: the file is named: {err}");
        }
        let p = write("cols.csv", "a,b,y\n1,2,3\n");
        let err = read_table(&p, &cols(&["z"], None), &o)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("has no column 'z'; its columns are: a, b, y"),
            "{err}"
        );
        let err = read_table(&p, &cols(&["y"], Some(&["a", "a"])), &o)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("column 'a' is named twice in --features"),
            "{err}"
        );
        let err = read_table(&p, &cols(&["y"], Some(&["a", "y"])), &o)
            .unwrap_err()
            .to_string();
        assert!(err.contains("'y' is both a target and a feature"), "{err}");
        let missing = std::env::temp_dir().join("linreg-no-such-file.csv");
        let err = read_table(&missing, &c, &o).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot read") && err.contains("linreg-no-such-file.csv"),
            "{err}"
        );
    }

    #[test]
    fn prediction_columns_are_appended_to_the_original_rows() {
        let p = write("append.csv", "name;a;y\nfirst;1;2\nsecond;3;4\n");
        let extra = Matrix::new(2, 1, vec![2.5, 4.5]).unwrap();
        let mut out = Vec::new();
        write_with_columns(
            &p,
            &CsvOptions::default(),
            &["y_pred".into()],
            &extra,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name;a;y;y_pred\nfirst;1;2;2.5\nsecond;3;4;4.5\n"
        );
    }

    #[test]
    fn blank_lines_are_skipped() {
        let p = write("blank-lines.csv", "a,y\n1,2\n\n3,4\n");
        let t = read_table(&p, &cols(&["y"], None), &CsvOptions::default()).unwrap();
        assert_eq!(t.data.len(), 2);
    }
}
