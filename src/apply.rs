//! `linreg evaluate` and `linreg predict`: the arguments into an `ApplySpec`, the work done
//! by `linreg-fit`, then the messages (and `evaluate`'s report).

use anyhow::Result;
use burn::prelude::Backend;
use linreg_fit::{Evaluation, PredictSink};
use linreg_store::MetricsJson;
use serde::Serialize;

use crate::cli::{EvaluateArgs, PredictArgs};
use crate::console::metrics_table;

/// What `evaluate --json` prints.
#[derive(Serialize)]
struct EvaluationJson {
    rows: usize,
    loss_name: Option<String>,
    loss: Option<f64>,
    metrics: MetricsJson,
}

/// Runs `linreg evaluate` on backend `B`, reading the table in the model's precision.
pub fn evaluate<B: Backend>(args: &EvaluateArgs, device: &B::Device) -> Result<()> {
    let spec = crate::spec::apply_spec(&args.model, &args.columns, &args.table)?;
    let e: Evaluation<B> = linreg_fit::evaluate(&spec, device)?;
    let meta = &e.loaded.meta;
    let report = match &e.rows_in_memory {
        Some(rows) if !args.report.no_report => Some(crate::html::evaluate(
            args,
            &e.loaded.model,
            meta,
            rows,
            &e.metrics,
            e.loss,
        )?),
        _ => None,
    };
    if args.json {
        let json = EvaluationJson {
            rows: e.rows,
            loss_name: meta.loss.clone(),
            loss: e.loss,
            metrics: MetricsJson::new(&e.metrics, &meta.targets),
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let streamed = match e.rows_in_memory {
        None => format!(
            ", streamed: larger than --memory-limit {}",
            args.table.memory_limit
        ),
        Some(_) => String::new(),
    };
    println!(
        "linreg evaluate: model {} on {} ({} rows{streamed})",
        args.model.display(),
        args.table.data.display(),
        e.rows
    );
    if let (Some(name), Some(v)) = (&meta.loss, e.loss) {
        println!("   {name} loss: {v}");
    }
    print!("{}", metrics_table(&[("data", &e.metrics)], &meta.targets));
    match report {
        Some(path) => println!("   Report: {}", path.display()),
        None if e.rows_in_memory.is_none() && !args.report.no_report => {
            println!(
                "   (no report.html for a streamed table: its figures need the rows in memory)"
            )
        }
        None => {}
    }
    Ok(())
}

/// Runs `linreg predict` on backend `B`, reading the table in the model's precision.
pub fn predict<B: Backend>(args: &PredictArgs, device: &B::Device) -> Result<()> {
    let spec = crate::spec::apply_spec(&args.model, &args.columns, &args.table)?;
    let sink = match &args.output {
        Some(path) => PredictSink::File(path.clone()),
        None => PredictSink::Stdout,
    };
    let p = linreg_fit::predict::<B>(&spec, &sink, device)?;
    match (&p.written, p.streamed) {
        (Some(path), false) => eprintln!(
            "linreg predict: {} rows with {} written to {}",
            p.rows,
            p.names.join(", "),
            path.display()
        ),
        (Some(path), true) => eprintln!(
            "linreg predict: {} rows ({} and {}) written to {} (streamed)",
            p.rows,
            p.features.join(", "),
            p.names.join(", "),
            path.display()
        ),
        (None, _) => {}
    }
    Ok(())
}
