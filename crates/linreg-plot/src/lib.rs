//! linreg's charts: plain numbers in, PNG or SVG files out.
//!
//! Two kinds of chart cover the tutorial's figures: [`scatter`] (training data, test data and
//! predictions as points) and [`lines`] (loss curves against epochs). The format follows the
//! file's extension (`.png` or `.svg`). Files are written atomically: a chart is drawn to a
//! temporary file beside the target and renamed over it, so a failed draw never leaves half a
//! picture over a good one. The font is bundled (DejaVu Sans), so no system font is needed.
//!
//! ```
//! use linreg_plot::{scatter, Chart, Series, TRAIN_COLOR};
//!
//! let dir = std::env::temp_dir().join(format!("linreg-plot-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let points = vec![(0.0, 0.2), (0.5, 0.6), (1.0, 1.0)];
//! let chart = Chart { title: "A line", x_label: "X", y_label: "Y" };
//! let path = dir.join("line.svg");
//! scatter(&path, &chart, &[Series { name: "Training Data", color: TRAIN_COLOR, points: &points }])?;
//! assert!(std::fs::read_to_string(&path)?.contains("Training Data"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Once;

mod path;
pub use path::{plot_cv, plot_path, PALETTE};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// The tutorial's colour for training data and the training loss (#1c4f96).
pub const TRAIN_COLOR: RGBColor = RGBColor(0x1c, 0x4f, 0x96);
/// The tutorial's colour for test data and the test loss (#f58160).
pub const TEST_COLOR: RGBColor = RGBColor(0xf5, 0x81, 0x60);
/// The tutorial's colour for predictions (#8f3974).
pub const PREDICTION_COLOR: RGBColor = RGBColor(0x8f, 0x39, 0x74);

/// Size of every chart, in pixels.
pub const SIZE: (u32, u32) = (900, 600);

static FONT: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// Why a chart could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The path's extension is neither `png` nor `svg`.
    #[error("cannot tell the image format of {0}: name it .png or .svg")]
    UnknownFormat(PathBuf),
    /// There is nothing to draw.
    #[error("nothing to plot in {0}: every series is empty")]
    Empty(PathBuf),
    /// A value is NaN or infinite.
    #[error("cannot plot {0}: a value is NaN or infinite")]
    NonFinite(PathBuf),
    /// Drawing or writing failed.
    #[error("could not draw {path}: {message}")]
    Draw {
        /// The chart's path.
        path: PathBuf,
        /// What the backend said.
        message: String,
    },
}

/// Titles of a chart.
#[derive(Debug, Clone, Copy)]
pub struct Chart<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// Label of the x axis.
    pub x_label: &'a str,
    /// Label of the y axis.
    pub y_label: &'a str,
}

/// One named, coloured series of `(x, y)` points.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Legend entry.
    pub name: &'a str,
    /// Colour of its points or line.
    pub color: RGBColor,
    /// The points, in drawing order.
    pub points: &'a [(f32, f32)],
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Points,
    Lines,
    /// Lines over a continuous x (log α), with decimal labels; the legend in the corner
    /// named (upper or lower right), where the curves leave room.
    Curves {
        upper: bool,
    },
}

/// Most points drawn per series: larger series are thinned to an even stride, so a chart of a
/// million rows stays quick to draw and small to store.
pub const MAX_POINTS: usize = 5_000;

/// Draws each series as points (the tutorial's data and prediction figures).
pub fn scatter(path: &Path, chart: &Chart<'_>, series: &[Series<'_>]) -> Result<(), PlotError> {
    draw(path, chart, series, Kind::Points, false)
}

/// Draws each series as a line over a continuous x axis (a regularization path), the legend
/// in the upper right corner (`upper`) or the lower right one.
pub fn curves(
    path: &Path,
    chart: &Chart<'_>,
    series: &[Series<'_>],
    upper: bool,
) -> Result<(), PlotError> {
    draw(path, chart, series, Kind::Curves { upper }, false)
}

/// Draws each series as a line (the tutorial's loss figure).
pub fn lines(path: &Path, chart: &Chart<'_>, series: &[Series<'_>]) -> Result<(), PlotError> {
    draw(path, chart, series, Kind::Lines, false)
}

/// Predicted against actual values of one target, for training and test rows, with the
/// diagonal where a perfect model's points would lie. For tables with several features, where
/// the tutorial's x–y picture does not apply.
pub fn plot_predicted_vs_actual(
    path: &Path,
    target: &str,
    (train_actual, train_pred): (&[f32], &[f32]),
    (test_actual, test_pred): (&[f32], &[f32]),
) -> Result<(), PlotError> {
    let (train, test) = (
        pairs(train_actual, train_pred),
        pairs(test_actual, test_pred),
    );
    let title = format!("Predicted vs actual {target}");
    let x_label = format!("actual {target}");
    let y_label = format!("predicted {target}");
    draw(
        path,
        &Chart {
            title: &title,
            x_label: &x_label,
            y_label: &y_label,
        },
        &data_series(&train, &test),
        Kind::Points,
        true,
    )
}

/// Zips x and y values into points.
fn pairs(x: &[f32], y: &[f32]) -> Vec<(f32, f32)> {
    x.iter().copied().zip(y.iter().copied()).collect()
}

/// Training and test points in the tutorial's colours.
fn data_series<'a>(train: &'a [(f32, f32)], test: &'a [(f32, f32)]) -> [Series<'a>; 2] {
    [
        Series {
            name: "Training Data",
            color: TRAIN_COLOR,
            points: train,
        },
        Series {
            name: "Testing Data",
            color: TEST_COLOR,
            points: test,
        },
    ]
}

/// Every `k`-th point, so that at most [`MAX_POINTS`] remain.
fn thin(points: &[(f32, f32)]) -> impl Iterator<Item = (f32, f32)> + '_ {
    let stride = points.len().div_ceil(MAX_POINTS).max(1);
    points.iter().copied().step_by(stride)
}

fn draw(
    path: &Path,
    chart: &Chart<'_>,
    series: &[Series<'_>],
    kind: Kind,
    diagonal: bool,
) -> Result<(), PlotError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let is_png = match ext.as_deref() {
        Some("png") => true,
        Some("svg") => false,
        _ => return Err(PlotError::UnknownFormat(path.to_path_buf())),
    };
    let all = || series.iter().flat_map(|s| s.points.iter());
    if all().next().is_none() {
        return Err(PlotError::Empty(path.to_path_buf()));
    }
    if all().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
        return Err(PlotError::NonFinite(path.to_path_buf()));
    }
    REGISTER.call_once(|| {
        // The bundled font is known good; a failure here would only mean unlabeled charts.
        let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    });

    let err = |e: &dyn std::fmt::Display| PlotError::Draw {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let staged = linreg_atomic::Staged::beside(path).map_err(|e| err(&e))?;
    let tmp = staged.tmp();
    let result = if is_png {
        let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
        let drawn = {
            let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
            render(&root, chart, series, kind, diagonal)
                .and_then(|()| root.present().map_err(|e| e.to_string()))
        };
        drawn.and_then(|()| write_png(tmp, &rgb).map_err(|e| e.to_string()))
    } else {
        let root = SVGBackend::new(tmp, SIZE).into_drawing_area();
        render(&root, chart, series, kind, diagonal)
            .and_then(|()| root.present().map_err(|e| e.to_string()))
    };
    result.map_err(|e| err(&e))?;
    staged.commit().map(drop).map_err(|e| err(&e))
}

/// Encodes an RGB8 buffer of [`SIZE`] as a PNG file, with the settings plotters' own file
/// output used (through the `image` crate: fast compression, adaptive filtering), without
/// building the `image` crate.
fn write_png(path: &Path, rgb: &[u8]) -> Result<(), png::EncodingError> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, SIZE.0, SIZE.1);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::FilterType::Sub);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    encoder.write_header()?.write_image_data(rgb)
}

/// The tutorial's `plot_predictions`: training data, test data and, when given, the
/// predictions at the test inputs, as points (`x` is the one feature, `y` the target).
pub fn plot_predictions(
    path: &Path,
    (train_x, train_y): (&[f32], &[f32]),
    (test_x, test_y): (&[f32], &[f32]),
    predictions: Option<&[f32]>,
) -> Result<(), PlotError> {
    let (train, test) = (pairs(train_x, train_y), pairs(test_x, test_y));
    let predicted = predictions.map(|p| pairs(test_x, p)).unwrap_or_default();
    let mut series = data_series(&train, &test).to_vec();
    let title = if predictions.is_some() {
        series.push(Series {
            name: "Predictions",
            color: PREDICTION_COLOR,
            points: &predicted,
        });
        "True and Predicted Data"
    } else {
        "Training and Test Data"
    };
    scatter(
        path,
        &Chart {
            title,
            x_label: "X",
            y_label: "Y",
        },
        &series,
    )
}

/// The tutorial's `plot_epoch_losses`: training and test loss against the logged epochs.
pub fn plot_epoch_losses(
    path: &Path,
    epochs: &[usize],
    train: &[f64],
    test: &[f64],
) -> Result<(), PlotError> {
    let curve = |loss: &[f64]| -> Vec<(f32, f32)> {
        epochs
            .iter()
            .zip(loss)
            .map(|(&e, &l)| (e as f32, l as f32))
            .collect()
    };
    let (train, test) = (curve(train), curve(test));
    lines(
        path,
        &Chart {
            title: "Training and Testing Losses vs Epochs",
            x_label: "Epochs",
            y_label: "Loss",
        },
        &[
            Series {
                name: "Training Loss",
                color: TRAIN_COLOR,
                points: &train,
            },
            Series {
                name: "Testing Loss",
                color: TEST_COLOR,
                points: &test,
            },
        ],
    )
}

/// Padded range of the values, never empty.
fn range(values: impl Iterator<Item = f32>) -> std::ops::Range<f32> {
    let (lo, hi) = values.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        lo.abs().max(1.0) * 0.05
    };
    (lo - pad)..(hi + pad)
}

fn render<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart<'_>,
    series: &[Series<'_>],
    kind: Kind,
    diagonal: bool,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let mut xs = range(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let mut ys = range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    if diagonal {
        // One scale on both axes, so the diagonal is at 45°.
        xs = xs.start.min(ys.start)..xs.end.max(ys.end);
        ys = xs.clone();
    }
    let mut ctx = ChartBuilder::on(root)
        .caption(chart.title, ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(xs.clone(), ys)
        .map_err(e)?;
    // Epochs are whole numbers; data axes keep plotters' decimal labels.
    let whole = |v: &f32| format!("{v:.0}");
    let mut mesh = ctx.configure_mesh();
    if kind == Kind::Lines {
        mesh.x_label_formatter(&whole);
    }
    mesh.x_desc(chart.x_label)
        .y_desc(chart.y_label)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(e)?;
    for s in series.iter().filter(|s| !s.points.is_empty()) {
        let color = s.color;
        let points = thin(s.points);
        let drawn = match kind {
            Kind::Points => ctx
                .draw_series(points.map(|p| Circle::new(p, 4, color.filled())))
                .map_err(e)?,
            Kind::Lines | Kind::Curves { .. } => ctx
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(e)?,
        };
        // An unnamed series (a band's second edge, curves past the legend's room) has none.
        if !s.name.is_empty() {
            drawn.label(s.name).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled())
            });
        }
    }
    if diagonal {
        let grey = RGBColor(120, 120, 120);
        ctx.draw_series(LineSeries::new(
            [(xs.start, xs.start), (xs.end, xs.end)],
            grey.stroke_width(1),
        ))
        .map_err(e)?
        .label("Perfect prediction")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], grey.stroke_width(2)));
    }
    ctx.configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(180, 180, 180))
        .label_font(("sans-serif", 16))
        // Data rise to the right and losses fall: keep the legend off the marks.
        .position(match kind {
            Kind::Points => SeriesLabelPosition::UpperLeft,
            Kind::Lines => SeriesLabelPosition::UpperRight,
            Kind::Curves { upper: true } => SeriesLabelPosition::UpperRight,
            Kind::Curves { upper: false } => SeriesLabelPosition::LowerRight,
        })
        .draw()
        .map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("linreg-plot-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const CHART: Chart<'static> = Chart {
        title: "t",
        x_label: "x",
        y_label: "y",
    };

    #[test]
    fn png_and_svg_are_written() {
        let dir = tmp_dir("formats");
        let pts = [(0.0, 1.0), (1.0, 2.0)];
        let s = [Series {
            name: "Training Loss",
            color: TRAIN_COLOR,
            points: &pts,
        }];
        lines(&dir.join("a.png"), &CHART, &s).unwrap();
        lines(&dir.join("a.svg"), &CHART, &s).unwrap();
        let png = std::fs::read(dir.join("a.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let svg = std::fs::read_to_string(dir.join("a.svg")).unwrap();
        assert!(
            svg.contains("Training Loss") && svg.contains("#1C4F96"),
            "legend and colour in the SVG"
        );
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_requests_are_errors() {
        let dir = tmp_dir("errors");
        let pts = [(0.0, f32::NAN)];
        let s = [Series {
            name: "n",
            color: TEST_COLOR,
            points: &pts,
        }];
        assert!(matches!(
            scatter(&dir.join("a.jpg"), &CHART, &s),
            Err(PlotError::UnknownFormat(_))
        ));
        assert!(matches!(
            scatter(&dir.join("a.png"), &CHART, &s),
            Err(PlotError::NonFinite(_))
        ));
        assert!(matches!(
            scatter(&dir.join("a.png"), &CHART, &[]),
            Err(PlotError::Empty(_))
        ));
        assert!(matches!(
            scatter(
                &dir.join("missing").join("a.png"),
                &CHART,
                &[Series {
                    points: &[(0.0, 0.0)],
                    ..s[0]
                }]
            ),
            Err(PlotError::Draw { .. })
        ));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn large_series_are_thinned_and_predicted_vs_actual_draws() {
        let big: Vec<(f32, f32)> = (0..1_000_000).map(|i| (i as f32, i as f32)).collect();
        assert!(thin(&big).count() <= MAX_POINTS);
        assert_eq!(thin(&big[..10]).count(), 10);
        let dir = tmp_dir("pva");
        let a: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let p: Vec<f32> = a.iter().map(|v| v + 1.0).collect();
        plot_predicted_vs_actual(&dir.join("p.svg"), "y", (&a, &p), (&a[..10], &p[..10])).unwrap();
        let svg = std::fs::read_to_string(dir.join("p.svg")).unwrap();
        assert!(svg.contains("Perfect prediction") && svg.contains("Predicted vs actual y"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn range_is_padded_and_never_empty() {
        let r = range([1.0_f32, 1.0].into_iter());
        assert!(r.start < 1.0 && r.end > 1.0);
        let r = range([0.0_f32, 10.0].into_iter());
        assert_eq!((r.start, r.end), (-0.5, 10.5));
    }
}
