//! `linreg evaluate` and `linreg predict`: a saved model applied to a CSV table.

use std::io::{ErrorKind, Write};

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use burn::tensor::Element;
use linreg_data::{
    read_table_as, table::write_with_columns, Columns, CsvError, Matrix, Real, Table,
};
use linreg_model::LrModel;
use linreg_train::{predict, to_tensor, LossKind, Metrics};
use serde::Serialize;

use linreg_store::{write_atomic, MetricsJson, ModelMeta};

use crate::cli::{EvaluateArgs, PredictArgs, TableArgs};
use crate::report::metrics_table;
use crate::tables::csv_options;

/// Loads the model and reads the table's feature columns (and targets, when `with_targets`),
/// standardized as the model was trained.
fn load<B: Backend, T: Real + Element>(
    model_dir: &std::path::Path,
    table: &TableArgs,
    with_targets: bool,
    device: &B::Device,
) -> Result<(LrModel<B>, ModelMeta, Table<T>)> {
    let (model, meta) = linreg_store::load_model::<B>(model_dir, device)?;
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
    let mut t = read_table_as::<T>(&table.data, &columns, &csv_options(table)?)?;
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

fn evaluate_as<B: Backend, T: Real + Element>(
    args: &EvaluateArgs,
    device: &B::Device,
) -> Result<()> {
    let (model, meta, table) = load::<B, T>(&args.model, &args.table, true, device)?;
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

fn predict_as<B: Backend, T: Real + Element>(args: &PredictArgs, device: &B::Device) -> Result<()> {
    let (model, meta, table) = load::<B, T>(&args.model, &args.table, false, device)?;
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
