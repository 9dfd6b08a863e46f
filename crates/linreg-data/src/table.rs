//! Reading CSV tables into contiguous matrices, with errors that name the file, line and column.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};

use crate::{Dataset, Matrix, Real};

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
pub struct Table<T = f32> {
    /// Features and targets (targets has zero columns when none were asked for).
    pub data: Dataset<T>,
    /// Feature column names, in matrix order.
    pub features: Vec<String>,
    /// Target column names, in matrix order.
    pub targets: Vec<String>,
}

/// How a CSV file is compressed, judged by its name: `.gz` (gzip) or `.zst`/`.zstd`
/// (Zstandard); anything else is plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain text.
    None,
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard (`.zst`, `.zstd`).
    Zstd,
}

impl Compression {
    /// The compression `path`'s extension names.
    pub fn of(path: &Path) -> Self {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("gz") => Self::Gzip,
            Some("zst" | "zstd") => Self::Zstd,
            _ => Self::None,
        }
    }
}

/// Opens `path` for reading, decompressing `.gz` and `.zst` files on the fly (several gzip
/// members, as `cat a.gz b.gz` makes, are read one after the other).
pub fn open_input(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    let file = File::open(path)?;
    Ok(match Compression::of(path) {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 20,
            file,
        ))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(file)?),
    })
}

/// Skips the first `n` bytes of `input` (a decompressed stream cannot seek).
fn skip(input: &mut dyn Read, n: u64) -> std::io::Result<()> {
    let skipped = std::io::copy(&mut input.take(n), &mut std::io::sink())?;
    if skipped < n {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the file ended early (did it change while being read?)",
        ));
    }
    Ok(())
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
    let mut reader = BufReader::with_capacity(1 << 20, open_input(path).map_err(io)?);
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

/// Parses one cell as a finite number, or says what is wrong with it.
///
/// Surrounding whitespace is ignored; the number is read as Rust's `str::parse` reads it
/// (correctly rounded), by `lexical-core`, which is about 1.5× faster on table cells.
pub fn parse_cell<T: Real>(cell: &[u8]) -> Result<T, String> {
    // Trimming is only needed when an edge byte is whitespace (or may start a Unicode space).
    let edge = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii_whitespace() || b >= 0x80);
    let trimmed;
    let bytes = if edge(cell.first()) || edge(cell.last()) {
        let text =
            std::str::from_utf8(cell).map_err(|_| "the cell is not valid UTF-8".to_string())?;
        trimmed = text.trim();
        trimmed.as_bytes()
    } else {
        cell
    };
    if bytes.is_empty() {
        return Err("empty cell; every used cell needs a number".into());
    }
    match T::parse_bytes(bytes) {
        Some(v) if v.is_finite() => Ok(v),
        Some(v) => Err(format!(
            "{v} is not allowed; values must be finite numbers (remove or impute the row)"
        )),
        None => match std::str::from_utf8(bytes) {
            Ok(text) => Err(format!("'{text}' is not a number")),
            Err(_) => Err("the cell is not valid UTF-8".to_string()),
        },
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

/// Reads the chosen columns of `path` into one contiguous row-major `f32` buffer per matrix.
///
/// See [`read_table_as`], which reads `f64` too.
pub fn read_table(path: &Path, columns: &Columns, options: &CsvOptions) -> Result<Table, CsvError> {
    read_table_as::<f32>(path, columns, options)
}

/// Bytes of the file each thread parses at a time.
const BLOCK_BYTES: usize = 1 << 21;

/// Reads the chosen columns of `path` into one contiguous row-major buffer per matrix, in the
/// precision asked for (`f32` to train, `f64` for statistics; each cell is rounded once, from its
/// decimal text).
///
/// The header and the first data row go through the `csv` crate (they decide the columns); the
/// rows after them are cut into blocks at line ends and parsed on every core, straight into the
/// buffers, with no per-row allocation. A file with quoted fields, or with lines ended by a bare
/// `\r`, is read on one core by the `csv` crate instead, from the first block that needs it.
/// Either way the values, and the line named by an error, are the same.
pub fn read_table_as<T: Real>(
    path: &Path,
    columns: &Columns,
    options: &CsvOptions,
) -> Result<Table<T>, CsvError> {
    read_table_in_blocks(path, columns, options, BLOCK_BYTES)
}

/// [`read_table_as`] with blocks of `block_bytes` (tests use tiny blocks to cross many edges).
fn read_table_in_blocks<T: Real>(
    path: &Path,
    columns: &Columns,
    options: &CsvOptions,
    block_bytes: usize,
) -> Result<Table<T>, CsvError> {
    let plan = Plan::new::<T>(path, columns, options)?;
    let layout = plan.layout();
    let mut rows = Rows::<T>::new(layout.nf, layout.nt);
    read_rows(
        path,
        &layout,
        plan.start,
        plan.terminator,
        block_bytes,
        &mut rows,
    )?;
    let Rows {
        mut x,
        mut y,
        count,
        ..
    } = rows;
    x.shrink_to_fit();
    y.shrink_to_fit();
    let data = Dataset::new(
        Matrix::new(count, layout.nf, x).map_err(|e| internal(path, &e))?,
        Matrix::new(count, layout.nt, y).map_err(|e| internal(path, &e))?,
    )
    .map_err(|e| internal(path, &e))?;
    let (features, targets) = plan.column_names();
    Ok(Table {
        data,
        features,
        targets,
    })
}

/// Reads the chosen columns of `path` as [`read_table_as`] does, but hands the rows to `f` in
/// file order, a chunk of at least `chunk_rows` rows at a time (the last may be shorter), so a
/// table of any size passes through a bounded amount of memory. Each chunk is a [`Dataset`]
/// (row-major features and targets) with the index of its first data row in the file.
///
/// `f` returns [`ControlFlow::Break`] to stop reading early (the function then returns
/// `Ok`). Returns the feature and target column names, as [`Table`] names them. A bad cell is
/// an error naming its line, as with [`read_table_as`]; the chunks before it have been handed
/// over by then.
///
/// ```
/// use std::ops::ControlFlow;
/// use linreg_data::{table::read_table_chunks, Columns, CsvOptions};
///
/// let path = std::env::temp_dir().join(format!("linreg-doc-chunks-{}.csv", std::process::id()));
/// std::fs::write(&path, "x,y\n1,2\n3,4\n5,6\n")?;
/// let columns = Columns { targets: vec!["y".into()], features: None };
/// let mut seen = Vec::new();
/// let (features, _) = read_table_chunks::<f64>(&path, &columns, &CsvOptions::default(), 2, |first, chunk| {
///     seen.push((first, chunk.len()));
///     ControlFlow::Continue(())
/// })?;
/// assert_eq!((features, seen), (vec!["x".to_string()], vec![(0, 3)]));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_table_chunks<T: Real>(
    path: &Path,
    columns: &Columns,
    options: &CsvOptions,
    chunk_rows: usize,
    f: impl FnMut(u64, Dataset<T>) -> ControlFlow<()>,
) -> Result<(Vec<String>, Vec<String>), CsvError> {
    read_chunks_in_blocks(path, columns, options, chunk_rows, BLOCK_BYTES, f)
}

fn read_chunks_in_blocks<T: Real>(
    path: &Path,
    columns: &Columns,
    options: &CsvOptions,
    chunk_rows: usize,
    block_bytes: usize,
    f: impl FnMut(u64, Dataset<T>) -> ControlFlow<()>,
) -> Result<(Vec<String>, Vec<String>), CsvError> {
    let plan = Plan::new::<T>(path, columns, options)?;
    let layout = plan.layout();
    let mut chunks = Chunks {
        rows: Rows::new(layout.nf, layout.nt),
        chunk_rows: chunk_rows.max(1),
        first: 0,
        stopped: false,
        f,
    };
    read_rows(
        path,
        &layout,
        plan.start,
        plan.terminator,
        block_bytes,
        &mut chunks,
    )?;
    let _ = chunks.flush();
    Ok(plan.column_names())
}

/// What reading a file needs to know, from its header and first data row.
struct Plan {
    names: Vec<String>,
    feature_idx: Vec<usize>,
    target_idx: Vec<usize>,
    delimiter: u8,
    /// Byte offset and 1-based line of the first data row.
    start: (u64, u64),
    terminator: u8,
}

impl Plan {
    fn new<T: Real>(
        path: &Path,
        columns: &Columns,
        options: &CsvOptions,
    ) -> Result<Self, CsvError> {
        let (mut reader, delimiter) = open(path, options)?;
        let names = headers(&mut reader, path)?;
        no_repeats(&columns.targets, "--target")?;
        let target_idx: Vec<usize> = columns
            .targets
            .iter()
            .map(|t| index_of(&names, t, path))
            .collect::<Result<_, _>>()?;

        let mut first = csv::ByteRecord::new();
        if !reader
            .read_byte_record(&mut first)
            .map_err(|e| parse_error(path, &e))?
        {
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
                .filter(|&i| first.get(i).is_some_and(|c| parse_cell::<T>(c).is_ok()))
                .collect(),
        };
        if feature_idx.is_empty() {
            return Err(CsvError::NoFeatures(path.to_path_buf()));
        }
        let start_byte = first.position().map_or(0, |p| p.byte());
        drop(reader);
        // The csv crate's line numbers skip blank lines and `\r\n` ends, so lines are counted here.
        // A header ended by a bare `\r` means the file's lines are; the block reader splits on `\n`.
        let head = read_head(path, start_byte)?;
        let terminator = if head.ends_with(b"\r") && !head.contains(&b'\n') {
            b'\r'
        } else {
            b'\n'
        };
        let start_line = 1 + memchr::memchr_iter(terminator, &head).count() as u64;

        Ok(Self {
            names,
            feature_idx,
            target_idx,
            delimiter,
            start: (start_byte, start_line),
            terminator,
        })
    }

    fn layout(&self) -> Layout<'_> {
        Layout::new(
            &self.names,
            &self.feature_idx,
            &self.target_idx,
            self.delimiter,
        )
    }

    fn column_names(&self) -> (Vec<String>, Vec<String>) {
        let pick = |idx: &[usize]| idx.iter().map(|&i| self.names[i].clone()).collect();
        (pick(&self.feature_idx), pick(&self.target_idx))
    }
}

/// Where parsed rows go, in file order: one growing table, or chunks handed to a caller.
trait Sink<T> {
    /// A hint that about `rows` rows will follow.
    fn reserve_rows(&mut self, _rows: usize) {}
    /// The rows of the next block; `Break` stops the reading.
    fn take(&mut self, rows: &Rows<T>) -> ControlFlow<()>;
}

impl<T: Real> Sink<T> for Rows<T> {
    fn reserve_rows(&mut self, rows: usize) {
        Rows::reserve_rows(self, rows);
    }
    fn take(&mut self, rows: &Rows<T>) -> ControlFlow<()> {
        self.append(rows);
        ControlFlow::Continue(())
    }
}

/// Gathers blocks into chunks of at least `chunk_rows` rows for `f`.
struct Chunks<T, F> {
    rows: Rows<T>,
    chunk_rows: usize,
    /// Index of the first row in `rows`.
    first: u64,
    stopped: bool,
    f: F,
}

impl<T: Real, F: FnMut(u64, Dataset<T>) -> ControlFlow<()>> Chunks<T, F> {
    fn flush(&mut self) -> ControlFlow<()> {
        if self.stopped {
            return ControlFlow::Break(());
        }
        if self.rows.count == 0 {
            return ControlFlow::Continue(());
        }
        let (nf, nt) = (self.rows.nf, self.rows.nt);
        let rows = std::mem::replace(&mut self.rows, Rows::new(nf, nt));
        let count = rows.count;
        let data = Dataset {
            x: Matrix {
                rows: count,
                cols: nf,
                values: rows.x,
            },
            y: Matrix {
                rows: count,
                cols: nt,
                values: rows.y,
            },
        };
        let first = self.first;
        self.first += count as u64;
        let flow = (self.f)(first, data);
        self.stopped = flow.is_break();
        flow
    }
}

impl<T: Real, F: FnMut(u64, Dataset<T>) -> ControlFlow<()>> Sink<T> for Chunks<T, F> {
    fn take(&mut self, rows: &Rows<T>) -> ControlFlow<()> {
        if self.stopped {
            return ControlFlow::Break(());
        }
        self.rows.append(rows);
        if self.rows.count >= self.chunk_rows {
            self.flush()
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// Where each column of the file goes.
struct Layout<'a> {
    names: &'a [String],
    /// Per file column: `Some((is_target, position))` for a used column.
    slots: Vec<Option<(bool, usize)>>,
    nf: usize,
    nt: usize,
    delimiter: u8,
}

impl<'a> Layout<'a> {
    fn new(names: &'a [String], features: &[usize], targets: &[usize], delimiter: u8) -> Self {
        let mut slots = vec![None; names.len()];
        for (pos, &i) in features.iter().enumerate() {
            slots[i] = Some((false, pos));
        }
        for (pos, &i) in targets.iter().enumerate() {
            slots[i] = Some((true, pos));
        }
        Self {
            names,
            slots,
            nf: features.len(),
            nt: targets.len(),
            delimiter,
        }
    }
}

/// The matrices being filled.
struct Rows<T> {
    x: Vec<T>,
    y: Vec<T>,
    count: usize,
    nf: usize,
    nt: usize,
}

impl<T: Real> Rows<T> {
    fn new(nf: usize, nt: usize) -> Self {
        Self {
            x: Vec::new(),
            y: Vec::new(),
            count: 0,
            nf,
            nt,
        }
    }

    /// Makes room for about `rows` more rows. Untouched capacity costs address space, not
    /// memory, so a generous guess is cheap and saves the copies of repeated doubling.
    fn reserve_rows(&mut self, rows: usize) {
        self.x.reserve(rows.saturating_mul(self.nf));
        self.y.reserve(rows.saturating_mul(self.nt));
    }

    fn append(&mut self, other: &Rows<T>) {
        self.x.extend_from_slice(&other.x);
        self.y.extend_from_slice(&other.y);
        self.count += other.count;
    }
}

/// A problem on one line of a block, before the file's line number is known.
enum LineProblem {
    Ragged { found: usize },
    BadCell { column: usize, problem: String },
}

impl LineProblem {
    fn into_error(self, path: &Path, layout: &Layout, line: u64) -> CsvError {
        match self {
            Self::Ragged { found } => CsvError::Ragged {
                path: path.to_path_buf(),
                line,
                expected: layout.names.len(),
                found,
            },
            Self::BadCell { column, problem } => CsvError::BadCell {
                path: path.to_path_buf(),
                line,
                column: layout.names[column].clone(),
                problem,
            },
        }
    }
}

/// What parsing one block found: its rows, its line count, and the first problem, if any.
struct Parsed<T> {
    rows: Rows<T>,
    lines: u64,
    /// (0-based line within the block, problem); rows before it are in `rows`.
    problem: Option<(u64, LineProblem)>,
}

/// Parses the complete lines in `block` (no quotes, `\n` line ends, `\r\n` allowed).
fn parse_block<T: Real>(block: &[u8], layout: &Layout) -> Parsed<T> {
    let mut rows = Rows::new(layout.nf, layout.nt);
    // Rows of the block, guessed from the first line's length; corrected as it fills.
    let first_len = memchr::memchr(b'\n', block).map_or(block.len(), |i| i + 1);
    rows.reserve_rows(block.len() / first_len.max(1) + 1);
    let mut lines = 0u64;
    let ncols = layout.names.len();
    for line in block.split(|&b| b == b'\n') {
        if line.is_empty() && lines > 0 && line.as_ptr() == block.as_ptr_range().end {
            break; // the split after the block's final `\n`
        }
        let line_no = lines;
        lines += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue; // a blank line, skipped as the csv crate does
        }
        let (bx, by) = (rows.x.len(), rows.y.len());
        rows.x.resize(bx + layout.nf, T::default());
        rows.y.resize(by + layout.nt, T::default());
        let mut field = 0usize;
        let mut problem = None;
        for cell in line.split(|&b| b == layout.delimiter) {
            if let Some(Some((is_target, pos))) = layout.slots.get(field) {
                match parse_cell::<T>(cell) {
                    Ok(v) if *is_target => rows.y[by + pos] = v,
                    Ok(v) => rows.x[bx + pos] = v,
                    Err(p) if problem.is_none() => {
                        problem = Some(LineProblem::BadCell {
                            column: field,
                            problem: p,
                        })
                    }
                    Err(_) => {}
                }
            }
            field += 1;
        }
        // The csv crate checks the width first, so a ragged row is reported as ragged.
        if field != ncols {
            problem = Some(LineProblem::Ragged { found: field });
        }
        if let Some(p) = problem {
            rows.x.truncate(bx);
            rows.y.truncate(by);
            return Parsed {
                rows,
                lines,
                problem: Some((line_no, p)),
            };
        }
        rows.count += 1;
    }
    Parsed {
        rows,
        lines,
        problem: None,
    }
}

/// The first `len` bytes of the file (the header, up to where the data rows start).
fn read_head(path: &Path, len: u64) -> Result<Vec<u8>, CsvError> {
    let mut head = Vec::new();
    open_input(path)
        .and_then(|f| f.take(len).read_to_end(&mut head))
        .map_err(|e| io_error(path, &e))?;
    Ok(head)
}

/// The line on which the record that the csv crate placed at byte `at` really starts, counting
/// from byte `from` on line `line`: line ends before `at`, then the blank lines the csv crate
/// skipped after it. Only called to name the line of an error.
fn line_at(path: &Path, (from, line): (u64, u64), at: u64, terminator: u8) -> u64 {
    let mut bytes = Vec::new();
    let read = open_input(path).and_then(|mut f| {
        skip(&mut f, from)?;
        (&mut f)
            .take(at.saturating_sub(from))
            .read_to_end(&mut bytes)?;
        let mut next = [0u8; 1];
        // The record's own text starts after any line-end bytes.
        while f.read(&mut next)? == 1 && (next[0] == b'\r' || next[0] == b'\n') {
            bytes.push(next[0]);
        }
        Ok(())
    });
    match read {
        Ok(()) => line + memchr::memchr_iter(terminator, &bytes).count() as u64,
        Err(_) => line,
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> CsvError {
    CsvError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Reads the data rows from byte `offset` (which starts line `line`) to the end of the file.
///
/// This thread reads blocks and appends the parsed rows in file order; one worker per core
/// parses blocks meanwhile.
fn read_rows<T: Real>(
    path: &Path,
    layout: &Layout,
    (offset, line): (u64, u64),
    terminator: u8,
    block_bytes: usize,
    rows: &mut dyn Sink<T>,
) -> Result<(), CsvError> {
    // The file's size only guides the first reservation (compressed files hold more).
    let size = std::fs::metadata(path)
        .map_err(|e| io_error(path, &e))?
        .len();
    let mut file = open_input(path).map_err(|e| io_error(path, &e))?;
    skip(&mut file, offset).map_err(|e| io_error(path, &e))?;
    if terminator != b'\n' {
        return read_rows_csv(path, layout, file, (offset, line), terminator, rows);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut blocks = Blocks {
        file,
        offset,
        carry: Vec::new(),
        at_eof: false,
        block_bytes,
    };
    let mut order = InOrder {
        waiting: BTreeMap::new(),
        next: 0,
        next_line: line,
    };
    let (job_tx, job_rx) = mpsc::sync_channel::<(usize, Vec<u8>)>(threads);
    let job_rx = Mutex::new(job_rx);
    let quoted_from = std::thread::scope(|s| -> Result<Option<u64>, CsvError> {
        let (done_tx, done_rx) = mpsc::channel::<(usize, Parsed<T>)>();
        for _ in 0..threads {
            let (job_rx, done_tx) = (&job_rx, done_tx.clone());
            s.spawn(move || loop {
                // The lock is only held to take a job; a closed queue ends the worker.
                let job = job_rx.lock().ok().and_then(|rx| rx.recv().ok());
                let Some((i, block)) = job else { break };
                if done_tx.send((i, parse_block(&block, layout))).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let mut sent = 0usize;
        let mut quoted_from = None;
        while let Some((at, block)) = blocks.next_block().map_err(|e| io_error(path, &e))? {
            if sent == 0 {
                // Rows in the file, guessed from the first block's bytes per row.
                let here = memchr::memchr_iter(b'\n', &block).count().max(1) as u64;
                let per_row = (block.len() as u64 / here).max(1);
                let guess = size.saturating_sub(offset) / per_row * 21 / 20 + 16;
                rows.reserve_rows(usize::try_from(guess).unwrap_or(0));
            }
            // Quoted fields may hold line ends: from a block with a quote on, the csv crate reads.
            if memchr::memchr(b'"', &block).is_some() {
                quoted_from = Some(at);
                break;
            }
            if job_tx.send((sent, block)).is_err() {
                break; // only if every worker died, which the scope reports
            }
            sent += 1;
            order.waiting.extend(done_rx.try_iter());
            if order.append_ready(path, layout, rows)?.is_break() {
                break;
            }
        }
        drop(job_tx);
        while order.next < sent {
            match done_rx.recv() {
                Ok((i, p)) => {
                    order.waiting.insert(i, p);
                    if order.append_ready(path, layout, rows)?.is_break() {
                        break;
                    }
                }
                Err(_) => break, // a worker panicked; the scope re-raises it
            }
        }
        Ok(quoted_from)
    })?;
    if let Some(from) = quoted_from {
        // Back to where that block started, from the top (a decompressed stream cannot seek).
        let mut file = open_input(path).map_err(|e| io_error(path, &e))?;
        skip(&mut file, from).map_err(|e| io_error(path, &e))?;
        return read_rows_csv(
            path,
            layout,
            file,
            (from, order.next_line),
            terminator,
            rows,
        );
    }
    Ok(())
}

/// Parsed blocks waiting until every block before them has been appended.
struct InOrder<T> {
    waiting: BTreeMap<usize, Parsed<T>>,
    /// The block to append next.
    next: usize,
    /// The file line on which that block starts.
    next_line: u64,
}

impl<T: Real> InOrder<T> {
    fn append_ready(
        &mut self,
        path: &Path,
        layout: &Layout,
        rows: &mut dyn Sink<T>,
    ) -> Result<ControlFlow<()>, CsvError> {
        while let Some(p) = self.waiting.remove(&self.next) {
            let (next_line, flow) = take_block(path, layout, p, self.next_line, rows)?;
            self.next_line = next_line;
            self.next += 1;
            if flow.is_break() {
                return Ok(flow);
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// The file cut into blocks that end at line ends.
struct Blocks {
    file: Box<dyn Read + Send>,
    /// Where the next block starts in the file.
    offset: u64,
    /// The start of a line that the last block cut off.
    carry: Vec<u8>,
    at_eof: bool,
    block_bytes: usize,
}

impl Blocks {
    /// The next block and its offset in the file, or `None` at the end.
    fn next_block(&mut self) -> std::io::Result<Option<(u64, Vec<u8>)>> {
        while !self.at_eof {
            let mut block = std::mem::take(&mut self.carry);
            block.reserve_exact(self.block_bytes);
            let want = self.block_bytes as u64;
            // `take` + `read_to_end` fills the block without zeroing it first.
            let got = (&mut self.file).take(want).read_to_end(&mut block)?;
            let end = if got < self.block_bytes {
                self.at_eof = true;
                block.len()
            } else if let Some(end) = memchr::memrchr(b'\n', &block) {
                self.carry = block.split_off(end + 1);
                end + 1
            } else {
                self.carry = block; // a line longer than a block: read on into it
                continue;
            };
            let at = self.offset;
            self.offset += end as u64;
            return Ok(Some((at, block)));
        }
        Ok(None)
    }
}

/// Appends a parsed block, or turns its problem into the error for the file's line.
fn take_block<T: Real>(
    path: &Path,
    layout: &Layout,
    parsed: Parsed<T>,
    first_line: u64,
    rows: &mut dyn Sink<T>,
) -> Result<(u64, ControlFlow<()>), CsvError> {
    // The rows before a problem are handed over first, as the one-core reader would have.
    let flow = rows.take(&parsed.rows);
    if let Some((at, problem)) = parsed.problem {
        return Err(problem.into_error(path, layout, first_line + at));
    }
    Ok((first_line + parsed.lines, flow))
}

/// Reads the rest of `file` (positioned at byte `from`, the start of line `line`) with the csv
/// crate.
fn read_rows_csv<T: Real>(
    path: &Path,
    layout: &Layout,
    file: Box<dyn Read + Send>,
    start: (u64, u64),
    terminator: u8,
    sink: &mut dyn Sink<T>,
) -> Result<(), CsvError> {
    // Rows are handed over a block of them at a time.
    const BATCH: usize = 8192;
    let mut rows = Rows::<T>::new(layout.nf, layout.nt);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(layout.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 20, file));
    let mut record = csv::ByteRecord::new();
    let line_of = |r: &csv::ByteRecord| {
        let at = start.0 + r.position().map_or(0, |p| p.byte());
        line_at(path, start, at, terminator)
    };
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let mut err = parse_error(path, &e);
            if let CsvError::Parse { line, .. } = &mut err {
                *line = line_at(
                    path,
                    start,
                    start.0 + e.position().map_or(0, |p| p.byte()),
                    terminator,
                );
            }
            err
        })?;
        if !more {
            break;
        }
        if record.len() != layout.names.len() {
            // A blank line reads as one empty field: skip it, as most tools do.
            if record.len() == 1 && record[0].is_empty() {
                continue;
            }
            return Err(LineProblem::Ragged {
                found: record.len(),
            }
            .into_error(path, layout, line_of(&record)));
        }
        let (bx, by) = (rows.x.len(), rows.y.len());
        rows.x.resize(bx + layout.nf, T::default());
        rows.y.resize(by + layout.nt, T::default());
        for (i, cell) in record.iter().enumerate() {
            if let Some((is_target, pos)) = layout.slots[i] {
                let v = parse_cell::<T>(cell).map_err(|problem| {
                    LineProblem::BadCell { column: i, problem }.into_error(
                        path,
                        layout,
                        line_of(&record),
                    )
                })?;
                if is_target {
                    rows.y[by + pos] = v;
                } else {
                    rows.x[bx + pos] = v;
                }
            }
        }
        rows.count += 1;
        if rows.count == BATCH {
            let flow = sink.take(&rows);
            rows = Rows::new(layout.nf, layout.nt);
            if flow.is_break() {
                return Ok(());
            }
        }
    }
    let _ = sink.take(&rows);
    Ok(())
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

    /// The rows as the csv crate reads them, one record at a time: the reference the block
    /// reader must equal, whatever its block size.
    fn reference(text: &str, features: &[usize], target: usize) -> (Vec<f64>, Vec<f64>) {
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for rec in r.records() {
            let rec = rec.unwrap();
            if rec.len() == 1 && rec[0].is_empty() {
                continue;
            }
            for &f in features {
                x.push(rec[f].trim().parse::<f64>().unwrap());
            }
            y.push(rec[target].trim().parse::<f64>().unwrap());
        }
        (x, y)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn blocks_of_any_size_read_what_the_csv_crate_reads(
            rows in proptest::collection::vec(
                (-1e6f64..1e6, -50i32..50, 0u8..4, proptest::bool::ANY), 0..120),
            crlf in proptest::bool::ANY,
            quoted_from in proptest::option::of(0usize..120),
            block in 8usize..300,
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("a,name,b,y{end}");
            for (i, (a, b, blank, pad)) in rows.iter().enumerate() {
                if *blank == 0 {
                    text.push_str(end);
                }
                let name = match quoted_from {
                    // A quoted name holding the delimiter and a line end.
                    Some(q) if i >= q => format!("\"n{i},\nx\""),
                    _ => format!("n{i}"),
                };
                let a_text = if *pad { format!("  {a} ") } else { format!("{a}") };
                text.push_str(&format!("{a_text},{name},{b},{}{end}", a * 0.5 - f64::from(*b)));
            }
            let p = write(&format!("prop-{block}-{}.csv", rows.len()), &text);
            let (want_x, want_y) = reference(&text, &[0, 2], 3);
            let c = cols(&["y"], Some(&["a", "b"]));
            let got = read_table_in_blocks::<f64>(&p, &c, &CsvOptions::default(), block);
            if rows.is_empty() {
                proptest::prop_assert!(matches!(got, Err(CsvError::NoRows(_))));
            } else {
                let got = got.unwrap();
                proptest::prop_assert_eq!(got.data.x.values(), &want_x[..]);
                proptest::prop_assert_eq!(got.data.y.values(), &want_y[..]);
                let narrow = read_table_in_blocks::<f32>(&p, &c, &CsvOptions::default(), block)
                    .unwrap();
                let want32: Vec<f32> = want_x.iter().map(|&v| v as f32).collect();
                proptest::prop_assert_eq!(narrow.data.x.values(), &want32[..]);
            }
        }
    }

    /// Every chunk in order, glued back together, with the first-row index of each.
    fn glued(
        path: &Path,
        c: &Columns,
        chunk_rows: usize,
        block: usize,
    ) -> (Dataset<f64>, Vec<(u64, usize)>) {
        let (mut x, mut y, mut seen) = (Vec::new(), Vec::new(), Vec::new());
        let (f, t) = read_chunks_in_blocks::<f64>(
            path,
            c,
            &CsvOptions::default(),
            chunk_rows,
            block,
            |first, d| {
                seen.push((first, d.len()));
                x.extend_from_slice(d.x.values());
                y.extend_from_slice(d.y.values());
                ControlFlow::Continue(())
            },
        )
        .unwrap();
        let n = seen.iter().map(|s| s.1).sum();
        let data = Dataset::new(
            Matrix::new(n, f.len(), x).unwrap(),
            Matrix::new(n, t.len(), y).unwrap(),
        )
        .unwrap();
        (data, seen)
    }

    #[test]
    fn chunks_are_the_table_in_order_plain_gzip_and_zstd() {
        let c = cols(&["y"], None);
        let mut text = String::from("a,b,note,y\n");
        for i in 0..5000 {
            // Quoted text (with a line end) from row 4000 on: the one-core path chunks too.
            let note = if i >= 4000 {
                format!("\"n\n{i}\"")
            } else {
                format!("n{i}")
            };
            text.push_str(&format!("{i},{}.25,{note},{}\n", i % 13, 3 * i));
        }
        let plain = write("chunks.csv", &text);
        let whole = read_table_as::<f64>(&plain, &c, &CsvOptions::default()).unwrap();
        let gz = plain.with_extension("csv.gz");
        let mut enc = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), Default::default());
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap();
        let zst = plain.with_extension("csv.zst");
        std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
        for path in [&plain, &gz, &zst] {
            assert_eq!(
                read_table_as::<f64>(path, &c, &CsvOptions::default()).unwrap(),
                whole
            );
            for (chunk_rows, block) in [(1, 64), (700, 300), (10_000, BLOCK_BYTES)] {
                let (data, seen) = glued(path, &c, chunk_rows, block);
                assert_eq!(data, whole.data, "{path:?} {chunk_rows} {block}");
                let mut next = 0;
                for &(first, len) in &seen {
                    assert_eq!(first, next);
                    assert!(
                        len >= chunk_rows.min(5000 - next as usize) || first + len as u64 == 5000
                    );
                    next += len as u64;
                }
                assert_eq!(next, 5000);
            }
        }
        // Breaking stops the reading.
        let mut calls = 0;
        read_chunks_in_blocks::<f32>(&plain, &c, &CsvOptions::default(), 10, 64, |_, _| {
            calls += 1;
            ControlFlow::Break(())
        })
        .unwrap();
        assert_eq!(calls, 1);
        // A bad cell deep in a compressed file names its line.
        let bad = text.replacen("2500,4.25,n2500,7500", "2500,4.25,n2500,x", 1);
        std::fs::write(&zst, zstd::encode_all(bad.as_bytes(), 3).unwrap()).unwrap();
        let err = read_table_chunks::<f32>(&zst, &c, &CsvOptions::default(), 100, |_, _| {
            ControlFlow::Continue(())
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 2502, column 'y'"), "{err}");
    }

    #[test]
    fn errors_name_the_right_line_across_blocks_and_threads() {
        // 3,000 rows in blocks of 64 bytes: hundreds of blocks, several rounds of threads; with
        // `\n` and `\r\n` ends, blank lines, and quoted text (holding a line end) from row 1000
        // on, which hands the rest of the file to the csv crate.
        let c = cols(&["y"], Some(&["a"]));
        let o = CsvOptions::default();
        for (end, quoted) in [("\n", false), ("\r\n", false), ("\n", true), ("\r\n", true)] {
            let row = |i: usize, cells: &str| {
                let note = if quoted && i >= 1000 {
                    format!("\"note{end}{i}\"")
                } else {
                    format!("n{i}")
                };
                format!("{cells},{note}{end}")
            };
            let mut text = format!("a,y,note{end}");
            // The physical line each row starts on.
            let mut line_of = Vec::new();
            let mut line = 2;
            for i in 0..3000 {
                if i % 7 == 0 {
                    text.push_str(end); // blank lines count as lines
                    line += 1;
                }
                line_of.push(line);
                text.push_str(&row(i, &format!("{i},{}", 2 * i)));
                line += if quoted && i >= 1000 { 2 } else { 1 };
            }
            let good = write("many.csv", &text);
            let t = read_table_in_blocks::<f32>(&good, &c, &o, 64).unwrap();
            assert_eq!(t.data.len(), 3000);
            assert_eq!(t.data.y.values()[2999], 5998.0);
            for (bad, cells, needle) in [
                (
                    2500,
                    "2500,oops".to_string(),
                    "column 'y': 'oops' is not a number",
                ),
                (1234, "1234".to_string(), "2 fields, but the header has 3"),
                (1, "1,2,3".to_string(), "4 fields, but the header has 3"),
                (999, "999, ".to_string(), "column 'y': empty cell"),
            ] {
                let bad_text = text.replacen(
                    &row(bad, &format!("{bad},{}", 2 * bad)),
                    &row(bad, &cells),
                    1,
                );
                let p = write("many-bad.csv", &bad_text);
                for block in [64, 1000, BLOCK_BYTES] {
                    let err = read_table_in_blocks::<f32>(&p, &c, &o, block)
                        .unwrap_err()
                        .to_string();
                    let want = format!("line {}", line_of[bad]);
                    assert!(
                        err.contains(&format!("{want}:")) || err.contains(&format!("{want},")),
                        "{end:?} quoted {quoted} block {block}: want {want}: {err}"
                    );
                    assert!(err.contains(needle), "{err}");
                }
            }
        }
    }

    #[test]
    fn f64_tables_keep_every_digit() {
        let p = write("digits.csv", "x,y\n0.1,1.0000000000000002\n-3.3e-300,7\n");
        let t = read_table_as::<f64>(&p, &cols(&["y"], None), &CsvOptions::default()).unwrap();
        assert_eq!(t.data.x.values(), &[0.1, -3.3e-300]);
        assert_eq!(t.data.y.values(), &[1.000_000_000_000_000_2, 7.0]);
        let t = read_table(&p, &cols(&["y"], None), &CsvOptions::default()).unwrap();
        assert_eq!(t.data.x.values(), &[0.1_f32, -0.0]);
        assert_eq!(t.data.y.values(), &[1.0_f32, 7.0]);
    }

    #[test]
    fn lines_ended_by_a_bare_carriage_return_are_read() {
        let p = write("cr.csv", "a,y\r1,2\r3,4\r");
        let t = read_table(&p, &cols(&["y"], None), &CsvOptions::default()).unwrap();
        assert_eq!(t.data.x.values(), &[1.0, 3.0]);
        let p = write("cr-bad.csv", "a,y\r1,2\r3,x\r");
        let err = read_table(&p, &cols(&["y"], None), &CsvOptions::default()).unwrap_err();
        assert!(err.to_string().contains("line 3, column 'y'"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn cells_parse_as_rust_parses_them(
            text in "[ +-]?[0-9]{0,12}(\\.[0-9]{0,12})?([eE][+-]?[0-9]{1,3})? ?|inf|NaN|-infinity|abc|1e|\\.",
            bits in proptest::num::f64::ANY,
        ) {
            for t in [text.clone(), format!("{bits}"), format!("{:e}", bits), format!("{}", bits as f32)] {
                let want32 = t.trim().parse::<f32>().ok().filter(|v| v.is_finite());
                let want64 = t.trim().parse::<f64>().ok().filter(|v| v.is_finite());
                let got32 = parse_cell::<f32>(t.as_bytes()).ok();
                let got64 = parse_cell::<f64>(t.as_bytes()).ok();
                proptest::prop_assert_eq!(got32.map(f32::to_bits), want32.map(f32::to_bits), "{:?}", t);
                proptest::prop_assert_eq!(got64.map(f64::to_bits), want64.map(f64::to_bits), "{:?}", t);
            }
        }
    }

    #[test]
    fn cells_with_unicode_spaces_and_bad_bytes() {
        assert_eq!(parse_cell::<f32>("\u{a0}2.5\u{2003}".as_bytes()), Ok(2.5));
        assert_eq!(
            parse_cell::<f32>(b"\xff1"),
            Err("the cell is not valid UTF-8".to_string())
        );
        assert_eq!(
            parse_cell::<f64>("½".as_bytes()),
            Err("'½' is not a number".to_string())
        );
    }

    #[test]
    fn blank_lines_are_skipped() {
        let p = write("blank-lines.csv", "a,y\n1,2\n\n3,4\n");
        let t = read_table(&p, &cols(&["y"], None), &CsvOptions::default()).unwrap();
        assert_eq!(t.data.len(), 2);
    }
}
