//! `report.html`'s content: what a fit, an evaluation or the tutorial computed, turned into
//! `linreg_report`'s input types. Writing the page is the caller's (`Report::write`).

use std::path::{Path, PathBuf};

use burn::prelude::Backend;
use linreg_data::{Matrix, Standardizer};
use linreg_model::LrModel;
use linreg_report::{
    Coefficients, CvCurve, ExactGap, FitSet, GapRow, LossHistory, MetricsRow, Points,
    Regularization, Report, Role, TargetCoefficients, TargetFit, Term, XyFigures,
};
use linreg_store::{
    ExactReport, InferenceJson, MetricsJson, ModelMeta, ParamsJson, PenaltyJson, Summary,
};
use linreg_train::{predict, Metrics};
use serde::Serialize;

use crate::Prepared;

/// `summary.json`'s settings as label/value rows, in the file's order: every field that is a
/// plain value, a list of plain values, or an object of them (so options added to the summary
/// later show up here too). Results (parameters, history, metrics, files) have their own
/// sections and are left out.
fn config_rows(summary: &impl Serialize, command: &str) -> Vec<(String, String)> {
    const RESULTS: [&str; 11] = [
        "penalty",
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
    let mut rows = vec![("command".to_string(), command.to_string())];
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
pub fn from_summary(
    summary: &Summary,
    standardizer: Option<&Standardizer>,
    command: &str,
) -> Report {
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
            crate::AUTO_CELLS
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
        regularization: summary
            .penalty
            .as_ref()
            .map(|p| regularization(p, &summary.features, &summary.targets)),
        config: config_rows(summary, command),
        ..Report::default()
    }
}

/// A penalized fit's path and cross-validation, one curve per target and feature.
/// (α = 0, least squares, has no place on the figures' log axis and is left out.)
fn regularization(p: &PenaltyJson, features: &[String], targets: &[String]) -> Regularization {
    let path = &p.path;
    let keep: Vec<usize> = (0..path.alphas.len())
        .filter(|&i| path.alphas[i] > 0.0)
        .collect();
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let coefficients = path
        .curves(features, targets)
        .into_iter()
        .map(|(name, v)| (name, pick(&v)))
        .collect();
    Regularization {
        alphas: pick(&path.alphas),
        coefficients,
        chosen: path.alpha,
        cv: p.cv.as_ref().map(|cv| CvCurve {
            mean: pick(&cv.mean),
            standard_error: pick(&cv.standard_error),
            alpha_min: cv.alpha_min,
            alpha_1se: cv.alpha_1se,
        }),
    }
}

/// Every file the run wrote: the model, its description, the summary, the charts, the page.
pub fn files(summary: &Summary, summary_path: &Path, report_path: &Path) -> Vec<PathBuf> {
    let f = &summary.files;
    [&f.model, &f.model_meta, &summary_path.to_path_buf()]
        .into_iter()
        .chain(&f.plots)
        .cloned()
        .chain([report_path.to_path_buf()])
        .collect()
}

/// A path's last part, for titles.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
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

/// One feature and one target: the tutorial's x–y figures too, on the original x.
fn xy_figures(data: &Prepared, test_pred: &Matrix) -> Option<XyFigures> {
    let (split, standardizer) = (&data.split, data.standardizer.as_ref());
    (data.features.len() == 1 && data.targets.len() == 1).then(|| {
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
    })
}

/// The page of a fit: the sections every run shares, the x–y figures for one feature and
/// one target (on the original x), each target's fit, and every file written.
pub fn train<B: Backend>(
    summary: &Summary,
    files: Vec<PathBuf>,
    data: &Prepared,
    model: &LrModel<B>,
    device: &B::Device,
    (table, command): (&Path, &str),
) -> Report {
    let split = &data.split;
    let train_pred = predict(model, &split.train.x, device);
    let test_pred = predict(model, &split.test.x, device);
    let standardizer = data.standardizer.as_ref();
    let tutorial = xy_figures(data, &test_pred);
    let mut report = Report {
        title: format!(
            "linreg train: {} → {}",
            file_name(table),
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
        files,
        ..from_summary(summary, standardizer, command)
    };
    report.notes.extend(few_targets_note(&data.targets));
    report
}

/// The page of an evaluation: the model in `model_path` scored on the table in `table`;
/// `rows` holds the targets as read and the predictions.
pub fn evaluate<B: Backend>(
    (model_path, table, command): (&Path, &Path, &str),
    model: &LrModel<B>,
    meta: &ModelMeta,
    (actual, predicted): &(Matrix, Matrix),
    metrics: &Metrics,
    loss: Option<f64>,
) -> Report {
    let data = file_name(table);
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
    Report {
        title: format!("linreg evaluate: {data}"),
        description: format!(
            "The model in {} scored on {} ({} rows).",
            model_path.display(),
            table.display(),
            actual.rows()
        ),
        headline,
        fits: fits(&meta.targets, &[(Role::Evaluated, actual, predicted)]),
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
            ("command".into(), command.to_string()),
            ("model".into(), model_path.display().to_string()),
            ("data".into(), table.display().to_string()),
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
        files: Vec::new(),
        ..Report::default()
    }
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
        let rows = config_rows(
            &Fake {
                backend: "ndarray",
                seed: None,
                features: vec!["a", "b"],
                rows: (3, 4),
                history: vec![1, 2],
                nested: serde_json::json!({"train": 40, "test": 10, "deep": {"x": 1}}),
                lr: 0.01,
            },
            "linreg",
        );
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
