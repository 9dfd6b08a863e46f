//! The page around the figures: tables, headings, the style sheet, and plotly.js itself.

use std::fmt::Write as _;
use std::path::Path;

use crate::figures::{self, group, Figure};
use crate::{Report, ReportError, MAX_TARGET_FIGURES, TRAIN_COLOR};

/// The page's style sheet: system fonts only, so nothing is fetched.
const STYLE: &str = r#"
:root { color-scheme: light; --ink: #2a3f5f; --rule: #e5ecf6; --accent: #1c4f96; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; border-bottom: 3px solid var(--accent); }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 20px 0 6px; }
header p { margin: 4px 0 12px; }
nav { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 8px 0 12px; }
nav a, a { color: var(--accent); }
.headline { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 14px; }
.headline div { border: 1px solid var(--rule); border-radius: 6px; padding: 6px 12px; min-width: 150px; }
.headline dt { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; opacity: .75; }
.headline dd { margin: 0; font-size: 18px; font-variant-numeric: tabular-nums; }
.notes { background: #f6f8fc; border-left: 4px solid var(--accent); padding: 8px 14px; margin: 16px 0; }
.notes p { margin: 4px 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 14px; }
.grid .wide { grid-column: 1 / -1; }
figure { margin: 0; border: 1px solid var(--rule); border-radius: 6px; padding: 6px; }
.plot { height: 420px; }
figcaption { font-size: 13px; padding: 4px 8px 2px; opacity: .85; }
figcaption p { margin: 2px 0; }
table { border-collapse: collapse; margin: 6px 0 12px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 12px; border-bottom: 1px solid var(--rule); text-align: right; vertical-align: top; }
th { background: #f6f8fc; }
th:first-child, td:first-child, .text { text-align: left; }
td.text { max-width: 760px; overflow-wrap: anywhere; }
ul.files { columns: 2; padding-left: 20px; }
footer { margin-top: 36px; padding-top: 10px; padding-bottom: 24px; border-top: 1px solid var(--rule);
  font-size: 13px; opacity: .8; }
"#;

/// plotly.js as the `plotly` crate ships it, taken out of the crate by `build.rs`. A `static`,
/// not a `const`: a const's 4.6 MB would be copied into every codegen unit that uses it.
pub(crate) static PLOTLY_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/plotly.min.js"));

/// The version of the plotly.js that pages embed (e.g. `3.0.1`), from its licence header.
pub fn plotly_js_version() -> &'static str {
    const MARK: &str = "plotly.js v";
    let at = PLOTLY_JS.find(MARK).map_or(0, |i| i + MARK.len());
    let len = PLOTLY_JS[at..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or(0);
    &PLOTLY_JS[at..at + len]
}

/// A page without its plotly.js: `head` ends where the script's text goes, `body` starts
/// with the script's closing tag. Written around [`PLOTLY_JS`], so the 4.6 MB script is never
/// copied into another string.
pub(crate) struct Page {
    pub(crate) head: String,
    pub(crate) body: String,
    pub(crate) figures: usize,
}

/// Text made safe for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A file name as a relative URL: every byte outside the unreserved set percent-encoded.
fn href(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A number for a table: six significant digits, in exponent form when very large or small.
pub(crate) fn num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "∞" } else { "−∞" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e6).contains(&a) {
        let decimals = (5 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.5e}")
    }
}

/// A signed gap, as the console prints it.
fn signed(v: f64) -> String {
    format!("{v:+.3e}")
}

fn table(out: &mut String, head: &[&str], rows: &[Vec<String>], text_columns: &[usize]) {
    out.push_str("<table><thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let class = if text_columns.contains(&i) {
            " class=\"text\""
        } else {
            ""
        };
        let _ = write!(out, "<th{class}>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if text_columns.contains(&i) {
                " class=\"text\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
}

fn figure(out: &mut String, f: &Figure) {
    let _ = write!(
        out,
        "<figure{} data-figure=\"{}\" data-markers=\"{}\" data-lines=\"{}\" data-bars=\"{}\">\
         <div class=\"plot\">{}</div>",
        if f.wide { " class=\"wide\"" } else { "" },
        escape(&f.id),
        f.markers,
        f.lines,
        f.bars,
        f.html
    );
    if !f.notes.is_empty() {
        out.push_str("<figcaption>");
        for n in &f.notes {
            let _ = write!(out, "<p>{}</p>", escape(n));
        }
        out.push_str("</figcaption>");
    }
    out.push_str("</figure>\n");
}

fn grid(out: &mut String, figures: &[Figure]) {
    out.push_str("<div class=\"grid\">\n");
    for f in figures {
        figure(out, f);
    }
    out.push_str("</div>\n");
}

/// Whether `file` sits in `dir` (lexically, or once both are resolved).
fn beside(file: &Path, dir: &Path) -> bool {
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    parent == dir
        || matches!(
            (parent.canonicalize(), dir.canonicalize()),
            (Ok(a), Ok(b)) if a == b
        )
}

/// The page around plotly.js.
pub(crate) fn render(report: &Report, dir: &Path) -> Result<Page, ReportError> {
    // Build every figure first: a data error surfaces before any page is assembled.
    let mut top = Vec::new();
    let loss = report.history.as_ref().map(figures::losses).transpose()?;
    // The data before and after training side by side, then the losses across the page.
    if let Some(data) = &report.tutorial {
        top.push(figures::tutorial(data, false)?);
        if data.predictions.is_some() {
            top.push(figures::tutorial(data, true)?);
        }
    }
    if let Some(mut loss) = loss {
        loss.wide = true;
        top.push(loss);
    }
    if let Some(r) = &report.regularization {
        top.push(figures::path(r)?);
        if let Some(cv) = &r.cv {
            top.push(figures::cv(&r.alphas, cv)?);
        }
    }
    let mut fits = Vec::new();
    for (i, fit) in report.fits.iter().take(MAX_TARGET_FIGURES).enumerate() {
        let mut histogram = figures::residual_histogram(i, fit)?;
        histogram.wide = true;
        fits.push((
            &fit.target,
            vec![
                figures::predicted_vs_actual(i, fit)?,
                figures::residuals(i, fit)?,
                histogram,
            ],
        ));
    }
    // One feature and an intercept read better as the table alone.
    let coefficient_figures = match &report.coefficients {
        Some(c) => (0..c.targets.len().min(MAX_TARGET_FIGURES))
            .filter(|&t| {
                let terms = &c.targets[t].terms;
                terms.len() > 2 || terms.iter().any(|t| t.interval.is_some())
            })
            .map(|t| {
                figures::coefficients(t, c, t).map(|mut f| {
                    f.wide = true;
                    f
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let count =
        top.len() + fits.iter().map(|f| f.1.len()).sum::<usize>() + coefficient_figures.len();

    let mut out = String::with_capacity(64 * 1024);
    let title = if report.title.is_empty() {
        "linreg run"
    } else {
        &report.title
    };
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"linreg {}\">\n<title>{} · linreg report</title>\n\
         <style>{STYLE}</style>\n<script>",
        env!("CARGO_PKG_VERSION"),
        escape(title),
    );
    let head = std::mem::take(&mut out);
    let _ = write!(
        out,
        "</script>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n",
        escape(title)
    );
    if !report.description.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape(&report.description));
    }
    if !report.headline.is_empty() {
        out.push_str("<dl class=\"headline\">");
        for (k, v) in &report.headline {
            let _ = write!(
                out,
                "<div><dt>{}</dt><dd>{}</dd></div>",
                escape(k),
                escape(v)
            );
        }
        out.push_str("</dl>\n");
    }

    let figures_heading = if report.tutorial.is_some() {
        "The tutorial's figures"
    } else if report.regularization.is_some() {
        "Regularization path"
    } else {
        "Training"
    };
    let sections: Vec<(&str, &str, bool)> = vec![
        ("figures", figures_heading, !top.is_empty()),
        ("fit", "Predictions and residuals", !fits.is_empty()),
        (
            "coefficients",
            "Coefficients",
            report.coefficients.is_some(),
        ),
        ("metrics", "Metrics", !report.metrics.is_empty()),
        ("exact", "Gap to the exact optimum", report.exact.is_some()),
        ("config", "Configuration", !report.config.is_empty()),
        ("files", "Files written", !report.files.is_empty()),
    ];
    out.push_str("<nav>");
    for (id, heading, present) in &sections {
        if *present {
            let _ = write!(out, "<a href=\"#{id}\">{}</a>", escape(heading));
        }
    }
    out.push_str("</nav>\n</header>\n<main>\n");

    let mut notes = report.notes.clone();
    let thinned = top
        .iter()
        .chain(fits.iter().flat_map(|f| &f.1))
        .any(|f| f.notes.iter().any(|n| n.contains(" drawn (")));
    if thinned {
        notes.push(format!(
            "Long series are thinned for drawing to at most {} points each (an even stride, as in \
             the PNG charts); the captions say which. Tables, metrics and histograms use every row.",
            group(crate::MAX_POINTS)
        ));
    }
    if report.fits.len() > MAX_TARGET_FIGURES {
        notes.push(format!(
            "Figures are drawn for the first {MAX_TARGET_FIGURES} of {} targets; the tables list \
             all of them.",
            report.fits.len()
        ));
    }
    if !notes.is_empty() {
        out.push_str("<div class=\"notes\">");
        for n in &notes {
            let _ = write!(out, "<p>{}</p>", escape(n));
        }
        out.push_str("</div>\n");
    }

    let heading = |out: &mut String, id: &str| {
        let (_, h, _) = sections.iter().find(|s| s.0 == id).expect("known section");
        let _ = writeln!(out, "<section id=\"{id}\">\n<h2>{}</h2>", escape(h));
    };
    if !top.is_empty() {
        heading(&mut out, "figures");
        grid(&mut out, &top);
        out.push_str("</section>\n");
    }
    if !fits.is_empty() {
        heading(&mut out, "fit");
        for (target, figs) in &fits {
            if report.fits.len() > 1 {
                let _ = writeln!(out, "<h3>{}</h3>", escape(target));
            }
            grid(&mut out, figs);
        }
        out.push_str("</section>\n");
    }
    if let Some(c) = &report.coefficients {
        heading(&mut out, "coefficients");
        if !c.caption.is_empty() {
            let _ = writeln!(out, "<p>{}</p>", escape(&c.caption));
        }
        coefficient_table(&mut out, c);
        grid(&mut out, &coefficient_figures);
        out.push_str("</section>\n");
    }
    if !report.metrics.is_empty() {
        heading(&mut out, "metrics");
        let rows: Vec<Vec<String>> = report
            .metrics
            .iter()
            .map(|m| {
                vec![
                    m.set.clone(),
                    m.target.clone().unwrap_or_else(|| "(mean)".into()),
                    num(m.mae),
                    num(m.mse),
                    num(m.rmse),
                    num(m.r2),
                ]
            })
            .collect();
        table(
            &mut out,
            &["set", "target", "MAE", "MSE", "RMSE", "R²"],
            &rows,
            &[1],
        );
        out.push_str("</section>\n");
    }
    if let Some(gap) = &report.exact {
        heading(&mut out, "exact");
        let _ = writeln!(
            out,
            "<p>Exact optimum by {}: {} iteration(s), {:.1} ms. Distance between the two parameter \
             sets: {}.</p>",
            escape(&gap.method),
            gap.iterations,
            gap.seconds * 1e3,
            num(gap.param_distance)
        );
        let rows: Vec<Vec<String>> = gap
            .sets
            .iter()
            .map(|r| {
                vec![
                    r.set.clone(),
                    num(r.optimum),
                    num(r.reached),
                    signed(r.gap_abs),
                    r.gap_rel
                        .map(signed)
                        .unwrap_or_else(|| "— (the optimum is 0)".into()),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "set",
                "exact optimum loss",
                "loss reached",
                "gap",
                "relative gap",
            ],
            &rows,
            &[],
        );
        out.push_str("</section>\n");
    }
    if !report.config.is_empty() {
        heading(&mut out, "config");
        let rows: Vec<Vec<String>> = report
            .config
            .iter()
            .map(|(k, v)| vec![k.clone(), v.clone()])
            .collect();
        table(&mut out, &["setting", "value"], &rows, &[1]);
        out.push_str("</section>\n");
    }
    if !report.files.is_empty() {
        heading(&mut out, "files");
        out.push_str("<ul class=\"files\">");
        for f in &report.files {
            let shown = escape(&f.display().to_string());
            match f.file_name().and_then(|n| n.to_str()) {
                Some(name) if beside(f, dir) => {
                    let _ = write!(out, "<li><a href=\"{}\">{shown}</a></li>", href(name));
                }
                _ => {
                    let _ = write!(out, "<li>{shown}</li>");
                }
            }
        }
        out.push_str("</ul>\n</section>\n");
    }
    let _ = write!(
        out,
        "</main>\n<footer>Written by linreg. Figures drawn by plotly.js {} (MIT license), embedded in \
         this page through the plotly crate: it opens with no network. Colours and template as in \
         the PyTorch tutorial “Linear Models” (<span style=\"color:{TRAIN_COLOR}\">■</span> \
         training, <span style=\"color:{}\">■</span> test, <span style=\"color:{}\">■</span> \
         predictions).</footer>\n</body>\n</html>\n",
        escape(plotly_js_version()),
        crate::TEST_COLOR,
        crate::PREDICTION_COLOR
    );
    Ok(Page {
        head,
        body: out,
        figures: count,
    })
}

fn coefficient_table(out: &mut String, c: &crate::Coefficients) {
    let terms = || c.targets.iter().flat_map(|t| &t.terms);
    let exact = terms().any(|t| t.exact.is_some());
    let se = terms().any(|t| t.std_error.is_some());
    let ci = terms().any(|t| t.interval.is_some());
    let p = terms().any(|t| t.p_value.is_some());
    let level = c
        .level
        .map(|l| format!("{}% ", l * 100.0))
        .unwrap_or_default();
    let (lower, upper) = (format!("{level}CI lower"), format!("{level}CI upper"));
    let mut head = vec!["target", "term", "estimate"];
    if exact {
        head.push("exact optimum");
    }
    if se {
        head.push("std. error");
    }
    if ci {
        head.push(&lower);
        head.push(&upper);
    }
    if p {
        head.push("p-value");
    }
    let opt = |v: Option<f64>| v.map(num).unwrap_or_else(|| "—".into());
    let rows: Vec<Vec<String>> = c
        .targets
        .iter()
        .flat_map(|t| t.terms.iter().map(move |term| (t, term)))
        .map(|(t, term)| {
            let mut row = vec![t.target.clone(), term.name.clone(), num(term.estimate)];
            if exact {
                row.push(opt(term.exact));
            }
            if se {
                row.push(opt(term.std_error));
            }
            if ci {
                row.push(opt(term.interval.map(|i| i.0)));
                row.push(opt(term.interval.map(|i| i.1)));
            }
            if p {
                row.push(opt(term.p_value));
            }
            row
        })
        .collect();
    table(out, &head, &rows, &[1]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_and_href_make_any_name_safe() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(href("model.mpk"), "model.mpk");
        assert_eq!(href("a b#?.html"), "a%20b%23%3F.html");
        assert_eq!(href("é"), "%C3%A9");
    }

    #[test]
    fn numbers_have_six_significant_digits() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.616_177_916_526_794_4), "0.616178");
        assert_eq!(num(2_859.696_4), "2859.70");
        assert_eq!(num(-12.5), "-12.5000");
        assert_eq!(num(0.001), "0.00100000");
        assert_eq!(num(8.990_186e-3), "0.00899019");
        assert_eq!(num(2.4e-8), "2.40000e-8");
        assert_eq!(num(1.5e7), "1.50000e7");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(f64::NEG_INFINITY), "−∞");
        assert_eq!(signed(8.325_04e-3), "+8.325e-3");
    }

    #[test]
    fn the_plotly_bundle_is_embedded_without_mathjax() {
        assert!(PLOTLY_JS.len() > 1_000_000, "the full plotly.js bundle");
        assert!(PLOTLY_JS.starts_with("/**\n* plotly.js v3.0.1"));
        assert!(
            !PLOTLY_JS.contains("__webpack_modules__"),
            "MathJax (tex-svg) is the second script of the plotly crate's sources"
        );
        assert!(
            !PLOTLY_JS.contains("</script"),
            "the script cannot close itself early"
        );
        assert_eq!(plotly_js_version(), "3.0.1");
    }

    #[test]
    fn files_beside_the_page_are_linked() {
        let dir = Path::new("out");
        assert!(beside(Path::new("out/model.mpk"), dir));
        assert!(!beside(Path::new("elsewhere/model.mpk"), dir));
        assert!(beside(Path::new("model.mpk"), Path::new(".")));
    }
}
