//! Synthetic linear tables with known coefficients, for demos, tests and benchmarks.

use std::io::{self, Write};

use crate::rng::SplitMix64;
use crate::{DataError, Dataset, Matrix};

/// What to generate: `rows` rows of `features` Gaussian columns (each with its own mean and
/// spread) and `targets` columns `y = x·wᵀ + b + noise·N(0, 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticSpec {
    /// Number of rows.
    pub rows: usize,
    /// Number of feature columns.
    pub features: usize,
    /// Number of target columns.
    pub targets: usize,
    /// Standard deviation of the Gaussian noise added to each target.
    pub noise: f64,
    /// Seed of the generator: the same seed gives the same table everywhere.
    pub seed: u64,
}

/// A generated table and the coefficients that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthetic {
    /// The rows.
    pub data: Dataset,
    /// Feature names: `x1`, `x2`, …
    pub feature_names: Vec<String>,
    /// Target names: `y`, or `y1`, `y2`, … for several.
    pub target_names: Vec<String>,
    /// True coefficients, `[target][feature]`.
    pub weight: Vec<Vec<f64>>,
    /// True intercepts, one per target.
    pub bias: Vec<f64>,
}

impl SyntheticSpec {
    /// Generates the table (at most 2³¹ cells: larger tables are written with
    /// [`SyntheticSpec::stream`]).
    pub fn generate(&self) -> Result<Synthetic, DataError> {
        self.check()?;
        check(
            "rows × (features + targets)",
            self.rows
                .checked_mul(self.features + self.targets)
                .is_some_and(|c| c <= 1 << 31),
            (self.rows as f64) * ((self.features + self.targets) as f64),
            "at most 2^31 cells",
        )?;
        let mut stream = self.stream(self.rows)?;
        // At least two rows, so one chunk of them all.
        let data = stream.next().ok_or(DataError::InvalidParameter {
            name: "rows",
            value: 0.0,
            expected: "at least 2",
        })?;
        let SyntheticStream {
            feature_names,
            target_names,
            weight,
            bias,
            ..
        } = stream;
        Ok(Synthetic {
            data,
            feature_names,
            target_names,
            weight,
            bias,
        })
    }

    /// The same table as [`SyntheticSpec::generate`] makes (value for value, for the same
    /// seed), as an iterator of chunks of `chunk_rows` rows: for tables larger than memory.
    ///
    /// ```
    /// use linreg_data::SyntheticSpec;
    ///
    /// let spec = SyntheticSpec { rows: 10, features: 2, targets: 1, noise: 0.1, seed: 4 };
    /// let whole = spec.generate()?;
    /// let parts: Vec<_> = spec.stream(4)?.collect();
    /// assert_eq!(parts.iter().map(|d| d.len()).collect::<Vec<_>>(), [4, 4, 2]);
    /// assert_eq!(parts[2].x.row(1), whole.data.x.row(9));
    /// # Ok::<(), linreg_data::DataError>(())
    /// ```
    pub fn stream(&self, chunk_rows: usize) -> Result<SyntheticStream, DataError> {
        self.check()?;
        let mut rng = SplitMix64::new(self.seed);
        // Round the coefficients so a person can read them back from the sidecar.
        let round = |v: f64| (v * 1000.0).round() / 1000.0;
        let centre: Vec<f64> = (0..self.features)
            .map(|_| round(rng.next_f64() * 10.0 - 5.0))
            .collect();
        let spread: Vec<f64> = (0..self.features)
            .map(|_| round(0.5 + rng.next_f64() * 4.5))
            .collect();
        let weight: Vec<Vec<f64>> = (0..self.targets)
            .map(|_| {
                (0..self.features)
                    .map(|_| round(rng.next_f64() * 6.0 - 3.0))
                    .collect()
            })
            .collect();
        let bias: Vec<f64> = (0..self.targets)
            .map(|_| round(rng.next_f64() * 4.0 - 2.0))
            .collect();
        let target_names = if self.targets == 1 {
            vec!["y".to_string()]
        } else {
            (1..=self.targets).map(|i| format!("y{i}")).collect()
        };
        Ok(SyntheticStream {
            feature_names: (1..=self.features).map(|i| format!("x{i}")).collect(),
            target_names,
            weight,
            bias,
            centre,
            spread,
            rng,
            noise: self.noise,
            remaining: self.rows,
            chunk_rows: chunk_rows.max(1),
        })
    }

    fn check(&self) -> Result<(), DataError> {
        check("rows", self.rows >= 2, self.rows as f64, "at least 2")?;
        check(
            "features",
            (1..=10_000).contains(&self.features),
            self.features as f64,
            "between 1 and 10000",
        )?;
        check(
            "targets",
            (1..=1_000).contains(&self.targets),
            self.targets as f64,
            "between 1 and 1000",
        )?;
        check(
            "noise",
            self.noise.is_finite() && self.noise >= 0.0,
            self.noise,
            "a finite number ≥ 0, such as 0.1",
        )
    }
}

fn check(
    name: &'static str,
    ok: bool,
    value: f64,
    expected: &'static str,
) -> Result<(), DataError> {
    if ok {
        Ok(())
    } else {
        Err(DataError::InvalidParameter {
            name,
            value,
            expected,
        })
    }
}

/// A synthetic table generated a chunk of rows at a time ([`SyntheticSpec::stream`]).
#[derive(Debug, Clone)]
pub struct SyntheticStream {
    /// Feature names: `x1`, `x2`, …
    pub feature_names: Vec<String>,
    /// Target names: `y`, or `y1`, `y2`, … for several.
    pub target_names: Vec<String>,
    /// True coefficients, `[target][feature]`.
    pub weight: Vec<Vec<f64>>,
    /// True intercepts, one per target.
    pub bias: Vec<f64>,
    centre: Vec<f64>,
    spread: Vec<f64>,
    rng: SplitMix64,
    noise: f64,
    remaining: usize,
    chunk_rows: usize,
}

impl Iterator for SyntheticStream {
    type Item = Dataset;

    fn next(&mut self) -> Option<Dataset> {
        if self.remaining == 0 {
            return None;
        }
        let rows = self.chunk_rows.min(self.remaining);
        self.remaining -= rows;
        let (p, k) = (self.centre.len(), self.bias.len());
        let mut x = Vec::with_capacity(rows * p);
        let mut y = Vec::with_capacity(rows * k);
        let mut row = vec![0.0_f64; p];
        for _ in 0..rows {
            for (j, v) in row.iter_mut().enumerate() {
                *v = f64::from((self.centre[j] + self.spread[j] * self.rng.normal()) as f32);
                x.push(*v as f32);
            }
            for (w, b) in self.weight.iter().zip(&self.bias) {
                let clean: f64 = w.iter().zip(&row).map(|(w, x)| w * x).sum::<f64>() + b;
                y.push((clean + self.noise * self.rng.normal()) as f32);
            }
        }
        Some(Dataset {
            x: Matrix {
                rows,
                cols: p,
                values: x,
            },
            y: Matrix {
                rows,
                cols: k,
                values: y,
            },
        })
    }
}

impl Synthetic {
    /// Writes the table as CSV: features, then targets, under their names.
    pub fn write_csv<W: Write>(&self, out: W) -> io::Result<()> {
        let names: Vec<String> = self
            .feature_names
            .iter()
            .chain(&self.target_names)
            .cloned()
            .collect();
        write_csv(out, &names, &[&self.data.x, &self.data.y])
    }
}

/// Writes matrices side by side as CSV: a header of `names`, then one line per row.
/// Floats are written in their shortest exact form, so reading them back gives the same f32.
pub fn write_csv<W: Write>(out: W, names: &[String], blocks: &[&Matrix]) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    writeln!(out, "{}", names.join(","))?;
    let rows = blocks.first().map_or(0, |m| m.rows());
    for r in 0..rows {
        let mut first = true;
        for m in blocks {
            for v in m.row(r) {
                if !first {
                    out.write_all(b",")?;
                }
                first = false;
                write!(out, "{v}")?;
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{read_table, Columns, CsvOptions};

    #[test]
    fn noiseless_table_satisfies_its_coefficients() {
        let s = SyntheticSpec {
            rows: 50,
            features: 3,
            targets: 2,
            noise: 0.0,
            seed: 9,
        }
        .generate()
        .unwrap();
        assert_eq!(s.target_names, ["y1", "y2"]);
        for r in 0..50 {
            let x = s.data.x.row(r);
            for t in 0..2 {
                let want: f64 = s.weight[t]
                    .iter()
                    .zip(x)
                    .map(|(w, &x)| w * f64::from(x))
                    .sum::<f64>()
                    + s.bias[t];
                assert!((f64::from(s.data.y.row(r)[t]) - want).abs() < 1e-4 * want.abs().max(1.0));
            }
        }
        let again = SyntheticSpec {
            rows: 50,
            features: 3,
            targets: 2,
            noise: 0.0,
            seed: 9,
        }
        .generate()
        .unwrap();
        assert_eq!(s, again, "same seed, same table");
    }

    #[test]
    fn csv_round_trip_is_exact() {
        let s = SyntheticSpec {
            rows: 20,
            features: 4,
            targets: 1,
            noise: 0.5,
            seed: 1,
        }
        .generate()
        .unwrap();
        let dir = std::env::temp_dir().join(format!("linreg-synth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.csv");
        s.write_csv(std::fs::File::create(&path).unwrap()).unwrap();
        let cols = Columns {
            targets: vec!["y".into()],
            features: None,
        };
        let t = read_table(&path, &cols, &CsvOptions::default()).unwrap();
        assert_eq!(t.data, s.data);
        assert_eq!(t.features, s.feature_names);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_specs_are_errors() {
        let ok = SyntheticSpec {
            rows: 10,
            features: 2,
            targets: 1,
            noise: 0.1,
            seed: 0,
        };
        assert!(SyntheticSpec { rows: 1, ..ok }.generate().is_err());
        assert!(SyntheticSpec { features: 0, ..ok }.generate().is_err());
        assert!(SyntheticSpec { noise: -1.0, ..ok }.generate().is_err());
        assert!(SyntheticSpec {
            noise: f64::NAN,
            ..ok
        }
        .generate()
        .is_err());
        let huge = SyntheticSpec {
            rows: 2_000_000_000,
            features: 1,
            targets: 1000,
            ..ok
        };
        assert!(huge.generate().is_err(), "refused before allocating");
    }
}
