//! The report's figures: plotly `Plot`s built from the report's numbers, each rendered to the
//! `<div>` + `Plotly.newPlot` snippet that the plotly crate writes for inline plots.

use plotly::common::{
    DashType, ErrorData, ErrorType, HoverInfo, Line, Marker, MarkerSymbol, Mode, Title,
};
use plotly::layout::themes::PLOTLY_WHITE;
use plotly::layout::update_menu::{Button, ButtonMethod, UpdateMenu, UpdateMenuType};
use plotly::layout::{Annotation, Axis, AxisType, BarMode, Legend, Shape, ShapeLine, ShapeType};
use plotly::{Bar, Configuration, Layout, Plot, Scatter};
use serde_json::json;

use crate::{
    Coefficients, CvCurve, LossHistory, Regularization, ReportError, Role, TargetFit, XyFigures,
    MAX_POINTS, PREDICTION_COLOR, TEST_COLOR, TRAIN_COLOR,
};

/// Colour of reference lines (the diagonal, zero residual, the kept epoch).
const GUIDE_COLOR: &str = "#7f7f7f";

/// One drawn figure, and what the page must show once plotly.js has drawn it (the browser
/// test compares these counts with the DOM).
#[derive(Debug, Clone)]
pub struct Figure {
    /// The plot's element id.
    pub id: String,
    /// The plotly crate's inline HTML: a `<div>` and the script that draws into it.
    pub html: String,
    /// Marker points the figure draws (one SVG `path.point` each).
    pub markers: usize,
    /// Line traces (one SVG `path.js-line` each).
    pub lines: usize,
    /// Bars.
    pub bars: usize,
    /// Sentences under the figure (what was thinned, what a marker means).
    pub notes: Vec<String>,
    /// Whether it spans the page's width rather than one column.
    pub wide: bool,
}

/// Every `stride`-th index, so that at most [`MAX_POINTS`] remain (the same points as the PNG
/// charts draw).
pub(crate) fn stride(len: usize) -> usize {
    len.div_ceil(MAX_POINTS).max(1)
}

/// The thinned values.
pub(crate) fn thin<T: Copy>(values: &[T]) -> Vec<T> {
    values
        .iter()
        .copied()
        .step_by(stride(values.len()))
        .collect()
}

/// The thinned indices of a curve, always ending at its last point (a loss curve's final
/// value matters most).
pub(crate) fn thin_curve(len: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..len).step_by(stride(len)).collect();
    if let (Some(&last), true) = (idx.last(), len > 0) {
        if last != len - 1 {
            idx.push(len - 1);
        }
    }
    idx
}

/// A sentence saying how a series was thinned, or none when it was drawn whole.
pub(crate) fn thinning_note(what: &str, len: usize) -> Option<String> {
    let k = stride(len);
    (k > 1).then(|| {
        format!(
            "{what}: {} rows; every {} drawn ({} points).",
            group(len),
            ordinal(k),
            group(len.div_ceil(k))
        )
    })
}

/// `1234567` as `1,234,567`.
pub(crate) fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ordinal(k: usize) -> String {
    let suffix = match (k % 10, k % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{}{suffix}", group(k))
}

fn check(what: &str, left: usize, right: usize) -> Result<(), ReportError> {
    if left == right {
        Ok(())
    } else {
        Err(ReportError::Mismatch {
            what: what.to_string(),
            left,
            right,
        })
    }
}

/// The tutorial's `template='plotly_white'` layout with a title and axis titles.
fn layout(title: &str, x_label: &str, y_label: &str) -> Layout {
    Layout::new()
        .template(&*PLOTLY_WHITE)
        .title(Title::with_text(title))
        .x_axis(Axis::new().title(Title::with_text(x_label)))
        .y_axis(Axis::new().title(Title::with_text(y_label)))
}

fn finish(
    id: String,
    mut plot: Plot,
    layout: Layout,
    counts: (usize, usize, usize),
    notes: Vec<String>,
) -> Figure {
    plot.set_layout(layout);
    // Resizes with the page; no link to plotly's site in the mode bar.
    plot.set_configuration(Configuration::new().responsive(true).display_logo(false));
    Figure {
        html: plot.to_inline_html(Some(&id)),
        id,
        markers: counts.0,
        lines: counts.1,
        bars: counts.2,
        notes,
        wide: false,
    }
}

fn markers(x: Vec<f32>, y: Vec<f32>, name: &str, color: &'static str) -> Box<Scatter<f32, f32>> {
    Scatter::new(x, y)
        .mode(Mode::Markers)
        .name(name)
        .marker(Marker::new().color(color).size(8))
}

/// `plot_predictions` from the tutorial: training and test data, and the predictions at the
/// test inputs when given.
pub(crate) fn tutorial(data: &XyFigures, with_predictions: bool) -> Result<Figure, ReportError> {
    check("training data", data.train.x.len(), data.train.y.len())?;
    check("test data", data.test.x.len(), data.test.y.len())?;
    let mut plot = Plot::new();
    let mut drawn = 0;
    let mut notes = Vec::new();
    for (points, name, color) in [
        (&data.train, "Training Data", TRAIN_COLOR),
        (&data.test, "Testing Data", TEST_COLOR),
    ] {
        let (x, y) = (thin(&points.x), thin(&points.y));
        drawn += x.len();
        notes.extend(thinning_note(name, points.x.len()));
        plot.add_trace(markers(x, y, name, color));
    }
    let (id, title) = match (&data.predictions, with_predictions) {
        (Some(pred), true) => {
            check("predictions", data.test.x.len(), pred.len())?;
            let (x, y) = (thin(&data.test.x), thin(pred));
            drawn += x.len();
            plot.add_trace(markers(x, y, "Predictions", PREDICTION_COLOR));
            ("fig-predictions", "True and Predicted Data")
        }
        _ => (
            "fig-data",
            "Features v. Outcome for Testing and Training Data",
        ),
    };
    let layout = layout(title, &data.x_label, &data.y_label);
    Ok(finish(id.into(), plot, layout, (drawn, 0, 0), notes))
}

/// `plot_epoch_losses` from the tutorial, with buttons that switch the loss axis between
/// linear and log scale.
pub(crate) fn losses(history: &LossHistory) -> Result<Figure, ReportError> {
    check(
        "loss history (train)",
        history.epochs.len(),
        history.train.len(),
    )?;
    check(
        "loss history (test)",
        history.epochs.len(),
        history.test.len(),
    )?;
    let idx = thin_curve(history.epochs.len());
    let pick = |v: &[f64]| idx.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let epochs: Vec<usize> = idx.iter().map(|&i| history.epochs[i]).collect();
    let mut plot = Plot::new();
    for (loss, name, color) in [
        (&history.train, "Training Loss", TRAIN_COLOR),
        (&history.test, "Testing Loss", TEST_COLOR),
    ] {
        plot.add_trace(
            Scatter::new(epochs.clone(), pick(loss))
                .mode(Mode::Lines)
                .name(name)
                .line(Line::new().color(color).width(2.0)),
        );
    }
    let scale = |label: &str, ty: &str| {
        Button::new()
            .label(label)
            .method(ButtonMethod::Relayout)
            .args(json!([{ "yaxis.type": ty }]))
    };
    let mut layout = layout("Training and Testing Losses vs Epochs", "Epochs", "Loss")
        .legend(Legend::new().title(Title::with_text("Legend")))
        .update_menus(vec![UpdateMenu::new()
            .ty(UpdateMenuType::Buttons)
            .direction(plotly::layout::update_menu::UpdateMenuDirection::Right)
            .active(0)
            .x(1.0)
            .x_anchor(plotly::common::Anchor::Right)
            .y(1.16)
            .y_anchor(plotly::common::Anchor::Top)
            .buttons(vec![
                scale("Linear scale", "linear"),
                scale("Log scale", "log"),
            ])])
        .y_axis(
            Axis::new()
                .title(Title::with_text("Loss"))
                .type_(AxisType::Linear),
        );
    let mut notes = vec![format!(
        "{} loss at each logged epoch; the buttons switch the loss axis between linear and log scale.",
        history.loss
    )];
    if let Some(best) = history.best_epoch {
        layout = layout
            .shapes(vec![vertical_guide(best as f64)])
            .annotations(vec![Annotation::new()
                .x(best as f64)
                .y_ref("paper")
                .y(1.0)
                .text(format!("kept epoch {best}"))
                .show_arrow(false)
                .y_anchor(plotly::common::Anchor::Bottom)]);
        notes.push(format!(
            "Early stopping kept the model of epoch {best} (dotted line)."
        ));
    }
    if idx.len() < history.epochs.len() {
        notes.push(format!(
            "{} logged epochs; every {} drawn, and the last ({} points).",
            group(history.epochs.len()),
            ordinal(stride(history.epochs.len())),
            group(idx.len())
        ));
    }
    Ok(finish("fig-loss".into(), plot, layout, (0, 2, 0), notes))
}

fn vertical_guide(x: f64) -> Shape {
    Shape::new()
        .shape_type(ShapeType::Line)
        .x_ref("x")
        .x0(x)
        .x1(x)
        .y_ref("paper")
        .y0(0.0)
        .y1(1.0)
        .line(
            ShapeLine::new()
                .color(GUIDE_COLOR)
                .width(1.5)
                .dash(DashType::Dot),
        )
}

fn horizontal_guide(y: f64) -> Shape {
    Shape::new()
        .shape_type(ShapeType::Line)
        .x_ref("paper")
        .x0(0.0)
        .x1(1.0)
        .y_ref("y")
        .y0(y)
        .y1(y)
        .line(
            ShapeLine::new()
                .color(GUIDE_COLOR)
                .width(1.5)
                .dash(DashType::Dash),
        )
}

fn role_style(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Train => ("Training Data", TRAIN_COLOR),
        Role::Test => ("Testing Data", TEST_COLOR),
        Role::Evaluated => ("Evaluated Data", PREDICTION_COLOR),
    }
}

fn slug(index: usize, kind: &str) -> String {
    format!("fig-{kind}-{index}")
}

/// Padded range covering every finite value, never empty.
fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (-1.0, 1.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        lo.abs().max(1.0) * 0.05
    };
    (lo - pad, hi + pad)
}

/// Predicted against actual values of one target, with the diagonal of perfect predictions
/// (the PNG chart's twin).
pub(crate) fn predicted_vs_actual(index: usize, fit: &TargetFit) -> Result<Figure, ReportError> {
    let mut plot = Plot::new();
    let mut drawn = 0;
    let mut notes = Vec::new();
    for set in &fit.sets {
        check(
            &format!("{} of target {}", role_style(set.role).0, fit.target),
            set.actual.len(),
            set.predicted.len(),
        )?;
        let (name, color) = role_style(set.role);
        let (x, y) = (thin(&set.actual), thin(&set.predicted));
        drawn += x.len();
        notes.extend(thinning_note(name, set.actual.len()));
        plot.add_trace(markers(x, y, name, color));
    }
    let all = fit
        .sets
        .iter()
        .flat_map(|s| s.actual.iter().chain(&s.predicted))
        .map(|&v| f64::from(v));
    let (lo, hi) = padded_range(all);
    plot.add_trace(
        Scatter::new(vec![lo, hi], vec![lo, hi])
            .mode(Mode::Lines)
            .name("Perfect prediction")
            .hover_info(HoverInfo::Skip)
            .line(Line::new().color(GUIDE_COLOR).width(1.0)),
    );
    let t = &fit.target;
    // One scale on both axes, so the diagonal is at 45°.
    let layout = layout(
        &format!("Predicted vs actual {t}"),
        &format!("actual {t}"),
        &format!("predicted {t}"),
    )
    .x_axis(
        Axis::new()
            .title(Title::with_text(format!("actual {t}")))
            .range(vec![lo, hi]),
    )
    .y_axis(
        Axis::new()
            .title(Title::with_text(format!("predicted {t}")))
            .range(vec![lo, hi]),
    );
    Ok(finish(
        slug(index, "pva"),
        plot,
        layout,
        (drawn, 1, 0),
        notes,
    ))
}

/// Residuals (actual − predicted) against predictions, with the zero line.
pub(crate) fn residuals(index: usize, fit: &TargetFit) -> Result<Figure, ReportError> {
    let mut plot = Plot::new();
    let mut drawn = 0;
    for set in &fit.sets {
        let (name, color) = role_style(set.role);
        let residual: Vec<f32> = set
            .actual
            .iter()
            .zip(&set.predicted)
            .map(|(&a, &p)| (f64::from(a) - f64::from(p)) as f32)
            .collect();
        let (x, y) = (thin(&set.predicted), thin(&residual));
        drawn += x.len();
        plot.add_trace(markers(x, y, name, color));
    }
    let t = &fit.target;
    let layout = layout(
        &format!("Residuals vs predictions ({t})"),
        &format!("predicted {t}"),
        "residual (actual − predicted)",
    )
    .shapes(vec![horizontal_guide(0.0)]);
    Ok(finish(
        slug(index, "residuals"),
        plot,
        layout,
        (drawn, 0, 0),
        Vec::new(),
    ))
}

/// Bin edges shared by every set: the Rice rule's `2·n^(1/3)` bins, between 5 and 60, over the
/// range of all residuals.
pub(crate) fn bin_edges(residuals: &[Vec<f64>]) -> Vec<f64> {
    let n = residuals.iter().flatten().filter(|v| v.is_finite()).count();
    let (lo, hi) = residuals
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return vec![-0.5, 0.5];
    }
    if lo == hi {
        let half = lo.abs().max(1.0) * 0.05;
        return vec![lo - half, lo + half];
    }
    let bins = ((2.0 * (n as f64).cbrt()).ceil() as usize).clamp(5, 60);
    let width = (hi - lo) / bins as f64;
    (0..=bins).map(|i| lo + width * i as f64).collect()
}

/// Counts per bin; the last bin includes its right edge, so every finite value is counted.
pub(crate) fn histogram(values: &[f64], edges: &[f64]) -> Vec<usize> {
    let bins = edges.len() - 1;
    let (lo, hi) = (edges[0], edges[bins]);
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0; bins];
    for &v in values.iter().filter(|v| v.is_finite()) {
        let mut i = (((v - lo) / width).floor().max(0.0) as usize).min(bins - 1);
        // Floating-point division can land a value one bin off its edges; the edges decide.
        if i > 0 && v < edges[i] {
            i -= 1;
        } else if i + 1 < bins && v >= edges[i + 1] {
            i += 1;
        }
        counts[i] += 1;
    }
    counts
}

/// A histogram of the residuals of every row (not thinned), one overlaid bar series per set.
pub(crate) fn residual_histogram(index: usize, fit: &TargetFit) -> Result<Figure, ReportError> {
    let residuals: Vec<Vec<f64>> = fit
        .sets
        .iter()
        .map(|s| {
            s.actual
                .iter()
                .zip(&s.predicted)
                .map(|(&a, &p)| f64::from(a) - f64::from(p))
                .collect()
        })
        .collect();
    let edges = bin_edges(&residuals);
    let centers: Vec<f64> = edges.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
    let width = edges[1] - edges[0];
    let mut plot = Plot::new();
    for (set, values) in fit.sets.iter().zip(&residuals) {
        let (name, color) = role_style(set.role);
        let counts = histogram(values, &edges);
        let ranges: Vec<String> = edges
            .windows(2)
            .map(|w| format!("[{:.4}, {:.4})", w[0], w[1]))
            .collect();
        plot.add_trace(
            Bar::new(centers.clone(), counts)
                .name(name)
                .width(width)
                .opacity(0.6)
                .marker(Marker::new().color(color))
                .hover_text_array(ranges)
                .hover_template("residual %{hovertext}: %{y} rows<extra>%{fullData.name}</extra>"),
        );
    }
    let t = &fit.target;
    let layout = layout(
        &format!("Residual histogram ({t})"),
        "residual (actual − predicted)",
        "rows",
    )
    .bar_mode(BarMode::Overlay);
    let bars = centers.len() * fit.sets.len();
    Ok(finish(
        slug(index, "histogram"),
        plot,
        layout,
        (0, 0, bars),
        vec![format!(
            "Every row's residual, in {} bins of width {:.4}.",
            centers.len(),
            width
        )],
    ))
}

/// The coefficients of one target: estimates with their confidence intervals as error bars
/// when known, and the exact optimum's beside them when known.
pub(crate) fn coefficients(
    index: usize,
    coefficients: &Coefficients,
    target: usize,
) -> Result<Figure, ReportError> {
    let tc = &coefficients.targets[target];
    let names: Vec<String> = tc.terms.iter().map(|t| t.name.clone()).collect();
    let estimates: Vec<f64> = tc.terms.iter().map(|t| t.estimate).collect();
    let mut trace = Scatter::new(names.clone(), estimates)
        .mode(Mode::Markers)
        .name("estimate")
        .marker(Marker::new().color(TRAIN_COLOR).size(9));
    let mut notes = vec![coefficients.caption.clone()];
    if tc.terms.iter().any(|t| t.interval.is_some()) {
        let (plus, minus): (Vec<f64>, Vec<f64>) = tc
            .terms
            .iter()
            .map(|t| match t.interval {
                Some((lo, hi)) => (hi - t.estimate, t.estimate - lo),
                None => (0.0, 0.0),
            })
            .unzip();
        trace = trace.error_y(
            ErrorData::new(ErrorType::Data)
                .array(plus)
                .array_minus(minus)
                .symmetric(false)
                .color(TRAIN_COLOR),
        );
        notes.push(match coefficients.level {
            Some(level) => format!("Bars: {}% confidence intervals.", level * 100.0),
            None => "Bars: confidence intervals.".to_string(),
        });
    }
    let mut plot = Plot::new();
    plot.add_trace(trace);
    let mut drawn = names.len();
    let exact: Vec<f64> = tc.terms.iter().filter_map(|t| t.exact).collect();
    if exact.len() == tc.terms.len() && !exact.is_empty() {
        drawn += exact.len();
        plot.add_trace(
            Scatter::new(names, exact)
                .mode(Mode::Markers)
                .name("exact optimum")
                .marker(
                    Marker::new()
                        .color(PREDICTION_COLOR)
                        .size(11)
                        .symbol(MarkerSymbol::DiamondOpen),
                ),
        );
    }
    let layout = layout(
        &format!("Coefficients ({})", tc.target),
        "term",
        "coefficient",
    )
    .shapes(vec![horizontal_guide(0.0)]);
    Ok(finish(
        slug(index, "coefficients"),
        plot,
        layout,
        (drawn, 0, 0),
        notes,
    ))
}

/// A figure against α on a log axis, with a dotted line at each α of `marks` (those > 0: a
/// shape on a log axis is placed at the data value itself, and 0 has no place there) and
/// `extra`, if any.
fn alpha_layout(title: &str, y_label: &str, (marks, extra): (&[f64], Option<Shape>)) -> Layout {
    let x_label = "α (log scale)";
    layout(title, x_label, y_label)
        .x_axis(
            Axis::new()
                .title(Title::with_text(x_label))
                .type_(AxisType::Log),
        )
        .shapes(
            marks
                .iter()
                .filter(|a| **a > 0.0)
                .map(|&a| vertical_guide(a))
                .chain(extra)
                .collect(),
        )
}

/// The coefficients along the path against α on a log axis, the saved α marked.
pub(crate) fn path(r: &Regularization) -> Result<Figure, ReportError> {
    let mut plot = Plot::new();
    for (name, values) in &r.coefficients {
        check(&format!("path of {name}"), r.alphas.len(), values.len())?;
        plot.add_trace(
            Scatter::new(r.alphas.clone(), values.clone())
                .mode(Mode::Lines)
                .name(name)
                .line(Line::new().width(2.0)),
        );
    }
    let layout = alpha_layout(
        "Coefficients along the regularization path",
        "coefficient (original units)",
        (&[r.chosen], Some(horizontal_guide(0.0))),
    );
    let notes = vec![format!(
        "Each line is a coefficient on the original columns, from α_max (all zero) on the right \
         to the smallest α on the left; the dotted line marks the saved model's α = {}.",
        crate::page::num(r.chosen)
    )];
    let lines = r.coefficients.len();
    Ok(finish(
        "fig-path".into(),
        plot,
        layout,
        (0, lines, 0),
        notes,
    ))
}

/// The cross-validation curve with one-standard-error bars and the two chosen α, as
/// `plot(cv.glmnet)` draws it.
pub(crate) fn cv(alphas: &[f64], cv: &CvCurve) -> Result<Figure, ReportError> {
    check("cross-validation means", alphas.len(), cv.mean.len())?;
    check(
        "cross-validation errors",
        alphas.len(),
        cv.standard_error.len(),
    )?;
    let mut plot = Plot::new();
    plot.add_trace(
        Scatter::new(alphas.to_vec(), cv.mean.clone())
            .mode(Mode::Markers)
            .name("mean held-out MSE")
            .marker(Marker::new().color(TEST_COLOR).size(7))
            .error_y(
                ErrorData::new(ErrorType::Data)
                    .array(cv.standard_error.clone())
                    .color(GUIDE_COLOR),
            ),
    );
    let layout = alpha_layout(
        "Cross-validation",
        "mean squared error (held-out folds)",
        (&[cv.alpha_min, cv.alpha_1se], None),
    );
    let notes = vec![format!(
        "Mean held-out error at each α with one standard error either side; the dotted lines \
         mark α_min = {} (least error) and α_1se = {} (the largest α within one standard \
         error of it).",
        crate::page::num(cv.alpha_min),
        crate::page::num(cv.alpha_1se)
    )];
    Ok(finish(
        "fig-cv".into(),
        plot,
        layout,
        (alphas.len(), 0, 0),
        notes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_at_most_max_points_like_the_pngs() {
        let v: Vec<u32> = (0..1_000_000).collect();
        let t = thin(&v);
        assert_eq!(t.len(), 5_000);
        assert_eq!((t[0], t[1]), (0, 200));
        assert_eq!(thin(&v[..10]).len(), 10);
        assert_eq!(thin(&v[..5_001]).len(), 2_501);
        assert!(thin::<u32>(&[]).is_empty());
    }

    #[test]
    fn curves_keep_their_last_point() {
        assert_eq!(thin_curve(0), Vec::<usize>::new());
        assert_eq!(thin_curve(3), vec![0, 1, 2]);
        // Stride 3: 0, 3, …, 9999, then the last point.
        let idx = thin_curve(10_001);
        assert_eq!(idx.len(), 3_335);
        assert_eq!(&idx[idx.len() - 2..], &[9_999, 10_000]);
        assert_eq!(idx[1], 3);
        let idx = thin_curve(10_000);
        assert_eq!((idx.len(), *idx.last().unwrap()), (5_001, 9_999));
    }

    #[test]
    fn notes_name_the_stride() {
        assert_eq!(thinning_note("Training Data", 40), None);
        assert_eq!(
            thinning_note("Training Data", 800_000).unwrap(),
            "Training Data: 800,000 rows; every 160th drawn (5,000 points)."
        );
        assert_eq!(
            thinning_note("x", 10_001).unwrap(),
            "x: 10,001 rows; every 3rd drawn (3,334 points)."
        );
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000), "1,000");
        assert_eq!(group(12_345_678), "12,345,678");
        assert_eq!(
            [1, 2, 3, 4, 11, 12, 13, 21, 22, 111, 112].map(ordinal),
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "111th",
                "112th"
            ]
        );
    }

    #[test]
    fn histogram_matches_a_hand_count() {
        // 10 values from 0 to 9: Rice gives 2·∛10 = 4.3 → 5 bins (the minimum) of width 1.8.
        let values: Vec<f64> = (0..10).map(f64::from).collect();
        let edges = bin_edges(std::slice::from_ref(&values));
        assert_eq!(edges.len(), 6);
        assert!((edges[1] - 1.8).abs() < 1e-12 && edges[5] == 9.0);
        // [0,1.8): 0 1 | [1.8,3.6): 2 3 | [3.6,5.4): 4 5 | [5.4,7.2): 6 7 | [7.2,9]: 8 9
        assert_eq!(histogram(&values, &edges), vec![2, 2, 2, 2, 2]);
        // 1000 values: 2·∛1000 = 20 bins; NaN is not counted.
        let many: Vec<f64> = (0..1000)
            .map(|i| f64::from(i) / 999.0)
            .chain([f64::NAN])
            .collect();
        let edges = bin_edges(std::slice::from_ref(&many));
        assert_eq!(edges.len(), 21);
        let counts = histogram(&many, &edges);
        assert_eq!(counts.iter().sum::<usize>(), 1000);
        assert_eq!(counts, vec![50; 20]);
        // A constant residual gets one bin around it.
        let edges = bin_edges(&[vec![2.0, 2.0]]);
        assert_eq!(histogram(&[2.0, 2.0], &edges), vec![2]);
    }

    #[test]
    fn ranges_are_padded_and_skip_non_finite_values() {
        assert_eq!(padded_range([0.0, 10.0].into_iter()), (-0.5, 10.5));
        assert_eq!(padded_range([f64::NAN].into_iter()), (-1.0, 1.0));
        let (lo, hi) = padded_range([3.0, f64::INFINITY].into_iter());
        assert!(lo < 3.0 && hi > 3.0);
    }
}
