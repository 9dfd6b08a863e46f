//! Whole pages: what they hold, what they refuse, how they are written.

use super::*;

fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linreg-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The tutorial's line: 40 training and 10 test points.
fn tutorial() -> XyFigures {
    let x: Vec<f32> = (0..50).map(|i| i as f32 * 0.02).collect();
    let y: Vec<f32> = x.iter().map(|v| 0.8 * v + 0.2).collect();
    XyFigures {
        x_label: "X".into(),
        y_label: "Y".into(),
        train: Points {
            x: x[..40].to_vec(),
            y: y[..40].to_vec(),
        },
        test: Points {
            x: x[40..].to_vec(),
            y: y[40..].to_vec(),
        },
        predictions: Some(y[40..].iter().map(|v| v + 0.01).collect()),
    }
}

fn fit(target: &str, rows: usize) -> TargetFit {
    let actual: Vec<f32> = (0..rows).map(|i| i as f32).collect();
    // Residuals −0.3 … 0.3, so the histogram has a spread to bin.
    let predicted: Vec<f32> = (0..rows)
        .map(|i| i as f32 + ((i % 7) as f32 - 3.0) * 0.1)
        .collect();
    TargetFit {
        target: target.into(),
        sets: vec![
            FitSet {
                role: Role::Train,
                actual: actual.clone(),
                predicted: predicted.clone(),
            },
            FitSet {
                role: Role::Test,
                actual: actual[..rows / 4].to_vec(),
                predicted: predicted[..rows / 4].to_vec(),
            },
        ],
    }
}

fn full() -> Report {
    Report {
        title: "linreg: the tutorial".into(),
        description: "A run.".into(),
        headline: vec![("test loss".into(), "0.008".into())],
        notes: vec!["A note.".into()],
        tutorial: Some(tutorial()),
        history: Some(LossHistory {
            loss: "L1".into(),
            epochs: (0..10).map(|e| e * 50).collect(),
            train: (0..10).map(|e| 0.6 / f64::from(e + 1)).collect(),
            test: (0..10).map(|e| 0.58 / f64::from(e + 1)).collect(),
            best_epoch: None,
        }),
        fits: vec![fit("y", 40)],
        coefficients: Some(Coefficients {
            caption: "As trained.".into(),
            level: None,
            targets: vec![TargetCoefficients {
                target: "y".into(),
                terms: vec![
                    Term {
                        exact: Some(0.8),
                        ..Term::new("x1", 0.79)
                    },
                    Term {
                        exact: Some(-0.1),
                        ..Term::new("x2", -0.12)
                    },
                    Term {
                        exact: Some(0.2),
                        ..Term::new("(intercept)", 0.21)
                    },
                ],
            }],
        }),
        metrics: vec![
            MetricsRow::new("train", None, [0.009, 1e-4, 0.01, 0.99]),
            MetricsRow::new("test", None, [0.008, 1e-4, 0.01, 0.98]),
        ],
        exact: Some(ExactGap {
            method: "least absolute deviations".into(),
            iterations: 22,
            seconds: 0.004,
            param_distance: 0.0096,
            sets: vec![GapRow {
                set: "train".into(),
                optimum: 0.0,
                reached: 0.009,
                gap_abs: 0.009,
                gap_rel: None,
            }],
        }),
        regularization: None,
        config: vec![("epochs".into(), "500".into())],
        files: vec![PathBuf::from("out/model.mpk")],
    }
}

/// The page with the plotly.js bundle cut out: what this crate wrote itself.
fn own_part(html: &str) -> String {
    let start = html.find("<script>").unwrap();
    let end = start + html[start..].find("</script>").unwrap();
    format!("{}{}", &html[..start], &html[end..])
}

fn attr_counts(html: &str, attr: &str) -> Vec<usize> {
    html.match_indices(&format!("{attr}=\""))
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

#[test]
fn a_full_report_holds_every_section_and_figure() {
    let (html, figures) = full().to_html(Path::new("out")).unwrap();
    // data, loss, predictions; predicted-vs-actual, residuals, histogram; coefficients.
    assert_eq!(figures, 7);
    assert_eq!(html.matches("<figure ").count(), 7);
    assert_eq!(own_part(&html).matches("Plotly.newPlot(").count(), 7);
    for text in [
        "Features v. Outcome for Testing and Training Data",
        "Training and Testing Losses vs Epochs",
        "True and Predicted Data",
        "Predicted vs actual y",
        "Residuals vs predictions (y)",
        "Residual histogram (y)",
        "Coefficients (y)",
        // plotly_white, the tutorial's template.
        "\"plot_bgcolor\":\"#FFFFFF\"",
        "\"gridcolor\":\"#EBF0F8\"",
        "#1c4f96",
        "#f58160",
        "#8f3974",
        "\"Legend\"",
        "\"yaxis.type\":\"log\"",
        "Log scale",
        "least absolute deviations",
        "— (the optimum is 0)",
        "<a href=\"model.mpk\">out/model.mpk</a>",
        "A note.",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    // The tutorial's three figures come first: its data before and after training, then the
    // losses across the page.
    let at = |s: &str| html.find(s).unwrap();
    assert!(at("fig-data") < at("fig-predictions") && at("fig-predictions") < at("fig-loss"));
    assert!(html.contains("<figure class=\"wide\" data-figure=\"fig-loss\""));
    // 50 data points; 40 + 10 + 10 with predictions; 40 + 10 and 40 + 10 residuals; 3 + 3
    // coefficients.
    assert_eq!(
        attr_counts(&html, "data-markers"),
        vec![50, 60, 0, 50, 50, 0, 6]
    );
    assert_eq!(attr_counts(&html, "data-lines"), vec![0, 0, 2, 1, 0, 0, 0]);
    // 2·∛50 = 7.4 → 8 bins for each of the two sets.
    assert_eq!(attr_counts(&html, "data-bars"), vec![0, 0, 0, 0, 0, 16, 0]);
    assert!(!html.contains("thinned for drawing"), "nothing was thinned");
}

#[test]
fn the_page_fetches_nothing() {
    let (html, _) = full().to_html(Path::new("out")).unwrap();
    let own = own_part(&html);
    for bad in [
        "src=", "<link", "url(", "@import", "http://", "https://", "//cdn",
    ] {
        assert!(!own.contains(bad), "the page itself has {bad}");
    }
    // One script: plotly.js, inline; then the plotly crate's inline snippets.
    assert_eq!(html.matches("<script>").count(), 1);
    assert!(
        !html.contains("__webpack_modules__"),
        "no MathJax (tex-svg) bundle"
    );
}

#[test]
fn the_tutorial_report_is_under_five_megabytes() {
    let (html, _) = full().to_html(Path::new("out")).unwrap();
    assert!(html.len() < 5_000_000, "{} bytes", html.len());
}

#[test]
fn hostile_names_cannot_break_out_of_the_page() {
    let evil = "</script><script>alert('x')</script><b>";
    let mut r = full();
    r.title = evil.into();
    r.fits = vec![fit(evil, 8)];
    r.config = vec![(evil.into(), evil.into())];
    r.files = vec![PathBuf::from(format!("out/{evil}"))];
    let (html, _) = r.to_html(Path::new("out")).unwrap();
    assert!(!own_part(&html).contains("<script>alert"));
    assert!(!html.contains("<b>"));
    // In the figures' JSON the name is there, with < and > escaped by the plotly crate.
    assert!(html.contains("\\u003c/script\\u003e"));
}

#[test]
fn large_tables_are_thinned_and_the_page_says_so() {
    let mut r = full();
    r.tutorial = None;
    r.fits = vec![fit("y", 100_000)];
    let (html, figures) = r.to_html(Path::new("out")).unwrap();
    assert_eq!(figures, 5);
    assert!(html.contains("Training Data: 100,000 rows; every 20th drawn (5,000 points)."));
    assert!(html.contains("thinned for drawing to at most 5,000 points"));
    // 5,000 training + 5,000 test points (25,000 rows, every 5th) in both scatter figures.
    let markers = attr_counts(&html, "data-markers");
    assert_eq!(&markers[1..3], &[10_000, 10_000]);
    // The histogram counts every row: 2·∛100000 = 93 → 60 bins.
    assert_eq!(attr_counts(&html, "data-bars")[3], 120);
    assert!(html.len() < 5_500_000);
}

#[test]
fn many_targets_get_figures_for_the_first_few() {
    let mut r = full();
    r.tutorial = None;
    r.history = None;
    r.fits = (0..6).map(|i| fit(&format!("y{i}"), 20)).collect();
    let (html, figures) = r.to_html(Path::new("out")).unwrap();
    assert_eq!(figures, MAX_TARGET_FIGURES * 3 + 1);
    assert!(html.contains("Figures are drawn for the first 4 of 6 targets"));
    assert!(html.contains("<h3>y3</h3>") && !html.contains("<h3>y4</h3>"));
}

#[test]
fn early_stopping_and_long_histories_are_marked() {
    let mut r = full();
    r.history = Some(LossHistory {
        loss: "MSE".into(),
        epochs: (0..20_000).collect(),
        train: vec![1.0; 20_000],
        test: vec![1.0; 20_000],
        best_epoch: Some(1234),
    });
    let (html, _) = r.to_html(Path::new("out")).unwrap();
    assert!(html.contains("kept epoch 1234"));
    assert!(html.contains("20,000 logged epochs; every 4th drawn, and the last (5,001 points)."));
}

#[test]
fn confidence_intervals_become_columns_and_error_bars() {
    let mut r = full();
    r.coefficients = Some(Coefficients {
        caption: "OLS".into(),
        level: Some(0.95),
        targets: vec![TargetCoefficients {
            target: "y".into(),
            terms: vec![Term {
                std_error: Some(0.1),
                interval: Some((0.6, 1.0)),
                p_value: Some(0.001),
                ..Term::new("x", 0.8)
            }],
        }],
    });
    let (html, _) = r.to_html(Path::new("out")).unwrap();
    for text in [
        "95% CI lower",
        "95% CI upper",
        "std. error",
        "p-value",
        "Bars: 95% confidence intervals.",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    assert!(html.contains("\"arrayminus\":[0.2"));
    assert!(!html.contains("exact optimum</th>"));
}

#[test]
fn one_feature_gets_a_coefficient_table_without_a_figure() {
    let mut r = full();
    r.coefficients.as_mut().unwrap().targets[0].terms.remove(1);
    let (html, figures) = r.to_html(Path::new("out")).unwrap();
    assert_eq!(figures, 6);
    assert!(html.contains("<td class=\"text\">(intercept)</td>"));
    assert!(!html.contains("fig-coefficients"));
}

#[test]
fn a_path_and_its_cross_validation_are_drawn() {
    let mut r = full();
    let alphas = vec![1.0, 0.1, 0.01];
    r.regularization = Some(Regularization {
        alphas: alphas.clone(),
        coefficients: vec![
            ("x1".into(), vec![0.0, 0.5, 0.8]),
            ("x2".into(), vec![0.0, 0.0, -0.1]),
        ],
        chosen: 0.1,
        cv: Some(CvCurve {
            mean: vec![3.0, 2.0, 2.2],
            standard_error: vec![0.1, 0.1, 0.2],
            alpha_min: 0.1,
            alpha_1se: 0.1,
        }),
    });
    let (html, figures) = r.to_html(Path::new("out")).unwrap();
    assert_eq!(figures, 9, "the path and the CV curve join the seven");
    assert!(html.contains("fig-path") && html.contains("fig-cv"));
    assert!(
        html.contains("α_1se = 0.1"),
        "the CV note names the chosen α"
    );
    r.regularization.as_mut().unwrap().coefficients[1].1.pop();
    assert!(matches!(
        r.to_html(Path::new(".")),
        Err(ReportError::Mismatch { .. })
    ));
}

#[test]
fn mismatched_series_are_refused() {
    let mut r = full();
    r.fits[0].sets[0].predicted.pop();
    let err = r.to_html(Path::new(".")).unwrap_err();
    assert!(
        matches!(
            err,
            ReportError::Mismatch {
                left: 40,
                right: 39,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("Training Data of target y"));
    let mut r = full();
    r.history.as_mut().unwrap().test.push(1.0);
    assert!(matches!(
        r.to_html(Path::new(".")),
        Err(ReportError::Mismatch { .. })
    ));
}

#[test]
fn the_page_is_written_atomically() {
    let dir = tmp_dir("write");
    let path = dir.join("report.html");
    std::fs::write(&path, "the old report").unwrap();
    let written = full().write(&path).unwrap();
    assert_eq!(written.figures, 7);
    assert_eq!(
        written.bytes,
        std::fs::metadata(&path).unwrap().len() as usize
    );
    // A failed write leaves the old page and no temporary file.
    let mut bad = full();
    bad.fits[0].sets[0].predicted.clear();
    assert!(bad.write(&path).is_err());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len() as usize,
        written.bytes
    );
    let err = full()
        .write(&dir.join("missing").join("report.html"))
        .unwrap_err();
    assert!(matches!(err, ReportError::Io { .. }) && err.to_string().contains("missing"));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_empty_report_is_still_a_page() {
    let (html, figures) = Report::default().to_html(Path::new(".")).unwrap();
    assert_eq!(figures, 0);
    assert!(html.starts_with("<!doctype html>") && html.ends_with("</html>\n"));
    assert!(html.contains("<title>linreg run · linreg report</title>"));
}
