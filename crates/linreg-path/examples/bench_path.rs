//! Times what `tools/bench_path.sh` compares with glmnet and scikit-learn, on the tables it
//! wrote into DIR (little-endian f64, row-major):
//!
//! ```text
//! cargo run -p linreg-path --release --example bench_path -- DIR
//! ```
//!
//! - `tall_x.bin`/`tall_y.bin` (1,000,000 × 100): a 100-α lasso path down to α_max/1000 from
//!   the moments (the one pass over the rows included), and 10-fold cross-validation of it
//!   (folds by `fold_of`, one pass into per-fold moments included);
//! - `wide_x.bin`/`wide_y.bin` (200 × 10,000): the same path from the rows.
//!
//! The tables are in memory before the clock starts, as they are for glmnet and scikit-learn.
//! Each figure is the best of three runs.

use std::path::Path;
use std::time::Instant;

use linreg_path::{cross_validate, fold_ids, moments_by_fold, path, path_rows, PathOptions};
use linreg_solve::{Moments, View};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn read(path: &Path) -> Result<Vec<f64>> {
    let bytes = std::fs::read(path)?;
    Ok(bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect())
}

/// A table's rows: `NAME_x.bin` and `NAME_y.bin` in `dir`.
fn table(dir: &Path, name: &str) -> Result<(Vec<f64>, Vec<f64>)> {
    Ok((
        read(&dir.join(format!("{name}_x.bin")))?,
        read(&dir.join(format!("{name}_y.bin")))?,
    ))
}

/// The best of three runs of `f`, in seconds, and its last result.
fn best_of_three<T>(mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..3 {
        let start = Instant::now();
        last = Some(f()?);
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok((best, last.expect("three runs")))
}

fn describe(name: &str, secs: f64, fit: &linreg_path::Path, (n, p): (usize, usize)) {
    let last = fit.points.last().expect("a point");
    println!(
        "linreg {name} path: {secs:.3} s ({n}×{p}, {} α, {} nonzero at the last, deviance ratio {:.6})",
        fit.alphas.len(),
        last.nonzero,
        last.deviance_ratio[0]
    );
}

/// The tall table's path and cross-validation.
fn tall(dir: &Path, options: &PathOptions) -> Result<()> {
    let (x, y) = table(dir, "tall")?;
    let (n, p) = (y.len(), x.len() / y.len());
    let (xv, yv) = (View::new(n, p, &x)?, View::new(n, 1, &y)?);
    let (secs, fit) = best_of_three(|| Ok(path(&Moments::from_rows(xv, yv, None)?, options)?))?;
    describe("tall", secs, &fit, (n, p));
    let (secs, cv) = best_of_three(|| {
        let fold = fold_ids(1, n, 10);
        Ok(cross_validate(
            &moments_by_fold(xv, yv, None, &fold)?,
            options,
        )?)
    })?;
    println!(
        "linreg tall cv10: {secs:.3} s (alpha_min {:.6e}, alpha_1se {:.6e})",
        cv.alpha_min, cv.alpha_1se
    );
    Ok(())
}

/// The wide table's path.
fn wide(dir: &Path, options: &PathOptions) -> Result<()> {
    let (x, y) = table(dir, "wide")?;
    let (n, p) = (y.len(), x.len() / y.len());
    let (xv, yv) = (View::new(n, p, &x)?, View::new(n, 1, &y)?);
    let (secs, fit) = best_of_three(|| Ok(path_rows(xv, yv, None, options)?))?;
    describe("wide", secs, &fit, (n, p));
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: bench_path DIR [tall|wide]")?;
    let (dir, options) = (Path::new(&dir), PathOptions::default());
    match args.next().as_deref() {
        Some("tall") => tall(dir, &options),
        Some("wide") => wide(dir, &options),
        _ => tall(dir, &options).and_then(|()| wide(dir, &options)),
    }
}
