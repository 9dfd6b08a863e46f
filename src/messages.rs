//! What a person reads after a fit: the closing lines (how it was solved or trained, the
//! metrics, the gap to the exact optimum, the inference tables) and the warnings.

use linreg_fit::{FirstPass, Fit, FitSpec, Solver};
use linreg_solve::{Conditioning, Inference};
use linreg_store::{CvJson, ExactReport, PathJson, PenaltyJson};
use linreg_train::FusedAutodiffBackend;

use crate::console::{metrics_table, Console};

/// The first pass's line: its time, the bytes it read and their rate.
pub fn first_pass(first: &FirstPass) -> String {
    format!(
        "   one pass of moments: {:.2} s, {:.1} MB of values at {:.0} MB/s",
        first.seconds,
        first.value_bytes as f64 / 1e6,
        first.value_bytes as f64 / 1e6 / first.seconds.max(1e-9)
    )
}

/// The lines after a fit: how it ended, the metrics table, the gap to the exact optimum
/// (gradient descent), the inference tables, and (on stderr) a warning about
/// ill-conditioned columns.
pub fn fit_lines<B: FusedAutodiffBackend>(fit: &Fit<B>, spec: &FitSpec, console: &mut Console) {
    let trained = &fit.trained;
    match (&fit.solved, fit.engine) {
        (Some(s), None) => console.line(&format!(
            "   Solved exactly: {}, {} iteration(s), {:.1} ms.",
            s.method,
            s.fit.iterations,
            s.seconds * 1e3
        )),
        (Some(s), Some(_)) => console.line(&format!(
            "   Solved exactly: {}, {:.1} ms.",
            s.method,
            s.seconds * 1e3
        )),
        // Gradient descent: the library said how training went, right after it.
        (None, _) => {}
    }
    let sets = [
        ("train", &trained.train_metrics),
        ("test", &trained.test_metrics),
    ];
    console.line(&metrics_table(&sets, &fit.targets));
    if trained.train_metrics.mean.mae.is_nan() {
        console.line("   (MAE needs the rows themselves: `linreg evaluate` streams them; the other scores come from the moments)");
    }
    if let (Solver::Gd { .. }, Some(report)) = (spec.solver, &fit.exact) {
        for line in report_lines(report) {
            console.line(&line);
        }
    }
    if let Some(penalty) = &fit.penalty {
        let asked = match spec.penalty.elastic_net().map(|n| &n.alphas) {
            Some(linreg_fit::Alphas::Grid { count, .. }) => Some(*count),
            _ => None,
        };
        for line in penalty_lines(penalty, asked, &fit.features, &fit.targets) {
            console.line(&line);
        }
    }
    if let Some(st) = &fit.statistics {
        for table in &st.tables {
            for line in inference_lines(table) {
                console.line(&line);
            }
        }
        if let Some(w) = conditioning_warning(&st.conditioning, &fit.features) {
            eprintln!("{w}");
        }
    }
}

/// A penalized fit's lines: the path (and, when `asked` for a longer grid, where it ended),
/// the cross-validation, the chosen coefficients, and why there is no inference table.
pub fn penalty_lines(
    p: &PenaltyJson,
    asked: Option<usize>,
    features: &[String],
    targets: &[String],
) -> Vec<String> {
    let mut lines = path_lines(p, asked);
    lines.extend(p.cv.as_ref().map(|cv| cv_line(cv, &p.path.alphas)));
    lines.extend(coefficient_lines(&p.path, features, targets));
    lines.push(
        "   No inference table: the penalty chose these coefficients, and standard errors that \
         ignore the choosing would mislead (report.html draws the path and the cross-validation)."
            .into(),
    );
    lines
}

/// The penalty and its α: one, or the path's range (and where a generated grid ended).
fn path_lines(p: &PenaltyJson, asked: Option<usize>) -> Vec<String> {
    let path = &p.path;
    let n = path.alphas.len();
    let name = match p.kind.as_str() {
        "lasso" => "Lasso".to_string(),
        "ridge" => "Ridge".to_string(),
        _ => format!("Elastic net (l1_ratio {})", num(path.l1_ratio)),
    };
    let mut lines = vec![match n {
        1 => format!("   {name} at α = {}:", num(path.alpha)),
        _ => format!(
            "   {name} path: {n} α from {} to {} (α_max = {}, where every coefficient is 0)",
            num(path.alphas[0]),
            num(path.alphas[n - 1]),
            num(path.alpha_max)
        ),
    }];
    if let Some(asked) = asked.filter(|&a| a > n) {
        lines.push(format!(
            "   The path ends after {n} of the {asked} α asked for: the fit had stopped improving \
             (deviance ratio above 0.999, or up by less than 1e-5), where glmnet ends it too; \
             --alphas fits every α given"
        ));
    }
    lines
}

/// Cross-validation's two α, their errors, and which one the model took.
fn cv_line(cv: &CvJson, alphas: &[f64]) -> String {
    let at = |a: f64| alphas.iter().position(|&x| x == a).unwrap_or(0);
    let (m, o) = (at(cv.alpha_min), at(cv.alpha_1se));
    format!(
        "   Cross-validation, {} folds ({}): α_min = {} (MSE {} ± {}), α_1se = {} (MSE {} ± {}); the model is at α_{}",
        cv.folds,
        cv.assignment,
        num(cv.alpha_min),
        num(cv.mean[m]),
        num(cv.standard_error[m]),
        num(cv.alpha_1se),
        num(cv.mean[o]),
        num(cv.standard_error[o]),
        cv.rule
    )
}

/// The saved model's coefficients on the original columns, per target.
fn coefficient_lines(path: &PathJson, features: &[String], targets: &[String]) -> Vec<String> {
    let n = path.alphas.len();
    let chosen = path
        .alphas
        .iter()
        .position(|&a| a == path.alpha)
        .unwrap_or(n - 1);
    let ratios: Vec<String> = path.deviance_ratio[chosen]
        .iter()
        .map(|d| format!("{d:.6}"))
        .collect();
    let mut lines = vec![format!(
        "   Coefficients at α = {} ({} of {} non-zero; deviance ratio {}), on the original columns:",
        num(path.alpha),
        path.nonzero[chosen],
        features.len() * targets.len(),
        ratios.join(", ")
    )];
    let width = features.iter().map(|f| f.len()).max().unwrap_or(0).max(9);
    for (t, target) in targets.iter().enumerate() {
        if targets.len() > 1 {
            lines.push(format!("     {target}:"));
        }
        lines.push(format!(
            "     {:<width$}  {}",
            "intercept",
            num(path.bias[chosen][t])
        ));
        for (f, w) in features.iter().zip(&path.weight[chosen][t]) {
            lines.push(format!("     {f:<width$}  {}", num(*w)));
        }
    }
    lines
}

/// The report's lines for a person.
pub fn report_lines(report: &ExactReport) -> Vec<String> {
    let gap = |rel: Option<f64>, abs: f64| match rel {
        Some(r) => format!("{:+.3e} relative", r),
        None => format!("{abs:+.3e} (the optimum is 0)"),
    };
    vec![
            format!(
                "   Exact optimum ({}, {} iteration(s), {:.1} ms): train loss {:.6e}, test loss {:.6e}",
                report.method,
                report.iterations,
                report.seconds * 1e3,
                report.train_loss,
                report.test_loss
            ),
            format!(
                "   Gradient descent: train loss {:.6e} (gap {}), test loss {:.6e} (gap {}); parameter distance {:.3e}",
                report.gd_train_loss,
                gap(report.gap.train, report.gap_abs.train),
                report.gd_test_loss,
                gap(report.gap.test, report.gap_abs.test),
                report.param_distance
            ),
        ]
}

/// The near-collinearity warning: the condition number and the columns of the weakest
/// direction.
pub fn conditioning_warning(c: &Conditioning, features: &[String]) -> Option<String> {
    if !c.is_ill_conditioned() {
        return None;
    }
    let mut cols: Vec<String> = c
        .weakest
        .iter()
        .map(|&j| format!("'{}'", features[j]))
        .collect();
    if c.weakest_intercept {
        cols.insert(0, "the intercept".into());
    }
    Some(format!(
        "warning: the columns are nearly collinear: condition number {:.3e} with unit-length columns \
         ({:.3e} as given), so rounding in the data alone can move the coefficients' {}th significant \
         digit; the columns most involved: {}. The fit is still solved to full precision \
         (double-double QR); standardizing or centring the columns, or orthogonal polynomials, \
         make the coefficients less sensitive",
        c.scaled,
        c.raw,
        (16.0 - c.scaled.log10()).floor().max(1.0),
        cols.join(", ")
    ))
}

/// Numbers as a statistician reads them: 10 significant digits, plain between 1e-4 and 1e10.
fn num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-4..1e10).contains(&a) {
        let decimals = (9 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.9e}")
    }
}

/// The table as lines for a person (like R's `summary(lm)`).
pub fn inference_lines(t: &Inference) -> Vec<String> {
    let width = t
        .coefficients
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(9)
        .max(9);
    let mut out = vec![format!(
        "   Inference for '{}' ({} rows; standard errors: {}):",
        t.target,
        t.rows,
        t.covariance_type.name()
    )];
    out.push(format!(
        "   {:width$} {:>18} {:>18} {:>12} {:>12} {:>18} {:>18}",
        "", "estimate", "std error", "t", "P>|t|", "[0.025", "0.975]"
    ));
    for c in &t.coefficients {
        out.push(format!(
            "   {:width$} {:>18} {:>18} {:>12.4} {:>12} {:>18} {:>18}",
            c.name,
            num(c.estimate),
            num(c.std_error),
            c.t,
            if c.p_value < 1e-8 {
                format!("{:.2e}", c.p_value)
            } else {
                format!("{:.8}", c.p_value)
            },
            num(c.ci_low),
            num(c.ci_high)
        ));
    }
    out.push(format!(
        "   Residual standard error {} on {} degrees of freedom",
        num(t.residual_std_error),
        t.df_resid
    ));
    out.push(format!(
        "   R² {}, adjusted R² {}; F({}, {}) = {}, p = {:.3e}",
        num(t.r2),
        num(t.adj_r2),
        t.df_model,
        t.df_resid,
        num(t.f_statistic),
        t.f_p_value
    ));
    out.push(format!(
        "   Log-likelihood {}, AIC {}, BIC {}; condition number {:.3e}",
        num(t.log_likelihood),
        num(t.aic),
        num(t.bic),
        t.condition_number
    ));
    out
}
