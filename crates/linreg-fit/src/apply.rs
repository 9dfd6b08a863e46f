//! A saved model applied to a table: [`evaluate`] scores it, [`predict`] writes its
//! predictions beside the rows. A table that fits the memory limit is read whole; a larger
//! one (or, for `predict`, any table that is not one plain CSV file, or a Parquet output) is
//! streamed a chunk at a time.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::Element;
use linreg_atomic::AtomicFile;
use linreg_data::{table::write_with_columns, Columns, CsvError, Matrix, Table};
use linreg_io::{IoError, ParquetWriter, ScanOptions, Selection, Source, WriteOptions};
use linreg_model::LrModel;
use linreg_store::{write_atomic, ModelMeta};
use linreg_stream::{Part, RowSplit, Rows};
use linreg_train::{predict as forward, to_tensor, LossKind, Metrics};

use crate::{ApplySpec, FitError, Result};

/// A saved model and its description.
pub struct LoadedModel<B: Backend> {
    /// The model.
    pub model: LrModel<B>,
    /// `model.json` (or what a `.pth`/`.safetensors` file and the given columns say).
    pub meta: ModelMeta,
}

/// Loads the model `spec` names: a directory a fit wrote, or a PyTorch
/// `.pth`/`.safetensors` file whose columns the spec names.
pub fn load_model<B: Backend>(spec: &ApplySpec, device: &B::Device) -> Result<LoadedModel<B>> {
    let path = &spec.model;
    if !linreg_store::is_weights_path(path) {
        if spec.features.is_some() || spec.targets.is_some() {
            return Err(FitError::Options(format!(
                "--features and --target name the columns of a .pth or .safetensors model; \
                 the model in {} names its own, so leave them out",
                path.display()
            )));
        }
        let (model, meta) = linreg_store::load_model::<B>(path, device)?;
        let model = match spec.alpha {
            Some(alpha) => at_alpha(model, &meta, alpha, path)?,
            None => model,
        };
        return Ok(LoadedModel { model, meta });
    }
    if spec.alpha.is_some() {
        return Err(FitError::Options(format!(
            "--alpha picks a point of a saved path; {} is a weights file without one",
            path.display()
        )));
    }
    let model = linreg_store::load_weights::<B>(path, None, device)?;
    let (d_in, d_out) = (model.d_input(), model.d_output());
    let (Some(features), Some(targets)) = (&spec.features, &spec.targets) else {
        return Err(FitError::Options(format!(
            "{} holds a {d_in}→{d_out} layer but no column names: name its inputs with \
             --features COL,… ({d_in}) and its outputs with --target COL,… ({d_out})",
            path.display()
        )));
    };
    for (option, names, want, what) in [
        ("--features", features, d_in, "inputs"),
        ("--target", targets, d_out, "outputs"),
    ] {
        if names.len() != want {
            return Err(FitError::Options(format!(
                "{option} names {} column(s) but {} has {want} {what}",
                names.len(),
                path.display()
            )));
        }
    }
    let meta = ModelMeta {
        format: linreg_store::MODEL_FORMAT.into(),
        version: linreg_store::MODEL_FORMAT_VERSION,
        config: model.config(),
        record: path.display().to_string(),
        features: features.clone(),
        targets: targets.clone(),
        loss: None,
        standardization: None,
        precision: linreg_store::precision_of::<B>().into(),
        polynomial: None,
        exact: None,
        path: None,
    };
    Ok(LoadedModel { model, meta })
}

/// `model` with the coefficients of its saved path at `alpha`.
fn at_alpha<B: Backend>(
    model: LrModel<B>,
    meta: &ModelMeta,
    alpha: f64,
    path: &Path,
) -> Result<LrModel<B>> {
    let Some(saved) = &meta.path else {
        return Err(FitError::Options(format!(
            "--alpha picks a point of a regularization path, and the model in {} has none; train \
             it with --penalty (and --path or --cv) to save one",
            path.display()
        )));
    };
    let params = saved
        .params_at(alpha)
        .map_err(|e| FitError::Options(e.to_string()))?;
    let (weight, bias) = match meta.standardizer() {
        Some(s) => s.to_model_units(&params.weight, &params.bias),
        None => (params.weight, params.bias),
    };
    let bias = if model.linear.bias.is_some() {
        bias
    } else {
        Vec::new()
    };
    Ok(model.with_params(&linreg_model::LinearParams { weight, bias })?)
}

/// Refuses a model that does not name its columns.
fn named(spec: &ApplySpec, meta: &ModelMeta) -> Result<()> {
    if meta.features.is_empty() || meta.targets.is_empty() {
        return Err(FitError::Input(format!(
            "{} does not name its feature and target columns (it was saved by an older linreg); \
             re-train it to apply it to a table",
            spec.model.join(linreg_store::MODEL_META_FILE).display()
        )));
    }
    Ok(())
}

/// Reads the table's feature columns (and targets, when `with_targets`), with the model's
/// basis and standardization applied.
fn read<T: linreg_io::Element + Element>(
    spec: &ApplySpec,
    meta: &ModelMeta,
    with_targets: bool,
) -> Result<Table<T>> {
    named(spec, meta)?;
    let columns = Columns {
        targets: match with_targets {
            true => meta.targets.clone(),
            false => Vec::new(),
        },
        // A polynomial model reads its one column and makes the powers itself.
        features: Some(match &meta.polynomial {
            Some(p) => vec![p.column.clone()],
            None => meta.features.clone(),
        }),
    };
    let mut t = crate::sources::read_table_as::<T>(&spec.table.data, &columns, &spec.table.csv)?;
    if let Some(p) = &meta.polynomial {
        t.data.x = crate::prepare::expand(&t.data.x, p.degree);
        t.features = meta.features.clone();
    }
    if let Some(s) = meta.standardizer() {
        s.apply(&mut t.data.x);
    }
    Ok(t)
}

/// A model scored on a table.
pub struct Evaluation<B: Backend> {
    /// The model and its description.
    pub loaded: LoadedModel<B>,
    /// Rows scored.
    pub rows: usize,
    /// The model's loss on them, when its loss is known (not for Huber, whose delta is not
    /// saved).
    pub loss: Option<f64>,
    /// MAE, MSE, RMSE and R², overall and per target.
    pub metrics: Metrics,
    /// In memory: the targets as read and the predictions (`None` when streamed).
    pub rows_in_memory: Option<(Matrix, Matrix)>,
}

/// Scores the model of `spec` on its table, reading it in the model's precision.
pub fn evaluate<B: Backend>(spec: &ApplySpec, device: &B::Device) -> Result<Evaluation<B>> {
    let loaded = load_model::<B>(spec, device)?;
    if streams(spec, &loaded.meta)? {
        return evaluate_streamed(spec, loaded);
    }
    if linreg_store::precision_of::<B>() == "f64" {
        evaluate_as::<B, f64>(spec, loaded, device)
    } else {
        evaluate_as::<B, f32>(spec, loaded, device)
    }
}

fn evaluate_as<B: Backend, T: linreg_io::Element + Element>(
    spec: &ApplySpec,
    loaded: LoadedModel<B>,
    device: &B::Device,
) -> Result<Evaluation<B>> {
    let table = read::<T>(spec, &loaded.meta, true)?;
    let pred = forward(&loaded.model, &table.data.x, device);
    let metrics = Metrics::compute(pred.values(), &table.data.y);
    let loss = loss_kind(&loaded.meta).map(|kind| {
        kind.compute(
            to_tensor::<B>(&pred, device),
            to_tensor(&table.data.y, device),
        )
        .into_scalar()
        .elem::<f64>()
    });
    Ok(Evaluation {
        loaded,
        rows: table.data.len(),
        loss,
        metrics,
        rows_in_memory: Some((table.data.y.cast(), pred)),
    })
}

fn loss_kind(meta: &ModelMeta) -> Option<LossKind> {
    match meta.loss.as_deref()? {
        "l1" => Some(LossKind::L1),
        "mse" => Some(LossKind::Mse),
        _ => None, // Huber's delta is not saved; the metrics still say how good the model is.
    }
}

/// Whether `evaluate` streams: the table (its model's columns) does not fit the memory limit.
fn streams(spec: &ApplySpec, meta: &ModelMeta) -> Result<bool> {
    let source = crate::sources::open(&spec.table.data, &spec.table.csv)?;
    let columns = meta.features.len() + meta.targets.len();
    let cells = crate::sources::estimated_cells(&source, Some(columns))?;
    Ok(!spec.table.memory_limit.fits(cells))
}

/// Refuses what cannot be streamed: a polynomial model builds its powers in memory.
fn streamable(spec: &ApplySpec, meta: &ModelMeta) -> Result<()> {
    named(spec, meta)?;
    if meta.polynomial.is_some() {
        return Err(FitError::Input(format!(
            "{} is larger than --memory-limit {} and the model is a polynomial, whose powers are \
             built in memory; raise --memory-limit",
            spec.table.data.display(),
            spec.table.memory_limit
        )));
    }
    Ok(())
}

/// `evaluate` in one parallel pass over the table, in f64, in bounded memory.
fn evaluate_streamed<B: Backend>(
    spec: &ApplySpec,
    loaded: LoadedModel<B>,
) -> Result<Evaluation<B>> {
    let meta = &loaded.meta;
    streamable(spec, meta)?;
    let source = crate::sources::open(&spec.table.data, &spec.table.csv)?;
    let selected = source.select(&Selection::new(
        meta.targets.clone(),
        Some(meta.features.clone()),
        None,
    ))?;
    let part = Part::new(&source, &selected, RowSplit::All);
    let params = loaded.model.params_as::<f64>();
    let kind = loss_kind(meta);
    let (metrics, loss) = linreg_stream::evaluate_streamed(
        &part,
        Rows::Train,
        meta.standardizer().as_ref(),
        &params.weight,
        &params.bias,
        kind.unwrap_or(LossKind::Mse),
        &ScanOptions::default(),
    )?;
    let rows = row_count(&source, &selected)?;
    Ok(Evaluation {
        loss: kind.map(|_| loss),
        loaded,
        rows,
        metrics,
        rows_in_memory: None,
    })
}

/// Rows of a streamed table: from the Parquet footers, or counted.
fn row_count(source: &Source, selected: &linreg_io::Selected) -> Result<usize> {
    Ok(match source.rows()? {
        Some(r) => r as usize,
        None => source
            .scan::<f32, _, IoError>(
                selected,
                &ScanOptions::default(),
                || 0usize,
                |n, c| {
                    *n += c.rows();
                    Ok(())
                },
            )?
            .iter()
            .sum(),
    })
}

/// Where `predict` writes the rows with their predictions.
#[derive(Debug, Clone)]
pub enum PredictSink {
    /// Standard output, as CSV (a reader that goes away ends the run quietly).
    Stdout,
    /// A file: Parquet when its name ends in `.parquet`, CSV otherwise; replaced whole.
    File(PathBuf),
}

/// What `predict` wrote.
pub struct Prediction {
    /// Rows written.
    pub rows: u64,
    /// The prediction columns (`<target>_pred`).
    pub names: Vec<String>,
    /// The file written, if any.
    pub written: Option<PathBuf>,
    /// Whether the table was streamed (then only the model's input columns are written beside
    /// the predictions).
    pub streamed: bool,
    /// The model's input columns.
    pub features: Vec<String>,
}

/// Appends the predictions of the model of `spec` to the rows of its table, into `sink`.
pub fn predict<B: Backend>(
    spec: &ApplySpec,
    sink: &PredictSink,
    device: &B::Device,
) -> Result<Prediction> {
    if linreg_store::precision_of::<B>() == "f64" {
        predict_as::<B, f64>(spec, sink, device)
    } else {
        predict_as::<B, f32>(spec, sink, device)
    }
}

fn predict_as<B: Backend, T: linreg_io::Element + Element>(
    spec: &ApplySpec,
    sink: &PredictSink,
    device: &B::Device,
) -> Result<Prediction> {
    let parquet_out = matches!(sink, PredictSink::File(p) if is_parquet_name(p));
    let table = &spec.table;
    if parquet_out
        || !crate::sources::plain_csv_that_fits(&table.data, &table.csv, table.memory_limit)?
    {
        return predict_streamed::<B, T>(spec, sink, device);
    }
    let loaded = load_model::<B>(spec, device)?;
    let t = read::<T>(spec, &loaded.meta, false)?;
    let pred: Matrix = forward(&loaded.model, &t.data.x, device);
    let names: Vec<String> = loaded
        .meta
        .targets
        .iter()
        .map(|t| format!("{t}_pred"))
        .collect();
    let written = match sink {
        PredictSink::File(path) => {
            let mut buffer = Vec::new();
            write_with_columns(&table.data, &table.csv, &names, &pred, &mut buffer)?;
            write_atomic(path, &buffer)?;
            Some(path.clone())
        }
        PredictSink::Stdout => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            match write_with_columns(&table.data, &table.csv, &names, &pred, &mut lock) {
                // The reader went away (`linreg predict … | head`): stop quietly, as Unix tools do.
                Err(CsvError::Output {
                    kind: ErrorKind::BrokenPipe,
                    ..
                }) => {}
                other => {
                    other?;
                    lock.flush().map_err(|source| FitError::File {
                        context: "could not write to stdout".into(),
                        source,
                    })?;
                }
            }
            None
        }
    };
    Ok(Prediction {
        rows: pred.rows() as u64,
        names,
        written,
        streamed: false,
        features: loaded.meta.features,
    })
}

/// Whether a file name asks for Parquet (`.parquet`, any case).
pub(crate) fn is_parquet_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Where streamed predictions go.
enum Sink {
    Parquet(Box<ParquetWriter>),
    /// CSV to a file, put in place at the end (removed if abandoned).
    CsvFile(AtomicFile),
    /// CSV to standard output.
    Stdout(std::io::BufWriter<std::io::Stdout>),
}

impl Sink {
    fn open<T: linreg_io::Element>(sink: &PredictSink, names: &[String]) -> Result<Self> {
        let mut s = match sink {
            PredictSink::File(path) if is_parquet_name(path) => Sink::Parquet(Box::new(
                ParquetWriter::create_as::<T>(path, names, WriteOptions::default())?,
            )),
            PredictSink::File(path) => {
                Sink::CsvFile(AtomicFile::create(path).map_err(|source| FitError::File {
                    context: format!("cannot write {}", path.display()),
                    source,
                })?)
            }
            PredictSink::Stdout => Sink::Stdout(std::io::BufWriter::new(std::io::stdout())),
        };
        if let Some(out) = s.csv() {
            writeln!(out, "{}", names.join(",")).map_err(write_error)?;
        }
        Ok(s)
    }

    fn csv(&mut self) -> Option<&mut dyn Write> {
        match self {
            Sink::Parquet(_) => None,
            Sink::CsvFile(f) => Some(f),
            Sink::Stdout(s) => Some(s),
        }
    }

    /// Writes one chunk: the input columns `cols` and the predictions `pred`.
    fn write<T: linreg_io::Element>(&mut self, cols: &[&[T]], pred: &Matrix) -> Result<()> {
        let w = match self {
            Sink::CsvFile(f) => return csv_rows(f, cols, pred),
            Sink::Stdout(s) => return csv_rows(s, cols, pred),
            Sink::Parquet(w) => w,
        };
        let pred_cols: Vec<Vec<T>> = (0..pred.cols())
            .map(|t| {
                let column = pred.column_values(t).into_iter();
                column.map(|v| T::from_f64(f64::from(v))).collect()
            })
            .collect();
        let all: Vec<&[T]> = cols
            .iter()
            .copied()
            .chain(pred_cols.iter().map(|c| &c[..]))
            .collect();
        Ok(w.write_columns::<T>(&all)?)
    }

    /// Puts the output in place; the file written, if any.
    fn finish(self) -> Result<Option<PathBuf>> {
        match self {
            Sink::Parquet(w) => Ok(Some(w.finish()?)),
            Sink::CsvFile(f) => {
                let path = f.path().to_path_buf();
                f.commit().map(Some).map_err(|source| FitError::File {
                    context: format!("cannot write {}", path.display()),
                    source,
                })
            }
            Sink::Stdout(mut s) => s.flush().map(|()| None).map_err(write_error),
        }
    }
}

/// One chunk's rows as CSV: the input columns, then the predictions.
fn csv_rows<T: linreg_io::Element>(
    out: &mut dyn Write,
    cols: &[&[T]],
    pred: &Matrix,
) -> Result<()> {
    let k = pred.cols();
    let mut line = String::new();
    for r in 0..pred.rows() {
        line.clear();
        for c in cols {
            line.push_str(&c[r].to_string());
            line.push(',');
        }
        let values: Vec<String> = pred.values()[r * k..(r + 1) * k]
            .iter()
            .map(f32::to_string)
            .collect();
        line.push_str(&values.join(","));
        line.push('\n');
        match out.write_all(line.as_bytes()) {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                return Err(IoError::Stopped(BROKEN_PIPE.into()).into())
            }
            other => other.map_err(write_error)?,
        }
    }
    Ok(())
}

const BROKEN_PIPE: &str = "broken pipe";

fn write_error(source: std::io::Error) -> FitError {
    FitError::File {
        context: "could not write the predictions".into(),
        source,
    }
}

/// `predict` a chunk at a time, in file order: the model's input columns as read, then one
/// `<target>_pred` column per target, as CSV or Parquet.
fn predict_streamed<B: Backend, T: linreg_io::Element + Element>(
    spec: &ApplySpec,
    sink: &PredictSink,
    device: &B::Device,
) -> Result<Prediction> {
    let LoadedModel { model, meta } = load_model::<B>(spec, device)?;
    streamable(spec, &meta)?;
    let source = crate::sources::open(&spec.table.data, &spec.table.csv)?;
    let selected = source.select(&Selection::new(
        Vec::new(),
        Some(meta.features.clone()),
        None,
    ))?;
    let standardizer = meta.standardizer();
    let pred_names: Vec<String> = meta.targets.iter().map(|t| format!("{t}_pred")).collect();
    let names: Vec<String> = meta.features.iter().chain(&pred_names).cloned().collect();
    let mut out = Sink::open::<T>(sink, &names)?;
    let p = meta.features.len();
    let mut rows = 0u64;
    let result = source.stream::<T, FitError>(&selected, &ScanOptions::default(), None, |chunk| {
        let (n, cols) = (chunk.rows(), chunk.features());
        let mut x = Vec::with_capacity(n * p);
        for r in 0..n {
            x.extend(cols.iter().map(|c| c[r]));
        }
        let mut x = Matrix::new(n, p, x)?;
        if let Some(s) = &standardizer {
            s.apply(&mut x);
        }
        out.write::<T>(cols, &forward(&model, &x, device))?;
        rows += n as u64;
        Ok(())
    });
    let prediction = |written| Prediction {
        rows,
        names: pred_names.clone(),
        written,
        streamed: true,
        features: meta.features.clone(),
    };
    match result {
        Ok(()) => Ok(prediction(out.finish()?)),
        // The reader went away (`linreg predict … | head`): stop quietly, as Unix tools do.
        Err(FitError::Io(IoError::Stopped(m)))
            if matches!(sink, PredictSink::Stdout) && m == BROKEN_PIPE =>
        {
            Ok(prediction(None))
        }
        // Dropping the sink removes what it had written aside.
        Err(e) => Err(e),
    }
}
