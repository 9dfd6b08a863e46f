//! `report.html`: the page `linreg-fit` builds for each command, written beside its other
//! files. One call per command; `--no-report` skips it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::prelude::Backend;
use linreg_data::{Matrix, Split};
use linreg_fit::{FitSpec, Prepared};
use linreg_model::LrModel;
use linreg_report::{Points, Report, XyFigures};
use linreg_store::{ModelMeta, Summary};
use linreg_train::Metrics;

use crate::artifacts;
use crate::cli::EvaluateArgs;
use crate::spec::TutorialSpec;

/// The report's file name in `--out`.
pub const REPORT_FILE: &str = "report.html";

/// The command line as typed, the program shown as `linreg`.
fn command_line() -> String {
    let quote = |a: String| {
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=,:@+".contains(c));
        if plain {
            a
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        }
    };
    std::iter::once("linreg".to_string())
        .chain(std::env::args().skip(1).map(quote))
        .collect::<Vec<_>>()
        .join(" ")
}

fn write(report: &Report, path: &Path) -> Result<PathBuf> {
    report.write(path)?;
    Ok(path.to_path_buf())
}

/// `report.html` for the tutorial run; `None` with `--no-report`.
pub fn tutorial(
    spec: &TutorialSpec,
    split: &Split,
    predictions: &[f32],
    summary: &Summary,
    summary_path: &Path,
) -> Result<Option<PathBuf>> {
    if !spec.report {
        return Ok(None);
    }
    let path = spec.out.join(REPORT_FILE);
    let points = |d: &linreg_data::Dataset| Points {
        x: d.x.values().to_vec(),
        y: d.y.values().to_vec(),
    };
    let report = Report {
        title: "linreg: the PyTorch \u{201c}Linear Models\u{201d} tutorial on Burn".into(),
        description: format!(
            "Linear(1, 1) fitted to y = {}·x + {} for x = arange(0, 1, {}) ({} training and {} \
             test rows) with {} loss and {}, on {} ({}).",
            spec.line.weight,
            spec.line.bias,
            spec.line.step,
            summary.rows.train,
            summary.rows.test,
            summary.loss.to_uppercase(),
            summary.optimizer.to_uppercase(),
            summary.backend,
            summary.device
        ),
        tutorial: Some(XyFigures {
            x_label: "X".into(),
            y_label: "Y".into(),
            train: points(&split.train),
            test: points(&split.test),
            predictions: Some(predictions.to_vec()),
        }),
        files: linreg_fit::report::files(summary, summary_path, &path),
        ..linreg_fit::report::from_summary(summary, None, &command_line())
    };
    write(&report, &path).map(Some)
}

/// `report.html` for `linreg train`, in `out`.
pub fn train<B: Backend>(
    spec: &FitSpec,
    out: &Path,
    data: &Prepared,
    model: &LrModel<B>,
    device: &B::Device,
    summary: &Summary,
    summary_path: &Path,
) -> Result<PathBuf> {
    let path = out.join(REPORT_FILE);
    let files = linreg_fit::report::files(summary, summary_path, &path);
    let about = (spec.table.data.as_path(), command_line());
    let report =
        linreg_fit::report::train(summary, files, data, model, device, (about.0, &about.1));
    write(&report, &path)
}

/// `report.html` for `linreg evaluate`, in `--out`: `rows` holds the targets as read and
/// the predictions.
pub fn evaluate<B: Backend>(
    args: &EvaluateArgs,
    model: &LrModel<B>,
    meta: &ModelMeta,
    rows: &(Matrix, Matrix),
    metrics: &Metrics,
    loss: Option<f64>,
) -> Result<PathBuf> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(&args.out, &args.model) {
        bail!(
            "--out {} is the model's directory, whose {REPORT_FILE} describes the training run; \
             give another directory for the evaluation's report (or --no-report)",
            args.out.display()
        );
    }
    artifacts::prepare_out_dir(&args.out)?;
    let path = args.out.join(REPORT_FILE);
    let about = (
        args.model.as_path(),
        args.table.data.as_path(),
        command_line(),
    );
    let mut report = linreg_fit::report::evaluate(
        (about.0, about.1, &about.2),
        model,
        meta,
        rows,
        metrics,
        loss,
    );
    report.files = vec![path.clone()];
    report
        .write(&path)
        .with_context(|| "could not write the evaluation report".to_string())?;
    Ok(path)
}
