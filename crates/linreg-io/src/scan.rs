//! Reading a [`Source`]: whole, in parallel (no order), or streamed in a chosen order.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

use arrow_array::{Array, RecordBatch};
use linreg_data::{Dataset, Matrix, Table};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::ProjectionMask;

use crate::chunk::{values, Chunk, Element, Origin};
use crate::{Format, IoError, Selected, Source};

/// A piece of a Parquet source read on its own: a row group, or a run of at most
/// [`ScanOptions::unit_rows`] rows of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// Index of the file in [`Source::files`].
    pub file: usize,
    /// Row group within the file.
    pub row_group: usize,
    /// Index of the first row in the whole source.
    pub first_row: u64,
    /// Index of the first row within its file.
    pub file_row: u64,
    /// Rows of the row group skipped before this unit.
    pub offset: u64,
    /// Rows in this unit.
    pub rows: u64,
}

/// How to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanOptions {
    /// Reading threads; 0 for one per core.
    pub threads: usize,
    /// Rows per record batch (Parquet) or chunk (CSV): large batches amortize the per-batch
    /// work; memory holds about `threads × batch_rows × columns` values.
    pub batch_rows: usize,
    /// Most rows a Parquet unit holds (row groups larger than this are read in runs of
    /// rows), which bounds what [`Source::stream`] holds ahead.
    pub unit_rows: u64,
    /// Units [`Source::stream`] reads ahead of the consumer; 0 for one per thread.
    pub read_ahead: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            threads: 0,
            batch_rows: 1 << 16,
            unit_rows: 1 << 20,
            read_ahead: 0,
        }
    }
}

impl ScanOptions {
    /// Threads to use.
    pub fn threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    fn read_ahead(&self) -> usize {
        if self.read_ahead > 0 {
            self.read_ahead
        } else {
            self.threads()
        }
    }
}

impl Source {
    /// The pieces a scan reads independently: Parquet row groups, cut into runs of at most
    /// `unit_rows` rows, in file order. CSV sources have none (they are read front to back).
    pub fn units_of(&self, unit_rows: u64) -> Vec<Unit> {
        let unit_rows = unit_rows.max(1);
        let mut units = Vec::new();
        let mut first_row = 0u64;
        for (file, m) in self.metadata().iter().enumerate() {
            let mut file_row = 0u64;
            for (row_group, rg) in m.metadata().row_groups().iter().enumerate() {
                let total = rg.num_rows().max(0) as u64;
                let mut offset = 0;
                while offset < total {
                    let rows = unit_rows.min(total - offset);
                    units.push(Unit {
                        file,
                        row_group,
                        first_row,
                        file_row,
                        offset,
                        rows,
                    });
                    offset += rows;
                    first_row += rows;
                    file_row += rows;
                }
            }
        }
        units
    }

    /// Hands every row of the selected columns to `f`, a [`Chunk`] at a time, with one state
    /// per reading thread (made by `init`); returns the states. Chunks come in no particular
    /// order (each knows its [`first_row`](Chunk::first_row)).
    ///
    /// Parquet: the units (row groups) are spread over `threads` threads, each reading its
    /// unit with the selected columns only and batches of `batch_rows` rows, and calling `f`
    /// on that thread; `f32`/`f64` columns are borrowed from the decoded pages. CSV: the
    /// files are parsed on every core, in order, and `f` runs on this thread with one state.
    ///
    /// The first error — the reader's, or `f`'s — stops every thread and is returned.
    pub fn scan<T, S, E>(
        &self,
        selected: &Selected,
        options: &ScanOptions,
        init: impl Fn() -> S + Sync,
        f: impl Fn(&mut S, &Chunk<'_, T>) -> Result<(), E> + Sync,
    ) -> Result<Vec<S>, E>
    where
        T: Element,
        S: Send,
        E: From<IoError> + Send,
    {
        if self.format() == Format::Csv {
            let mut state = init();
            self.stream_csv(selected, options, &mut |c| f(&mut state, c))?;
            return Ok(vec![state]);
        }
        let units = self.units_of(options.unit_rows);
        let threads = options.threads().min(units.len()).max(1);
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let names = selected.names();
        let counts = selected.counts();
        let meta = self.metadata();
        let results: Vec<Result<S, (usize, E)>> = std::thread::scope(|s| {
            let work = || -> Result<S, (usize, E)> {
                let mut state = init();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(unit) = units.get(i) else { break };
                    let path = &self.files()[unit.file];
                    let r = read_unit(
                        &meta[unit.file],
                        path,
                        unit,
                        &names,
                        options.batch_rows,
                        |batch, at| {
                            with_chunk::<T, _>(batch, unit, at, path, &names, counts, |c| {
                                f(&mut state, c)
                            })
                        },
                    );
                    if let Err(e) = r {
                        stop.store(true, Ordering::Relaxed);
                        return Err((i, e));
                    }
                }
                Ok(state)
            };
            let handles: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
            let mut out = vec![work()];
            out.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
            );
            out
        });
        // The error of the earliest unit, so the message does not depend on thread timing
        // more than it must.
        let mut states = Vec::with_capacity(results.len());
        let mut first_err: Option<(usize, E)> = None;
        for r in results {
            match r {
                Ok(s) => states.push(s),
                Err((i, e)) => {
                    if first_err.as_ref().is_none_or(|(j, _)| i < *j) {
                        first_err = Some((i, e));
                    }
                }
            }
        }
        match first_err {
            Some((_, e)) => Err(e),
            None => Ok(states),
        }
    }

    /// Hands every row of the selected columns to `f` on this thread, in order: Parquet units
    /// in the order `order` gives (indices into [`Source::units_of`] with
    /// `options.unit_rows`; `None` for file order), read ahead by `options.threads` threads
    /// (at most `read_ahead` units ahead of `f`); CSV files front to back (`order` must be
    /// `None`: a text file has no units to reorder).
    pub fn stream<T, E>(
        &self,
        selected: &Selected,
        options: &ScanOptions,
        order: Option<&[usize]>,
        mut f: impl FnMut(&Chunk<'_, T>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        T: Element,
        E: From<IoError> + Send,
    {
        if self.format() == Format::Csv {
            if order.is_some() {
                return Err(E::from(IoError::Stopped(
                    "CSV files are read front to back; only Parquet row groups can be reordered"
                        .into(),
                )));
            }
            return self.stream_csv(selected, options, &mut f);
        }
        let units = self.units_of(options.unit_rows);
        let order: Vec<usize> = match order {
            Some(o) => o.to_vec(),
            None => (0..units.len()).collect(),
        };
        if let Some(&bad) = order.iter().find(|&&i| i >= units.len()) {
            return Err(E::from(IoError::Stopped(format!(
                "unit {bad} does not exist: the source has {} units",
                units.len()
            ))));
        }
        let names = selected.names();
        let counts = selected.counts();
        let meta = self.metadata();
        let threads = options.threads().min(order.len()).max(1);
        let ahead = options.read_ahead();
        let next = AtomicUsize::new(0);
        // Units handed to `f` so far: a reader waits until its unit is within `ahead` of it.
        let consumed = (Mutex::new(0usize), Condvar::new());
        let stop = AtomicBool::new(false);
        type Batches = Result<Vec<RecordBatch>, IoError>;
        std::thread::scope(|s| {
            let (tx, rx) = mpsc::channel::<(usize, Batches)>();
            for _ in 0..threads {
                let tx = tx.clone();
                let (next, consumed, stop, order, units, names) =
                    (&next, &consumed, &stop, &order, &units, &names);
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= order.len() {
                        break;
                    }
                    {
                        let (lock, cv) = consumed;
                        let mut done = lock.lock().unwrap_or_else(|e| e.into_inner());
                        while i >= *done + ahead && !stop.load(Ordering::Relaxed) {
                            done = cv.wait(done).unwrap_or_else(|e| e.into_inner());
                        }
                    }
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let unit = &units[order[i]];
                    let path = &self.files()[unit.file];
                    let mut batches = Vec::new();
                    let r = read_unit(
                        &meta[unit.file],
                        path,
                        unit,
                        names,
                        options.batch_rows,
                        |b, _| {
                            batches.push(b.clone());
                            Ok::<(), IoError>(())
                        },
                    );
                    if tx.send((i, r.map(|()| batches))).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let finish = |stop: &AtomicBool| {
                stop.store(true, Ordering::Relaxed);
                consumed.1.notify_all();
            };
            let mut waiting = BTreeMap::new();
            let mut expected = 0usize;
            for (i, batches) in rx.iter() {
                waiting.insert(i, batches);
                while let Some(batches) = waiting.remove(&expected) {
                    let unit = &units[order[expected]];
                    let path = &self.files()[unit.file];
                    let batches = match batches {
                        Ok(b) => b,
                        Err(e) => {
                            finish(&stop);
                            return Err(E::from(e));
                        }
                    };
                    let mut at = 0u64;
                    for b in &batches {
                        let r = with_chunk::<T, _>(b, unit, at, path, &names, counts, &mut f);
                        at += b.num_rows() as u64;
                        if let Err(e) = r {
                            finish(&stop);
                            return Err(e);
                        }
                    }
                    expected += 1;
                    *consumed.0.lock().unwrap_or_else(|e| e.into_inner()) = expected;
                    consumed.1.notify_all();
                }
            }
            Ok(())
        })
    }

    fn stream_csv<T, E>(
        &self,
        selected: &Selected,
        options: &ScanOptions,
        f: &mut dyn FnMut(&Chunk<'_, T>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        T: Element,
        E: From<IoError>,
    {
        let columns = selected.csv_columns();
        let names = selected.names();
        let counts = selected.counts();
        let mut offset = 0u64;
        for path in self.files() {
            let mut failed = None;
            let mut rows_here = 0u64;
            linreg_data::read_table_chunks::<T>(
                path,
                &columns,
                self.csv_options(),
                options.batch_rows,
                |first, data| {
                    rows_here = first + data.len() as u64;
                    let cols = transpose(&data);
                    let refs: Vec<&[T]> = cols.iter().map(|c| &c[..]).collect();
                    let origin = Origin {
                        path,
                        row_group: None,
                        file_row: first,
                        names: &names,
                        unit_first_row: 0,
                    };
                    match f(&Chunk::new(offset + first, &refs, counts, origin)) {
                        Ok(()) => ControlFlow::Continue(()),
                        Err(e) => {
                            failed = Some(e);
                            ControlFlow::Break(())
                        }
                    }
                },
            )
            .map_err(|e| E::from(IoError::from(e)))?;
            if let Some(e) = failed {
                return Err(e);
            }
            offset += rows_here;
        }
        Ok(())
    }

    /// Reads the selected columns into one [`Table`], in order: features in `data.x`,
    /// targets (then the weight column, if selected) in `data.y`.
    pub fn read_all<T: Element>(&self, selected: &Selected) -> Result<Table<T>, IoError> {
        let (p, k) = (
            selected.features().len(),
            selected.targets().len()
                + usize::from(selected.weights().is_some())
                + usize::from(selected.folds().is_some()),
        );
        let options = ScanOptions::default();
        let (mut x, mut y) = (Vec::new(), Vec::new());
        if let Some(rows) = self.rows()? {
            let rows = usize::try_from(rows).unwrap_or(usize::MAX);
            x.reserve(rows.saturating_mul(p));
            y.reserve(rows.saturating_mul(k));
        }
        let mut n = 0usize;
        self.stream::<T, IoError>(selected, &options, None, |c| {
            if c.rows() == 0 {
                return Ok(());
            }
            c.check_finite()?;
            let cols = c.columns();
            for r in 0..c.rows() {
                x.extend(cols[..p].iter().map(|col| col[r]));
                y.extend(cols[p..].iter().map(|col| col[r]));
            }
            n += c.rows();
            Ok(())
        })?;
        if n == 0 {
            return Err(IoError::NoRows(self.spec().display().to_string()));
        }
        let bad = |e: linreg_data::DataError| IoError::read(self.spec(), e);
        Ok(Table {
            data: Dataset::new(
                Matrix::new(n, p, x).map_err(bad)?,
                Matrix::new(n, k, y).map_err(bad)?,
            )
            .map_err(bad)?,
            features: selected.features().to_vec(),
            targets: selected
                .targets()
                .iter()
                .cloned()
                .chain(selected.weights().map(String::from))
                .chain(selected.folds().map(String::from))
                .collect(),
        })
    }
}

/// Row-major features and targets, column by column.
fn transpose<T: Element>(data: &Dataset<T>) -> Vec<Vec<T>> {
    let mut cols = Vec::with_capacity(data.x.cols() + data.y.cols());
    for m in [&data.x, &data.y] {
        for j in 0..m.cols() {
            cols.push(
                m.values()
                    .iter()
                    .skip(j)
                    .step_by(m.cols())
                    .copied()
                    .collect(),
            );
        }
    }
    cols
}

/// Reads one unit's selected columns, batch by batch: `f(batch, rows before it in the unit)`.
fn read_unit<E: From<IoError>>(
    meta: &ArrowReaderMetadata,
    path: &Path,
    unit: &Unit,
    names: &[String],
    batch_rows: usize,
    mut f: impl FnMut(&RecordBatch, u64) -> Result<(), E>,
) -> Result<(), E> {
    let schema = meta.schema();
    let roots: Vec<usize> = names
        .iter()
        .map(|n| {
            schema.index_of(n).map_err(|_| IoError::UnknownColumn {
                path: path.to_path_buf(),
                column: n.clone(),
                available: schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        })
        .collect::<Result<_, _>>()?;
    let file = std::fs::File::open(path).map_err(|e| IoError::read(path, e))?;
    let total = meta.metadata().row_group(unit.row_group).num_rows().max(0) as u64;
    let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
        .with_projection(ProjectionMask::roots(meta.parquet_schema(), roots))
        .with_row_groups(vec![unit.row_group])
        .with_batch_size(batch_rows.max(1));
    if unit.offset > 0 || unit.rows < total {
        builder = builder.with_row_selection(RowSelection::from(vec![
            RowSelector::skip(unit.offset as usize),
            RowSelector::select(unit.rows as usize),
        ]));
    }
    let reader = builder.build().map_err(|e| IoError::parquet(path, e))?;
    let mut at = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| IoError::parquet(path, e))?;
        f(&batch, at)?;
        at += batch.num_rows() as u64;
    }
    Ok(())
}

/// The batch's selected columns as a [`Chunk`] for `f`: nulls are refused, other numeric
/// types converted, `T` columns borrowed.
fn with_chunk<T: Element, E: From<IoError>>(
    batch: &RecordBatch,
    unit: &Unit,
    at: u64,
    path: &Path,
    names: &[String],
    counts: (usize, usize, bool),
    f: impl FnOnce(&Chunk<'_, T>) -> Result<(), E>,
) -> Result<(), E> {
    let mut cols: Vec<Cow<'_, [T]>> = Vec::with_capacity(names.len());
    for name in names {
        let array = batch
            .column_by_name(name)
            .ok_or_else(|| IoError::UnknownColumn {
                path: path.to_path_buf(),
                column: name.clone(),
                available: batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        // `values()` ignores the validity mask: a null would read as whatever bytes lie there.
        if array.null_count() > 0 {
            let first = array
                .nulls()
                .and_then(|n| n.iter().position(|valid| !valid))
                .unwrap_or(0);
            return Err(E::from(IoError::Null {
                path: path.to_path_buf(),
                row_group: unit.row_group,
                column: name.clone(),
                row: unit.file_row + at + first as u64,
            }));
        }
        cols.push(
            values::<T>(array.as_ref()).map_err(|kind| IoError::NotNumeric {
                path: path.to_path_buf(),
                column: name.clone(),
                kind,
            })?,
        );
    }
    let refs: Vec<&[T]> = cols.iter().map(|c| &c[..]).collect();
    let origin = Origin {
        path,
        row_group: Some(unit.row_group),
        file_row: unit.file_row + at,
        names,
        unit_first_row: unit.first_row,
    };
    f(&Chunk::new(unit.first_row + at, &refs, counts, origin))
}
