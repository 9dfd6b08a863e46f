//! `linreg generate`: a synthetic table and the coefficients that made it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use linreg_data::SyntheticSpec;
use serde::Serialize;

use linreg_io::{ParquetWriter, WriteOptions};
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
    let parquet = args
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let sidecar = sidecar_path(&args.output);
    let sidecar_json = if parquet {
        // A chunk of rows at a time: the table may be larger than memory.
        let stream = spec
            .stream(args.row_group_rows.clamp(1, 1 << 20))
            .context("cannot generate the table")?;
        let names: Vec<String> = stream
            .feature_names
            .iter()
            .chain(&stream.target_names)
            .cloned()
            .collect();
        let json = serde_json::to_vec_pretty(&Coefficients {
            rows: args.rows,
            noise: args.noise,
            seed: args.seed,
            features: &stream.feature_names,
            targets: &stream.target_names,
            weight: &stream.weight,
            bias: &stream.bias,
        })?;
        let options = WriteOptions {
            row_group_rows: args.row_group_rows.max(1),
            ..WriteOptions::default()
        };
        let mut writer = ParquetWriter::create(&args.output, &names, options)?;
        for chunk in stream {
            let columns: Vec<Vec<f32>> = (0..chunk.x.cols())
                .map(|j| chunk.x.column_values(j))
                .chain((0..chunk.y.cols()).map(|t| chunk.y.column_values(t)))
                .collect();
            let refs: Vec<&[f32]> = columns.iter().map(|c| &c[..]).collect();
            writer.write_columns::<f32>(&refs)?;
        }
        writer.finish()?;
        json
    } else {
        let s = spec.generate().context("cannot generate the table")?;
        let mut csv = Vec::new();
        s.write_csv(&mut csv)
            .context("could not format the table")?;
        let json = serde_json::to_vec_pretty(&Coefficients {
            rows: args.rows,
            noise: args.noise,
            seed: args.seed,
            features: &s.feature_names,
            targets: &s.target_names,
            weight: &s.weight,
            bias: &s.bias,
        })?;
        write_atomic(&args.output, &csv)?;
        json
    };
    write_atomic(&sidecar, &sidecar_json)?;
    println!(
        "linreg generate: {} rows × {} features → {} target(s), noise {}, seed {}",
        args.rows, args.features, args.targets, args.noise, args.seed
    );
    println!("   {}", args.output.display());
    println!("   {} (the true coefficients)", sidecar.display());
    Ok(())
}
