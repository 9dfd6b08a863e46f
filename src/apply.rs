//! `linreg evaluate` and `linreg predict`: a saved model applied to a table. A table that fits
//! `--memory-limit` is read whole; a larger one (or, for `predict`, any table that is not one
//! plain CSV file, or a Parquet output) is streamed a chunk at a time.

use std::io::{ErrorKind, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use burn::tensor::Element;
use linreg_data::{table::write_with_columns, Columns, CsvError, Matrix, Table};
use linreg_io::{ParquetWriter, ScanOptions, Selection, WriteOptions};
use linreg_model::LrModel;
use linreg_train::{predict, to_tensor, LossKind, Metrics};
use serde::Serialize;

use linreg_store::{write_atomic, MetricsJson, ModelMeta};

use crate::cli::{EvaluateArgs, PredictArgs, TableArgs, WeightsColumns};
use crate::report::metrics_table;
use crate::tables::csv_options;

/// Loads a model from a directory a run wrote, or from a PyTorch `.pth`/`.safetensors` file
/// whose columns `columns` names.
fn load_model<B: Backend>(
    path: &Path,
    columns: &WeightsColumns,
    device: &B::Device,
) -> Result<(LrModel<B>, ModelMeta)> {
    if !linreg_store::is_weights_path(path) {
        if columns.features.is_some() || columns.target.is_some() {
            bail!(
                "--features and --target name the columns of a .pth or .safetensors model; \
                 the model in {} names its own, so leave them out",
                path.display()
            );
        }
        return Ok(linreg_store::load_model::<B>(path, device)?);
    }
    let model = linreg_store::load_weights::<B>(path, None, device)?;
    let (d_in, d_out) = (model.d_input(), model.d_output());
    let (Some(features), Some(targets)) = (&columns.features, &columns.target) else {
        bail!(
            "{} holds a {d_in}→{d_out} layer but no column names: name its inputs with \
             --features COL,… ({d_in}) and its outputs with --target COL,… ({d_out})",
            path.display()
        );
    };
    for (option, names, want, what) in [
        ("--features", features, d_in, "inputs"),
        ("--target", targets, d_out, "outputs"),
    ] {
        if names.len() != want {
            bail!(
                "{option} names {} column(s) but {} has {want} {what}",
                names.len(),
                path.display()
            );
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
    };
    Ok((model, meta))
}

/// Loads the model and reads the table's feature columns (and targets, when `with_targets`),
/// standardized as the model was trained.
fn load<B: Backend, T: linreg_io::Element + Element>(
    model_dir: &Path,
    columns: &WeightsColumns,
    table: &TableArgs,
    with_targets: bool,
    device: &B::Device,
) -> Result<(LrModel<B>, ModelMeta, Table<T>)> {
    let (model, meta) = load_model::<B>(model_dir, columns, device)?;
    if meta.features.is_empty() || meta.targets.is_empty() {
        bail!(
            "{} does not name its feature and target columns (it was saved by an older linreg); \
             re-train it to apply it to a table",
            model_dir.join(linreg_store::MODEL_META_FILE).display()
        );
    }
    let columns = Columns {
        targets: if with_targets {
            meta.targets.clone()
        } else {
            Vec::new()
        },
        // A polynomial model reads its one column and makes the powers itself.
        features: Some(match &meta.polynomial {
            Some(p) => vec![p.column.clone()],
            None => meta.features.clone(),
        }),
    };
    let mut t = crate::sources::read_table_as::<T>(&table.data, &columns, &csv_options(table)?)?;
    if let Some(p) = &meta.polynomial {
        let column: Vec<f64> = t.data.x.values().iter().map(|v| v.to_f64()).collect();
        let powers = linreg_solve::polynomial_features(&column, p.degree);
        t.data.x = Matrix::new(
            t.data.x.rows(),
            p.degree,
            powers.into_iter().map(T::from_f64).collect(),
        )?;
        t.features = meta.features.clone();
    }
    if let Some(s) = meta.standardizer() {
        s.apply(&mut t.data.x);
    }
    Ok((model, meta, t))
}

/// What `evaluate --json` prints.
#[derive(Serialize)]
struct Evaluation {
    rows: usize,
    loss_name: Option<String>,
    loss: Option<f64>,
    metrics: MetricsJson,
}

/// Runs `linreg evaluate` on backend `B`, reading the table in the model's precision.
pub fn evaluate<B: Backend>(args: &EvaluateArgs, device: &B::Device) -> Result<()> {
    if linreg_store::precision_of::<B>() == "f64" {
        evaluate_as::<B, f64>(args, device)
    } else {
        evaluate_as::<B, f32>(args, device)
    }
}

fn evaluate_as<B: Backend, T: linreg_io::Element + Element>(
    args: &EvaluateArgs,
    device: &B::Device,
) -> Result<()> {
    if streams_for_evaluate::<B>(args, device)? {
        return evaluate_streamed::<B>(args, device);
    }
    let (model, meta, table) = load::<B, T>(&args.model, &args.columns, &args.table, true, device)?;
    let pred = predict(&model, &table.data.x, device);
    let metrics = Metrics::compute(pred.values(), &table.data.y);
    let loss = loss_kind(&meta).map(|kind| {
        kind.compute(
            to_tensor::<B>(&pred, device),
            to_tensor(&table.data.y, device),
        )
        .into_scalar()
        .elem::<f64>()
    });
    let report = crate::html::evaluate(args, &model, &meta, &table, &pred, &metrics, loss)?;
    if args.json {
        let e = Evaluation {
            rows: table.data.len(),
            loss_name: meta.loss.clone(),
            loss,
            metrics: MetricsJson::new(&metrics, &table.targets),
        };
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(());
    }
    println!(
        "linreg evaluate: model {} on {} ({} rows)",
        args.model.display(),
        args.table.data.display(),
        table.data.len()
    );
    if let (Some(name), Some(v)) = (&meta.loss, loss) {
        println!("   {name} loss: {v}");
    }
    print!("{}", metrics_table(&[("data", &metrics)], &table.targets));
    if let Some(path) = report {
        println!("   Report: {}", path.display());
    }
    Ok(())
}

fn loss_kind(meta: &ModelMeta) -> Option<LossKind> {
    match meta.loss.as_deref()? {
        "l1" => Some(LossKind::L1),
        "mse" => Some(LossKind::Mse),
        _ => None, // Huber's delta is not saved; the metrics still say how good the model is.
    }
}

/// Runs `linreg predict` on backend `B`, reading the table in the model's precision.
pub fn predict_cmd<B: Backend>(args: &PredictArgs, device: &B::Device) -> Result<()> {
    if linreg_store::precision_of::<B>() == "f64" {
        predict_as::<B, f64>(args, device)
    } else {
        predict_as::<B, f32>(args, device)
    }
}

fn predict_as<B: Backend, T: linreg_io::Element + Element>(
    args: &PredictArgs,
    device: &B::Device,
) -> Result<()> {
    let parquet_out = args.output.as_deref().is_some_and(is_parquet_name);
    let options = csv_options(&args.table)?;
    if parquet_out
        || !crate::sources::plain_csv_that_fits(
            &args.table.data,
            &options,
            args.table.memory_limit,
        )?
    {
        return predict_streamed::<B, T>(args, device);
    }
    let (model, meta, table) =
        load::<B, T>(&args.model, &args.columns, &args.table, false, device)?;
    let pred: Matrix = predict(&model, &table.data.x, device);
    let names: Vec<String> = meta.targets.iter().map(|t| format!("{t}_pred")).collect();
    let options = csv_options(&args.table)?;
    match &args.output {
        Some(path) => {
            let mut buffer = Vec::new();
            write_with_columns(&args.table.data, &options, &names, &pred, &mut buffer)?;
            write_atomic(path, &buffer)?;
            eprintln!(
                "linreg predict: {} rows with {} written to {}",
                pred.rows(),
                names.join(", "),
                path.display()
            );
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            match write_with_columns(&args.table.data, &options, &names, &pred, &mut lock) {
                // The reader went away (`linreg predict … | head`): stop quietly, as Unix tools do.
                Err(CsvError::Output {
                    kind: ErrorKind::BrokenPipe,
                    ..
                }) => return Ok(()),
                other => other?,
            }
            lock.flush().context("could not write to stdout")?;
        }
    }
    Ok(())
}

/// Whether a file name asks for Parquet (`.parquet`, any case).
fn is_parquet_name(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Whether `evaluate` streams: the table (its model's columns) does not fit `--memory-limit`.
fn streams_for_evaluate<B: Backend>(args: &EvaluateArgs, device: &B::Device) -> Result<bool> {
    let Ok((_, meta)) = load_model::<B>(&args.model, &args.columns, device) else {
        // `load` says what is wrong.
        return Ok(false);
    };
    let source = crate::sources::open(&args.table.data, &csv_options(&args.table)?)?;
    let columns = meta.features.len() + meta.targets.len();
    Ok(!args
        .table
        .memory_limit
        .fits(crate::sources::estimated_cells(&source, Some(columns))?))
}

/// Refuses what cannot be streamed: a polynomial model builds its powers in memory.
fn streamable(meta: &ModelMeta, table: &TableArgs) -> Result<()> {
    if meta.polynomial.is_some() {
        bail!(
            "{} is larger than --memory-limit {} and the model is a polynomial, whose powers are \
             built in memory; raise --memory-limit",
            table.data.display(),
            table.memory_limit
        );
    }
    Ok(())
}

/// `linreg evaluate` in one parallel pass over the table, in f64, in bounded memory.
fn evaluate_streamed<B: Backend>(args: &EvaluateArgs, device: &B::Device) -> Result<()> {
    let (model, meta) = load_model::<B>(&args.model, &args.columns, device)?;
    streamable(&meta, &args.table)?;
    let source = crate::sources::open(&args.table.data, &csv_options(&args.table)?)?;
    let selected = source.select(&Selection::new(
        meta.targets.clone(),
        Some(meta.features.clone()),
        None,
    ))?;
    let part = linreg_stream::Part::new(&source, &selected, linreg_stream::RowSplit::All);
    let params = model.params_as::<f64>();
    let kind = loss_kind(&meta);
    let (metrics, loss) = linreg_stream::evaluate_streamed(
        &part,
        linreg_stream::Rows::Train,
        meta.standardizer().as_ref(),
        &params.weight,
        &params.bias,
        kind.unwrap_or(LossKind::Mse),
        &ScanOptions::default(),
    )?;
    let loss = kind.map(|_| loss);
    let rows = metrics_rows(&source, &selected)?;
    if args.json {
        let e = Evaluation {
            rows,
            loss_name: meta.loss.clone(),
            loss,
            metrics: MetricsJson::new(&metrics, &meta.targets),
        };
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(());
    }
    println!(
        "linreg evaluate: model {} on {} ({rows} rows, streamed: larger than --memory-limit {})",
        args.model.display(),
        args.table.data.display(),
        args.table.memory_limit
    );
    if let (Some(name), Some(v)) = (&meta.loss, loss) {
        println!("   {name} loss: {v}");
    }
    print!("{}", metrics_table(&[("data", &metrics)], &meta.targets));
    if !args.report.no_report {
        println!("   (no report.html for a streamed table: its figures need the rows in memory)");
    }
    Ok(())
}

/// Rows of a streamed table: from the Parquet footers, or counted.
fn metrics_rows(source: &linreg_io::Source, selected: &linreg_io::Selected) -> Result<usize> {
    Ok(match source.rows()? {
        Some(r) => r as usize,
        None => source
            .scan::<f32, _, linreg_io::IoError>(
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

/// Where streamed predictions go.
enum Sink {
    Parquet(Box<ParquetWriter>),
    /// CSV to a temporary file renamed over the output at the end, or to stdout.
    Csv {
        out: Box<dyn Write>,
        file: Option<(std::path::PathBuf, std::path::PathBuf)>,
    },
}

/// `linreg predict` a chunk at a time, in file order: the model's input columns as read,
/// then one `<target>_pred` column per target, as CSV or Parquet.
fn predict_streamed<B: Backend, T: linreg_io::Element + Element>(
    args: &PredictArgs,
    device: &B::Device,
) -> Result<()> {
    let (model, meta) = load_model::<B>(&args.model, &args.columns, device)?;
    if meta.features.is_empty() || meta.targets.is_empty() {
        bail!(
            "{} does not name its feature and target columns (it was saved by an older linreg); \
             re-train it to apply it to a table",
            args.model.join(linreg_store::MODEL_META_FILE).display()
        );
    }
    streamable(&meta, &args.table)?;
    let source = crate::sources::open(&args.table.data, &csv_options(&args.table)?)?;
    let selected = source.select(&Selection::new(
        Vec::new(),
        Some(meta.features.clone()),
        None,
    ))?;
    let standardizer = meta.standardizer();
    let pred_names: Vec<String> = meta.targets.iter().map(|t| format!("{t}_pred")).collect();
    let names: Vec<String> = meta.features.iter().chain(&pred_names).cloned().collect();
    let mut sink =
        match &args.output {
            Some(path) if is_parquet_name(path) => Sink::Parquet(Box::new(
                ParquetWriter::create_as::<T>(path, &names, WriteOptions::default())?,
            )),
            Some(path) => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
                let file = std::fs::File::create(&tmp)
                    .with_context(|| format!("cannot write {}", tmp.display()))?;
                Sink::Csv {
                    out: Box::new(std::io::BufWriter::new(file)),
                    file: Some((tmp, path.clone())),
                }
            }
            None => Sink::Csv {
                out: Box::new(std::io::BufWriter::new(std::io::stdout())),
                file: None,
            },
        };
    if let Sink::Csv { out, .. } = &mut sink {
        writeln!(out, "{}", names.join(",")).context("could not write the predictions")?;
    }
    let p = meta.features.len();
    let mut rows = 0u64;
    let result =
        source.stream::<T, anyhow::Error>(&selected, &ScanOptions::default(), None, |chunk| {
            let n = chunk.rows();
            let cols = chunk.features();
            let mut x = Vec::with_capacity(n * p);
            for r in 0..n {
                x.extend(cols.iter().map(|c| c[r]));
            }
            let mut x = Matrix::new(n, p, x)?;
            if let Some(s) = &standardizer {
                s.apply(&mut x);
            }
            let pred: Matrix = predict(&model, &x, device);
            let k = pred.cols();
            match &mut sink {
                Sink::Parquet(w) => {
                    let pred_cols: Vec<Vec<T>> = (0..k)
                        .map(|t| {
                            pred.values()
                                .iter()
                                .skip(t)
                                .step_by(k)
                                .map(|&v| T::from_f64(f64::from(v)))
                                .collect()
                        })
                        .collect();
                    let all: Vec<&[T]> = cols
                        .iter()
                        .copied()
                        .chain(pred_cols.iter().map(|c| &c[..]))
                        .collect();
                    w.write_columns::<T>(&all)?;
                }
                Sink::Csv { out, .. } => {
                    let mut line = String::new();
                    for r in 0..n {
                        line.clear();
                        for c in cols {
                            line.push_str(&c[r].to_string());
                            line.push(',');
                        }
                        for (t, v) in pred.values()[r * k..(r + 1) * k].iter().enumerate() {
                            if t > 0 {
                                line.push(',');
                            }
                            line.push_str(&v.to_string());
                        }
                        line.push('\n');
                        match out.write_all(line.as_bytes()) {
                            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                                return Err(linreg_io::IoError::Stopped("broken pipe".into()).into())
                            }
                            other => other.context("could not write the predictions")?,
                        }
                    }
                }
            }
            rows += n as u64;
            Ok(())
        });
    match result {
        Ok(()) => {}
        // The reader went away (`linreg predict … | head`): stop quietly, as Unix tools do.
        Err(e)
            if args.output.is_none()
                && matches!(e.downcast_ref::<linreg_io::IoError>(), Some(linreg_io::IoError::Stopped(m)) if m == "broken pipe") =>
        {
            return Ok(())
        }
        Err(e) => {
            if let Sink::Csv {
                file: Some((tmp, _)),
                ..
            } = &sink
            {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(e);
        }
    }
    let written = match sink {
        Sink::Parquet(w) => Some(w.finish()?),
        Sink::Csv { mut out, file } => {
            out.flush().context("could not write the predictions")?;
            drop(out);
            match file {
                Some((tmp, path)) => {
                    std::fs::rename(&tmp, &path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    Some(path)
                }
                None => None,
            }
        }
    };
    if let Some(path) = written {
        eprintln!(
            "linreg predict: {rows} rows ({} and {}) written to {} (streamed)",
            meta.features.join(", "),
            pred_names.join(", "),
            path.display()
        );
    }
    Ok(())
}
