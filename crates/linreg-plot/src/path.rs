//! A penalized fit's figures: the coefficients along the regularization path, and the
//! cross-validation curve, both against log₁₀ α as glmnet's `plot` draws them.

use std::path::Path;

use plotters::style::RGBColor;

use crate::{curves, Chart, PlotError, Series};

/// Colours of the path's curves, in turn (matplotlib's tab10).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// Legend entries beyond this many would cover the chart: the rest are drawn unlabelled.
const LABELLED: usize = 12;

/// The indices of the α that a log axis can show (α > 0; α = 0, least squares, cannot).
fn on_log_axis(alphas: &[f64]) -> Vec<usize> {
    (0..alphas.len()).filter(|&i| alphas[i] > 0.0).collect()
}

/// Each coefficient (`coefficients[j]`: its name and its value at each α) against log₁₀ α
/// (an α of 0 is left out).
pub fn plot_path(
    path: &Path,
    alphas: &[f64],
    coefficients: &[(String, Vec<f64>)],
) -> Result<(), PlotError> {
    let keep = on_log_axis(alphas);
    let points: Vec<Vec<(f32, f32)>> = coefficients
        .iter()
        .map(|(_, v)| {
            keep.iter()
                .map(|&i| (alphas[i].log10() as f32, v[i] as f32))
                .collect()
        })
        .collect();
    let series: Vec<Series<'_>> = coefficients
        .iter()
        .zip(&points)
        .enumerate()
        .map(|(j, ((name, _), pts))| Series {
            name: if j < LABELLED { name } else { "" },
            color: PALETTE[j % PALETTE.len()],
            points: pts,
        })
        .collect();
    let chart = Chart {
        title: "Coefficients along the path",
        x_label: "log10(α)",
        y_label: "coefficient (original units)",
    };
    // Paths fan out to the left (small α) and meet at 0 on the right.
    curves(path, &chart, &series, true)
}

/// The mean held-out error against log₁₀ α, with a band of one standard error either side,
/// and the chosen α values (`alpha_min`, `alpha_1se`) as vertical lines, as `plot(cv.glmnet)`.
pub fn plot_cv(
    path: &Path,
    alphas: &[f64],
    (mean, se): (&[f64], &[f64]),
    (alpha_min, alpha_1se): (f64, f64),
) -> Result<(), PlotError> {
    let keep = on_log_axis(alphas);
    let curve = |f: &dyn Fn(usize) -> f64| -> Vec<(f32, f32)> {
        keep.iter()
            .map(|&i| (alphas[i].log10() as f32, f(i) as f32))
            .collect()
    };
    let m = curve(&|i| mean[i]);
    let hi = curve(&|i| mean[i] + se[i]);
    let lo = curve(&|i| mean[i] - se[i]);
    let (bottom, top) = lo
        .iter()
        .chain(&hi)
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    // A chosen α of 0 has no place on the axis: no line.
    let vertical = |a: f64| match a > 0.0 {
        true => vec![(a.log10() as f32, bottom), (a.log10() as f32, top)],
        false => Vec::new(),
    };
    let (vmin, v1se) = (vertical(alpha_min), vertical(alpha_1se));
    let grey = RGBColor(150, 150, 150);
    let series = [
        Series {
            name: "mean held-out MSE",
            color: PALETTE[3],
            points: &m,
        },
        Series {
            name: "± one standard error",
            color: grey,
            points: &hi,
        },
        Series {
            name: "",
            color: grey,
            points: &lo,
        },
        Series {
            name: "α_min",
            color: PALETTE[0],
            points: &vmin,
        },
        Series {
            name: "α_1se",
            color: PALETTE[2],
            points: &v1se,
        },
    ];
    let chart = Chart {
        title: "Cross-validation",
        x_label: "log10(α)",
        y_label: "mean squared error",
    };
    // The error rises to the right (large α), from a floor on the left.
    curves(path, &chart, &series, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_and_the_cv_curve_are_drawn() {
        let dir = std::env::temp_dir().join(format!("linreg-plot-path-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let alphas = [1.0, 0.1, 0.01];
        let coefficients = vec![
            ("x1".to_string(), vec![0.0, 0.5, 1.0]),
            ("x2".to_string(), vec![0.0, 0.0, -0.3]),
        ];
        plot_path(&dir.join("path.svg"), &alphas, &coefficients).unwrap();
        let svg = std::fs::read_to_string(dir.join("path.svg")).unwrap();
        assert!(svg.contains("x2") && svg.contains("log10(α)"), "{svg}");
        let (mean, se) = ([3.0, 2.0, 2.5], [0.1, 0.2, 0.2]);
        plot_cv(&dir.join("cv.png"), &alphas, (&mean, &se), (0.1, 1.0)).unwrap();
        assert_eq!(&std::fs::read(dir.join("cv.png")).unwrap()[1..4], b"PNG");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
