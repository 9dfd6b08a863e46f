//! `report.html`: what a command computed, turned into `linreg_report`'s input types and
//! written beside its other files. One call per command; `--no-report` skips it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::prelude::Backend;
use linreg_data::{Matrix, Split, Standardizer};
use linreg_fit::{FitSpec, Prepared};
use linreg_model::LrModel;
use linreg_report::{
    Coefficients, ExactGap, FitSet, GapRow, LossHistory, MetricsRow, Points, Report, Role,
    TargetCoefficients, TargetFit, Term, XyFigures,
};
use linreg_store::{ExactReport, InferenceJson, MetricsJson, ModelMeta, ParamsJson, Summary};
use linreg_train::{predict, Metrics};
use serde::Serialize;

use crate::artifacts;
use crate::cli::{EvaluateArgs, TutorialArgs};

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

/// `summary.json`'s settings as label/value rows, in the file's order: every field that is a
/// plain value, a list of plain values, or an object of them (so options added to the summary
/// later show up here too). Results (parameters, history, metrics, files) have their own
/// sections and are left out.
fn config_rows(summary: &impl Serialize) -> Vec<(String, String)> {
    const RESULTS: [&str; 10] = [
        "initial",
        "final",
        "original_units",
        "history",
        "metrics",
        "exact",
        "files",
        "train_loss",
        "test_loss",
        "seconds",
    ];
    fn plain(v: &serde_json::Value) -> Option<String> {
        match v {
            serde_json::Value::Null => Some("—".into()),
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Bool(_) | serde_json::Value::Number(_) => Some(v.to_string()),
            _ => None,
        }
    }
    let mut rows = vec![("command".to_string(), command_line())];
    // Through text, so the fields keep the summary's order (a `Value` map sorts them).
    let fields = serde_json::to_string(summary)
        .and_then(|text| serde_json::from_str::<Ordered>(&text))
        .map(|o| o.0)
        .unwrap_or_default();
    for (key, value) in fields
        .iter()
        .filter(|(k, _)| !RESULTS.contains(&k.as_str()))
    {
        match value {
            serde_json::Value::Array(items) => {
                if let Some(parts) = items.iter().map(plain).collect::<Option<Vec<_>>>() {
                    rows.push((key.clone(), list(&parts)));
                }
            }
            serde_json::Value::Object(fields) => {
                for (sub, v) in fields {
                    if let Some(text) = plain(v) {
                        rows.push((format!("{key}.{sub}"), text));
                    }
                }
            }
            v => rows.extend(plain(v).map(|text| (key.clone(), text))),
        }
    }
    rows
}

/// A JSON object's fields in the order they were written.
struct Ordered(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Ordered, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    fields.push(entry);
                }
                Ok(Ordered(fields))
            }
        }
        d.deserialize_map(Fields)
    }
}

/// A list for a table cell; very long ones are cut.
fn list(items: &[String]) -> String {
    const SHOWN: usize = 40;
    if items.len() <= SHOWN {
        items.join(", ")
    } else {
        format!("{}, … ({} in all)", items[..SHOWN].join(", "), items.len())
    }
}

fn metrics_rows(set: &str, m: &MetricsJson) -> Vec<MetricsRow> {
    let mut rows = vec![MetricsRow::new(set, None, [m.mae, m.mse, m.rmse, m.r2])];
    if m.per_target.len() > 1 {
        rows.extend(m.per_target.iter().map(|(name, s)| {
            MetricsRow::new(set, Some(name.clone()), [s.mae, s.mse, s.rmse, s.r2])
        }));
    }
    rows
}

fn exact_gap(r: &ExactReport) -> ExactGap {
    let row = |set: &str, optimum, reached, gap_abs, gap_rel| GapRow {
        set: set.into(),
        optimum,
        reached,
        gap_abs,
        gap_rel,
    };
    ExactGap {
        method: r.method.clone(),
        iterations: r.iterations,
        seconds: r.seconds,
        param_distance: r.param_distance,
        sets: vec![
            row(
                "train",
                r.train_loss,
                r.gd_train_loss,
                r.gap_abs.train,
                r.gap.train,
            ),
            row(
                "test",
                r.test_loss,
                r.gd_test_loss,
                r.gap_abs.test,
                r.gap.test,
            ),
        ],
    }
}

/// The coefficients on the original columns, with the exact optimum's beside them.
fn coefficients(
    params: &ParamsJson,
    exact: Option<&ExactReport>,
    inference: Option<&InferenceJson>,
    standardizer: Option<&Standardizer>,
    features: &[String],
    targets: &[String],
) -> Coefficients {
    // The inference tables, one per target, name the intercept `intercept`.
    let tables: Vec<&linreg_solve::Inference> = match inference {
        None => Vec::new(),
        Some(InferenceJson::One(t)) => vec![t.as_ref()],
        Some(InferenceJson::Many(ts)) => ts.iter().collect(),
    };
    let with_inference = |o: usize, name: &str, term: Term| -> Term {
        let found = tables
            .get(o)
            .and_then(|t| t.coefficients.iter().find(|c| c.name == name));
        match found {
            Some(c) => Term {
                std_error: c.std_error.is_finite().then_some(c.std_error),
                interval: (c.ci_low.is_finite() && c.ci_high.is_finite())
                    .then_some((c.ci_low, c.ci_high)),
                p_value: c.p_value.is_finite().then_some(c.p_value),
                ..term
            },
            None => term,
        }
    };
    let exact = exact.map(|e| {
        ParamsJson {
            weight: e.weight.clone(),
            bias: e.bias.clone(),
        }
        .in_original_units(standardizer)
    });
    let targets = targets
        .iter()
        .enumerate()
        .map(|(o, target)| {
            let mut terms: Vec<Term> = features
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let term = Term {
                        exact: exact.as_ref().map(|e| e.weight[o][i]),
                        ..Term::new(name.clone(), params.weight[o][i])
                    };
                    with_inference(o, name, term)
                })
                .collect();
            if let Some(&bias) = params.bias.get(o) {
                let term = Term {
                    exact: exact.as_ref().and_then(|e| e.bias.get(o).copied()),
                    ..Term::new("(intercept)", bias)
                };
                terms.push(with_inference(o, "intercept", term));
            }
            TargetCoefficients {
                target: target.clone(),
                terms,
            }
        })
        .collect();
    Coefficients {
        caption: if standardizer.is_some() {
            "On the original columns (the model was trained on standardized features; \
             summary.json's `final` holds the coefficients it saw)."
                .into()
        } else {
            "On the columns as given.".into()
        },
        level: (!tables.is_empty()).then_some(0.95),
        targets,
    }
}

/// Headline numbers and the sections every training run shares.
fn from_summary(summary: &Summary, standardizer: Option<&Standardizer>) -> Report {
    let loss = summary.loss.to_uppercase();
    let mut headline = vec![
        (
            format!("train loss ({loss})"),
            format!("{:.6}", summary.train_loss),
        ),
        (
            format!("test loss ({loss})"),
            format!("{:.6}", summary.test_loss),
        ),
        ("test R²".into(), format!("{:.5}", summary.metrics.test.r2)),
    ];
    if summary.solver == "gd" {
        headline.push(("epochs run".into(), summary.epochs_run.to_string()));
    }
    headline.push((
        if summary.solver == "gd" {
            "training time"
        } else {
            "solve time"
        }
        .into(),
        format!("{:.1} ms", summary.seconds * 1e3),
    ));
    let mut notes = Vec::new();
    if summary.standardized {
        notes.push(
            "Features were standardized with the training rows' mean and standard deviation; \
             the figures and coefficients are on the original columns."
                .to_string(),
        );
    }
    if summary.solver == "gd" && summary.exact.is_none() {
        notes.push(format!(
            "The exact optimum was not computed (tables over {} cells need --compare-exact).",
            linreg_fit::AUTO_CELLS
        ));
    }
    let mut metrics = metrics_rows("train", &summary.metrics.train);
    metrics.extend(metrics_rows("test", &summary.metrics.test));
    Report {
        headline,
        notes,
        history: (!summary.history.is_empty()).then(|| LossHistory {
            loss,
            epochs: summary.history.iter().map(|e| e.epoch).collect(),
            train: summary.history.iter().map(|e| e.train_loss).collect(),
            test: summary.history.iter().map(|e| e.test_loss).collect(),
            best_epoch: summary.best_epoch,
        }),
        coefficients: Some(coefficients(
            &summary.original_units,
            summary.exact.as_ref(),
            summary.inference.as_ref(),
            standardizer,
            &summary.features,
            &summary.targets,
        )),
        metrics,
        exact: summary.exact.as_ref().map(exact_gap),
        config: config_rows(summary),
        ..Report::default()
    }
}

/// Every file the run wrote: the model, its description, the summary, the charts, the page.
fn files(summary: &Summary, summary_path: &Path, report_path: &Path) -> Vec<PathBuf> {
    let f = &summary.files;
    [&f.model, &f.model_meta, &summary_path.to_path_buf()]
        .into_iter()
        .chain(&f.plots)
        .cloned()
        .chain([report_path.to_path_buf()])
        .collect()
}

/// A path's last part, for titles.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn write(report: &Report, path: &Path) -> Result<PathBuf> {
    report.write(path)?;
    Ok(path.to_path_buf())
}

/// `report.html` for the tutorial run; `None` with `--no-report`.
pub fn tutorial(
    args: &TutorialArgs,
    split: &Split,
    predictions: &[f32],
    summary: &Summary,
    summary_path: &Path,
) -> Result<Option<PathBuf>> {
    if args.report.no_report {
        return Ok(None);
    }
    let path = args.out.join(REPORT_FILE);
    let points = |d: &linreg_data::Dataset| Points {
        x: d.x.values().to_vec(),
        y: d.y.values().to_vec(),
    };
    let report = Report {
        title: "linreg: the PyTorch \u{201c}Linear Models\u{201d} tutorial on Burn".into(),
        description: format!(
            "Linear(1, 1) fitted to y = {}·x + {} for x = arange(0, 1, {}) ({} training and {} \
             test rows) with {} loss and {}, on {} ({}).",
            args.weight,
            args.bias,
            args.step,
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
        files: files(summary, summary_path, &path),
        ..from_summary(summary, None)
    };
    write(&report, &path).map(Some)
}

/// Says that only the first targets get figures (the tables list them all).
fn few_targets_note(targets: &[String]) -> Option<String> {
    let max = linreg_report::MAX_TARGET_FIGURES;
    (targets.len() > max).then(|| {
        format!(
            "Figures are drawn for the first {max} of {} targets; the tables list all of them.",
            targets.len()
        )
    })
}

/// Each target's actual and predicted values on each set, for the first
/// [`linreg_report::MAX_TARGET_FIGURES`] targets (the others are not drawn, so not copied).
fn fits(
    targets: &[String],
    sets: &[(Role, &Matrix, &Matrix)], // (role, actual, predicted)
) -> Vec<TargetFit> {
    targets
        .iter()
        .enumerate()
        .take(linreg_report::MAX_TARGET_FIGURES)
        .map(|(j, name)| TargetFit {
            target: name.clone(),
            sets: sets
                .iter()
                .map(|&(role, actual, predicted)| FitSet {
                    role,
                    actual: actual.column_values(j),
                    predicted: predicted.column_values(j),
                })
                .collect(),
        })
        .collect()
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
    let split = &data.split;
    let train_pred = predict(model, &split.train.x, device);
    let test_pred = predict(model, &split.test.x, device);
    let standardizer = data.standardizer.as_ref();
    // One feature and one target: the tutorial's x–y figures too, on the original x.
    let tutorial = (data.features.len() == 1 && data.targets.len() == 1).then(|| {
        let x = |m: &Matrix| -> Vec<f32> {
            match standardizer {
                Some(s) => m
                    .values()
                    .iter()
                    .map(|&v| (f64::from(v) * s.scale[0] + s.mean[0]) as f32)
                    .collect(),
                None => m.values().to_vec(),
            }
        };
        XyFigures {
            x_label: data.features[0].clone(),
            y_label: data.targets[0].clone(),
            train: Points {
                x: x(&split.train.x),
                y: split.train.y.values().to_vec(),
            },
            test: Points {
                x: x(&split.test.x),
                y: split.test.y.values().to_vec(),
            },
            predictions: Some(test_pred.values().to_vec()),
        }
    });
    let mut report = Report {
        title: format!(
            "linreg train: {} → {}",
            file_name(&spec.table.data),
            data.targets.join(", ")
        ),
        description: format!(
            "Linear({} → {}) fitted by {} ({} loss, {}) on {} training and {} test rows, on {} ({}).",
            data.features.len(),
            data.targets.len(),
            if summary.solver == "gd" {
                "gradient descent"
            } else {
                "the exact solver"
            },
            summary.loss.to_uppercase(),
            summary.optimizer.to_uppercase(),
            summary.rows.train,
            summary.rows.test,
            summary.backend,
            summary.device
        ),
        tutorial,
        fits: fits(
            &data.targets,
            &[
                (Role::Train, &split.train.y, &train_pred),
                (Role::Test, &split.test.y, &test_pred),
            ],
        ),
        files: files(summary, summary_path, &path),
        ..from_summary(summary, standardizer)
    };
    report.notes.extend(few_targets_note(&data.targets));
    write(&report, &path)
}

/// `report.html` for `linreg evaluate`, in `--out`: `rows` holds the targets as read and
/// the predictions.
pub fn evaluate<B: Backend>(
    args: &EvaluateArgs,
    model: &LrModel<B>,
    meta: &ModelMeta,
    (actual, predicted): &(Matrix, Matrix),
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
    let data = file_name(&args.table.data);
    let metrics_json = MetricsJson::new(metrics, &meta.targets);
    let mut headline = vec![
        ("rows".to_string(), actual.rows().to_string()),
        ("R²".to_string(), format!("{:.5}", metrics.mean.r2)),
        ("RMSE".to_string(), format!("{:.6}", metrics.mean.rmse)),
    ];
    if let (Some(name), Some(v)) = (&meta.loss, loss) {
        headline.insert(
            1,
            (format!("{} loss", name.to_uppercase()), format!("{v:.6}")),
        );
    }
    let params = ParamsJson::from(model.params());
    let standardizer = meta.standardizer();
    let report = Report {
        title: format!("linreg evaluate: {data}"),
        description: format!(
            "The model in {} scored on {} ({} rows).",
            args.model.display(),
            args.table.data.display(),
            actual.rows()
        ),
        headline,
        fits: fits(
            &meta.targets,
            &[(Role::Evaluated, actual, predicted)],
        ),
        coefficients: Some(coefficients(
            &params.in_original_units(standardizer.as_ref()),
            None,
            None,
            standardizer.as_ref(),
            &meta.features,
            &meta.targets,
        )),
        metrics: metrics_rows(&data, &metrics_json),
        config: vec![
            ("command".into(), command_line()),
            ("model".into(), args.model.display().to_string()),
            ("data".into(), args.table.data.display().to_string()),
            ("rows".into(), actual.rows().to_string()),
            ("features".into(), list(&meta.features)),
            ("targets".into(), list(&meta.targets)),
            (
                "loss".into(),
                meta.loss.clone().unwrap_or_else(|| "—".into()),
            ),
            (
                "standardized".into(),
                meta.standardization.is_some().to_string(),
            ),
        ],
        notes: few_targets_note(&meta.targets).into_iter().collect(),
        files: vec![path.clone()],
        ..Report::default()
    };
    report
        .write(&path)
        .with_context(|| "could not write the evaluation report".to_string())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Fake {
        backend: &'static str,
        seed: Option<u64>,
        features: Vec<&'static str>,
        rows: (usize, usize),
        history: Vec<u8>,
        nested: serde_json::Value,
        lr: f64,
    }

    #[test]
    fn config_rows_take_the_summary_settings_in_order() {
        let rows = config_rows(&Fake {
            backend: "ndarray",
            seed: None,
            features: vec!["a", "b"],
            rows: (3, 4),
            history: vec![1, 2],
            nested: serde_json::json!({"train": 40, "test": 10, "deep": {"x": 1}}),
            lr: 0.01,
        });
        let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        // The struct's order, not the alphabet's; nested objects one level deep.
        assert_eq!(
            keys,
            [
                "command",
                "backend",
                "seed",
                "features",
                "rows",
                "nested.test",
                "nested.train",
                "lr"
            ]
        );
        assert_eq!(rows[2].1, "—");
        assert_eq!(rows[3].1, "a, b");
        assert_eq!(rows[4].1, "3, 4");
        assert_eq!(rows[7].1, "0.01");
    }

    #[test]
    fn many_targets_are_named_in_a_note() {
        let names = |n: usize| (0..n).map(|i| format!("y{i}")).collect::<Vec<_>>();
        assert_eq!(few_targets_note(&names(4)), None);
        assert_eq!(
            few_targets_note(&names(7)).unwrap(),
            "Figures are drawn for the first 4 of 7 targets; the tables list all of them."
        );
    }

    #[test]
    fn long_lists_are_cut() {
        let items: Vec<String> = (0..100).map(|i| format!("x{i}")).collect();
        let text = list(&items);
        assert!(text.starts_with("x0, x1,") && text.ends_with("x39, … (100 in all)"));
    }
}
