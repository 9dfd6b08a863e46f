//! The run's figures, each as PNG and SVG: the loss curves, and the predictions (the
//! tutorial's x–y figures for one feature, predicted-vs-actual otherwise).

use std::path::{Path, PathBuf};

use anyhow::Result;
use linreg_data::Split;
use linreg_fit::Prepared;
use linreg_store::PenaltyJson;
use linreg_train::{predict, FusedAutodiffBackend, LogEntry, Trained};

/// Draws `loss.png` and `loss.svg` in `dir` from the logged history, and returns their paths;
/// none when nothing was logged (an exact solve has no epochs).
pub fn loss_curves(dir: &Path, history: &[LogEntry]) -> Result<Vec<PathBuf>> {
    if history.is_empty() {
        return Ok(Vec::new());
    }
    let epochs: Vec<usize> = history.iter().map(|e| e.epoch).collect();
    let train: Vec<f64> = history.iter().map(|e| e.train_loss).collect();
    let test: Vec<f64> = history.iter().map(|e| e.test_loss).collect();
    ["png", "svg"]
        .into_iter()
        .map(|ext| {
            let path = dir.join(format!("loss.{ext}"));
            linreg_plot::plot_epoch_losses(&path, &epochs, &train, &test)?;
            Ok(path)
        })
        .collect()
}

/// A penalized fit's figures: `path.*` (the coefficients against log α) and, after
/// cross-validation, `cv.*` (the mean held-out error with one standard error either side).
pub fn penalty(
    dir: &Path,
    p: &PenaltyJson,
    features: &[String],
    targets: &[String],
) -> Result<Vec<PathBuf>> {
    let path = &p.path;
    let coefficients = path.curves(features, targets);
    let mut written = Vec::new();
    // One α has no path to draw.
    if path.alphas.len() < 2 {
        return Ok(written);
    }
    for ext in ["png", "svg"] {
        let file = dir.join(format!("path.{ext}"));
        linreg_plot::plot_path(&file, &path.alphas, &coefficients)?;
        written.push(file);
        if let Some(cv) = &p.cv {
            let file = dir.join(format!("cv.{ext}"));
            let curve = (cv.mean.as_slice(), cv.standard_error.as_slice());
            linreg_plot::plot_cv(&file, &path.alphas, curve, (cv.alpha_min, cv.alpha_1se))?;
            written.push(file);
        }
    }
    Ok(written)
}

/// `data.*` (the rows) and `predictions.*` (the rows and the test predictions) of one
/// feature and one target, on the columns as given.
fn xy(dir: &Path, split: &Split, test_pred: &[f32], written: &mut Vec<PathBuf>) -> Result<()> {
    let train = (split.train.x.values(), split.train.y.values());
    let test = (split.test.x.values(), split.test.y.values());
    for ext in ["png", "svg"] {
        let path = dir.join(format!("data.{ext}"));
        linreg_plot::plot_predictions(&path, train, test, None)?;
        written.push(path);
        let path = dir.join(format!("predictions.{ext}"));
        linreg_plot::plot_predictions(&path, train, test, Some(test_pred))?;
        written.push(path);
    }
    Ok(())
}

/// The tutorial's figures: the loss curves, the data, the test predictions.
pub fn tutorial(
    dir: &Path,
    split: &Split,
    predictions: &[f32],
    history: &[LogEntry],
) -> Result<Vec<PathBuf>> {
    let mut written = loss_curves(dir, history)?;
    xy(dir, split, predictions, &mut written)?;
    written.sort();
    Ok(written)
}

/// A fit's figures: the loss curves, and the tutorial's x–y figures for one feature on the
/// columns as given, predicted-vs-actual for the first target otherwise.
pub fn train<B: FusedAutodiffBackend>(
    dir: &Path,
    data: &Prepared,
    trained: &Trained<B>,
    device: &B::Device,
) -> Result<Vec<PathBuf>> {
    let split = &data.split;
    let test_pred = predict(&trained.model, &split.test.x, device);
    let mut written = loss_curves(dir, &trained.history)?;
    let xy_figures = data.features.len() == 1 && data.standardizer.is_none();
    if xy_figures && data.targets.len() == 1 {
        xy(dir, split, test_pred.values(), &mut written)?;
    } else {
        let train_pred = predict(&trained.model, &split.train.x, device);
        let column = |m: &linreg_data::Matrix| m.column_values(0);
        for ext in ["png", "svg"] {
            let path = dir.join(format!("predictions.{ext}"));
            linreg_plot::plot_predicted_vs_actual(
                &path,
                &data.targets[0],
                (&column(&split.train.y), &column(&train_pred)),
                (&column(&split.test.y), &column(&test_pred)),
            )?;
            written.push(path);
        }
    }
    written.sort();
    Ok(written)
}
