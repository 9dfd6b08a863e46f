//! `linreg generate`: a synthetic table and the coefficients that made it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use linreg_data::SyntheticSpec;
use serde::Serialize;

use linreg_store::write_atomic;

use crate::cli::GenerateArgs;

/// The sidecar JSON: what a fitted model should recover.
#[derive(Serialize)]
struct Coefficients<'a> {
    rows: usize,
    noise: f64,
    seed: u64,
    features: &'a [String],
    targets: &'a [String],
    /// `[target][feature]`, PyTorch's orientation.
    weight: &'a [Vec<f64>],
    bias: &'a [f64],
}

/// The sidecar's path: `data.csv` → `data.coefficients.json`.
pub fn sidecar_path(output: &std::path::Path) -> PathBuf {
    output.with_extension("coefficients.json")
}

/// Runs `linreg generate`.
pub fn run(args: &GenerateArgs) -> Result<()> {
    let spec = SyntheticSpec {
        rows: args.rows,
        features: args.features,
        targets: args.targets,
        noise: args.noise,
        seed: args.seed,
    };
    let s = spec.generate().context("cannot generate the table")?;
    let mut csv = Vec::new();
    s.write_csv(&mut csv)
        .context("could not format the table")?;
    let sidecar = sidecar_path(&args.output);
    let coefficients = Coefficients {
        rows: args.rows,
        noise: args.noise,
        seed: args.seed,
        features: &s.feature_names,
        targets: &s.target_names,
        weight: &s.weight,
        bias: &s.bias,
    };
    write_atomic(&args.output, &csv)?;
    write_atomic(&sidecar, &serde_json::to_vec_pretty(&coefficients)?)?;
    println!(
        "linreg generate: {} rows × {} features → {} target(s), noise {}, seed {}",
        args.rows, args.features, args.targets, args.noise, args.seed
    );
    println!("   {}", args.output.display());
    println!("   {} (the true coefficients)", sidecar.display());
    Ok(())
}
