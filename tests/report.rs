//! `report.html`, end to end: every command writes one (unless `--no-report`), it holds the
//! run's own numbers, and it fetches nothing. The browser test (`tools/check_report.py`, run by
//! `.ci/run`) checks that the figures really render.

mod common;

use std::path::Path;

use common::{f, generate, listing, run_err, run_ok, summary, temp_dir, Train};
use serde_json::Value;

/// The page without the embedded plotly.js: what linreg itself wrote.
fn own_part(html: &str) -> String {
    let start = html.find("<script>").expect("the plotly.js script");
    let end = start + html[start..].find("</script>").expect("its end");
    format!("{}{}", &html[..start], &html[end..])
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The figure `id`'s plotly JSON (`{"data": […], "layout": …}`), as the page hands it to
/// `Plotly.newPlot`.
fn figure(html: &str, id: &str) -> Value {
    let call = format!("Plotly.newPlot(\"{id}\", ");
    let start = html.find(&call).unwrap_or_else(|| panic!("no figure {id}")) + call.len();
    let end = start + html[start..].find(");\n").expect("end of the call");
    serde_json::from_str(&html[start..end]).expect("the figure's JSON")
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

#[test]
fn the_tutorial_run_writes_its_figures_and_numbers() {
    let dir = temp_dir("report-tutorial");
    run_ok(&dir, &["--out", "a"]);
    let html = read(&dir.join("a/report.html"));
    let summary = summary(&dir, "a");
    assert!(html.len() < 5_000_000, "{} bytes", html.len());
    let own = own_part(&html);
    for bad in ["src=", "<link", "url(", "http://", "https://"] {
        assert!(!own.contains(bad), "the page would fetch something: {bad}");
    }

    // The tutorial's three figures, with its titles, labels, colours and points.
    let data = figure(&html, "fig-data");
    assert_eq!(
        data["layout"]["title"]["text"],
        "Features v. Outcome for Testing and Training Data"
    );
    assert_eq!(data["layout"]["xaxis"]["title"]["text"], "X");
    assert_eq!(data["layout"]["yaxis"]["title"]["text"], "Y");
    let traces = data["data"].as_array().expect("traces");
    assert_eq!(traces.len(), 2);
    assert_eq!(traces[0]["name"], "Training Data");
    assert_eq!(traces[0]["marker"]["color"], "#1c4f96");
    assert_eq!(traces[1]["marker"]["color"], "#f58160");
    // x = arange(0, 1, 0.02) in f32, 40 training rows then 10 test rows.
    let x = numbers(&traces[0]["x"]);
    assert_eq!(x.len(), 40);
    assert!((x[1] - 0.02).abs() < 1e-7 && (x[39] - 0.78).abs() < 1e-6);
    let y = numbers(&traces[1]["y"]);
    assert!((y[0] - (0.8 * 0.8 + 0.2)).abs() < 1e-6, "{y:?}");

    let pred = figure(&html, "fig-predictions");
    assert_eq!(pred["layout"]["title"]["text"], "True and Predicted Data");
    assert_eq!(pred["data"][2]["name"], "Predictions");
    assert_eq!(pred["data"][2]["marker"]["color"], "#8f3974");
    // The predictions are the saved model's: w·x + b at the test inputs.
    let (w, b) = (
        f(&summary["final"]["weight"][0][0]),
        f(&summary["final"]["bias"][0]),
    );
    for (x, p) in numbers(&pred["data"][2]["x"])
        .iter()
        .zip(numbers(&pred["data"][2]["y"]))
    {
        assert!((w * x + b - p).abs() < 1e-6, "{x}: {p}");
    }

    let loss = figure(&html, "fig-loss");
    assert_eq!(
        loss["layout"]["title"]["text"],
        "Training and Testing Losses vs Epochs"
    );
    assert_eq!(loss["layout"]["legend"]["title"]["text"], "Legend");
    assert_eq!(
        numbers(&loss["data"][0]["x"]),
        (0..10).map(|e| f64::from(e * 50)).collect::<Vec<_>>()
    );
    let logged: Vec<f64> = summary["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| f(&h["train_loss"]))
        .collect();
    assert_eq!(numbers(&loss["data"][0]["y"]), logged);
    let buttons = &loss["layout"]["updatemenus"][0]["buttons"];
    assert_eq!(buttons[1]["args"][0]["yaxis.type"], "log");
    // plotly_white, the tutorial's template.
    assert_eq!(
        data["layout"]["template"]["layout"]["plot_bgcolor"],
        "#FFFFFF"
    );

    // The tables: coefficients, metrics, the exact gap, the configuration, the files.
    for text in [
        "<td class=\"text\">x</td><td>0.798670</td><td>0.800000</td>",
        "<td class=\"text\">(intercept)</td><td>0.209509</td><td>0.200000</td>",
        "least absolute deviations",
        "— (the optimum is 0)",
        "<td class=\"text\">linreg --out a",
        "<a href=\"model.mpk\">",
        "<a href=\"summary.json\">",
        "<a href=\"report.html\">",
    ] {
        assert!(own.contains(text), "missing {text}");
    }
    let r2 = format!("{:.6}", f(&summary["metrics"]["test"]["r2"]));
    assert!(own.contains(&format!("<td>{r2}</td>")), "test R² {r2}");

    // --no-report: the same run, no page.
    run_ok(&dir, &["--out", "b", "--no-report"]);
    assert!(!listing(&dir.join("b")).contains(&"report.html".to_string()));
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// `generate --rows 300 --features FEATURES --seed 5 --output d.csv`.
fn table(dir: &Path, features: usize) {
    generate(dir, 300, features, &["--seed", "5"], "d.csv");
}

#[test]
fn train_and_evaluate_write_diagnostics_and_coefficients() {
    let dir = temp_dir("report-train");
    table(&dir, 3);
    let (stdout, _) = Train::new("d.csv", "y")
        .args(&["--lr", "0.1", "--epochs", "300", "--out", "m"])
        .run(&dir);
    assert!(stdout.contains("m/report.html"), "{stdout}");
    let html = read(&dir.join("m/report.html"));
    let summary = summary(&dir, "m");
    assert!(html.contains("<title>linreg train: d.csv → y · linreg report</title>"));
    // 240 training and 60 test rows: predicted against actual, with the diagonal.
    let pva = figure(&html, "fig-pva-0");
    assert_eq!(pva["layout"]["title"]["text"], "Predicted vs actual y");
    assert_eq!(numbers(&pva["data"][0]["x"]).len(), 240);
    assert_eq!(numbers(&pva["data"][1]["x"]).len(), 60);
    assert_eq!(pva["data"][2]["name"], "Perfect prediction");
    // Residuals are actual − predicted, row by row.
    let res = figure(&html, "fig-residuals-0");
    let (p, r) = (numbers(&res["data"][0]["x"]), numbers(&res["data"][0]["y"]));
    let actual = numbers(&pva["data"][0]["x"]);
    for i in 0..p.len() {
        assert!((actual[i] - p[i] - r[i]).abs() < 1e-5 * actual[i].abs().max(1.0));
    }
    // The histogram counts every row once.
    let hist = figure(&html, "fig-histogram-0");
    let counted: f64 = ["0", "1"]
        .iter()
        .map(|t| {
            numbers(&hist["data"][t.parse::<usize>().unwrap()]["y"])
                .iter()
                .sum::<f64>()
        })
        .sum();
    assert_eq!(counted, 300.0);
    // The coefficients on the original columns, as summary.json has them, beside the exact
    // optimum.
    let coef = figure(&html, "fig-coefficients-0");
    let shown = numbers(&coef["data"][0]["y"]);
    for j in 0..3 {
        assert_eq!(shown[j], f(&summary["original_units"]["weight"][0][j]));
    }
    assert_eq!(shown[3], f(&summary["original_units"]["bias"][0]));
    assert_eq!(coef["data"][1]["name"], "exact optimum");
    let own = own_part(&html);
    assert!(
        own.contains("<td class=\"text\">x1, x2, x3</td>"),
        "features"
    );
    assert!(own.contains("Features were standardized"));

    // evaluate writes its own page to --out, never over the training one.
    let (stdout, _) = run_ok(
        &dir,
        &["evaluate", "--model", "m", "--data", "d.csv", "--out", "e"],
    );
    assert!(stdout.contains("Report: e/report.html"), "{stdout}");
    let page = read(&dir.join("e/report.html"));
    let pva = figure(&page, "fig-pva-0");
    assert_eq!(pva["data"][0]["name"], "Evaluated Data");
    assert_eq!(numbers(&pva["data"][0]["x"]).len(), 300);
    assert!(page.contains("linreg evaluate: d.csv"));
    let before = std::fs::read(dir.join("m/report.html")).expect("train report");
    let stderr = run_err(
        &dir,
        &["evaluate", "--model", "m", "--data", "d.csv", "--out", "m"],
    );
    assert!(
        stderr.contains("--out m is the model's directory"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(dir.join("m/report.html")).expect("kept"),
        before
    );
    // The default --out is evaluation/; --no-report writes nothing at all.
    run_ok(&dir, &["evaluate", "--model", "m", "--data", "d.csv"]);
    assert!(dir.join("evaluation/report.html").is_file());
    std::fs::remove_dir_all(dir.join("evaluation")).expect("cleanup");
    run_ok(
        &dir,
        &[
            "evaluate",
            "--model",
            "m",
            "--data",
            "d.csv",
            "--no-report",
            "--json",
        ],
    );
    assert!(!dir.join("evaluation").exists());
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn one_feature_tables_get_the_tutorials_figures_on_the_original_scale() {
    let dir = temp_dir("report-one-feature");
    table(&dir, 1);
    Train::new("d.csv", "y")
        .args(&["--epochs", "50", "--out", "m"])
        .run(&dir);
    let html = read(&dir.join("m/report.html"));
    let data = figure(&html, "fig-data");
    assert_eq!(data["layout"]["xaxis"]["title"]["text"], "x1");
    assert_eq!(data["layout"]["yaxis"]["title"]["text"], "y");
    // The model saw standardized x; the figure shows the table's x again.
    let csv = read(&dir.join("d.csv"));
    let first: Vec<f64> = csv
        .lines()
        .skip(1)
        .take(3)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    let x = numbers(&data["data"][0]["x"]);
    for (got, want) in x.iter().zip(&first) {
        assert!(
            (got - want).abs() < 1e-5 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn an_exact_fit_draws_its_confidence_intervals() {
    let dir = temp_dir("report-inference");
    let data = common::fixture("strd/longley.csv");
    let summary = Train::all_rows(&data, "y")
        .args(&["--solver", "exact", "--out", "m"])
        .summary(&dir);
    let html = read(&dir.join("m/report.html"));
    let fig = figure(&html, "fig-coefficients-0");
    let trace = &fig["data"][0];
    let names: Vec<&str> = trace["x"]
        .as_array()
        .expect("names")
        .iter()
        .map(|v| v.as_str().expect("a name"))
        .collect();
    let above = numbers(&trace["error_y"]["array"]);
    let below = numbers(&trace["error_y"]["arrayminus"]);
    let rows = summary["inference"]["coefficients"]
        .as_array()
        .expect("the inference table");
    assert_eq!(rows.len(), names.len());
    for row in rows {
        let name = row["name"].as_str().expect("name");
        let drawn = if name == "intercept" {
            "(intercept)"
        } else {
            name
        };
        let i = names.iter().position(|n| *n == drawn).expect("drawn");
        let (est, lo, hi) = (f(&row["estimate"]), f(&row["ci_low"]), f(&row["ci_high"]));
        // The bars span the 95% interval of summary.json, to rounding.
        let tol = 1e-9 * est.abs().max(hi - lo);
        assert!((above[i] - (hi - est)).abs() <= tol, "{name}");
        assert!((below[i] - (est - lo)).abs() <= tol, "{name}");
    }
    assert!(own_part(&html).contains("95%"), "the level is named");
    std::fs::remove_dir_all(dir).expect("cleanup");
}
