//! One pass over a table into the moments of its training and test rows.

use linreg_data::{DataError, Standardizer};
use linreg_io::{Chunk, Element, ScanOptions};
use linreg_solve::{Moments, SolveError};

use crate::folds::{self, FoldRule, FoldSets};
use crate::part::Rows;
pub use crate::set::SetMoments;
use crate::{Part, StreamError};

/// The training and the test rows' moments from one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct MomentsPass {
    /// The training rows.
    pub train: SetMoments,
    /// The test rows (empty when the split keeps none).
    pub test: SetMoments,
    /// With folds ([`Part::folds`]): each fold's label and its training rows' moments, in
    /// label order (`train` is their merge).
    pub folds: Vec<(f64, SetMoments)>,
}

/// Reads `part` once, on `options.threads` threads, into the moments of its training and
/// test rows (f64 sums; `f32` Parquet columns are read without a copy, anything else as
/// f64). With a weight column, the weighted and the plain moments are both kept.
pub fn moments_pass(part: &Part<'_>, options: &ScanOptions) -> Result<MomentsPass, StreamError> {
    if part.source.stored_as::<f32>(part.selected) {
        pass_as::<f32>(part, options)
    } else {
        pass_as::<f64>(part, options)
    }
}

fn pass_as<T: Element + linreg_solve::Element>(
    part: &Part<'_>,
    options: &ScanOptions,
) -> Result<MomentsPass, StreamError> {
    let (p, k) = (part.features(), part.targets());
    let weighted = part.selected.weights().is_some();
    // Each unit's sums are kept apart and merged in unit order (as soon as the units before
    // it are in): the result does not depend on which thread read which unit, so a run is
    // reproducible to the last bit, and few units wait at any time.
    let starts: Vec<u64> = part
        .source
        .units_of(options.unit_rows)
        .iter()
        .map(|u| u.first_row)
        .collect();
    let merger = std::sync::Mutex::new(Ordered::new(starts, p, k));
    let init = || (None::<(u64, Sums)>, Vec::<Vec<T>>::new());
    let states = part.source.scan::<T, _, StreamError>(
        part.selected,
        options,
        init,
        |(current, scratch), chunk| {
            let unit = chunk.unit_first_row();
            if current.as_ref().is_some_and(|c| c.0 != unit) {
                let (u, sums) = current.take().expect("checked");
                merger
                    .lock()
                    .expect("no panics while merging")
                    .add(u, sums)?;
            }
            let (_, sums) = current.get_or_insert_with(|| (unit, Sums::new(p, k)));
            add_chunk(part, chunk, sums, scratch, weighted)
        },
    )?;
    let mut merger = merger.into_inner().expect("no panics while merging");
    for (u, sums) in states.into_iter().filter_map(|(c, _)| c) {
        merger.add(u, sums)?;
    }
    let mut out = merger.finish(part.folds)?;
    if !weighted {
        out.train.weighted = out.train.plain.clone();
        out.test.weighted = out.test.plain.clone();
        for (_, f) in &mut out.folds {
            f.weighted = f.plain.clone();
        }
    }
    Ok(out)
}

/// One unit's sums: its training and test rows, and its training rows per fold.
struct Sums {
    train: SetMoments,
    test: SetMoments,
    folds: FoldSets,
}

impl Sums {
    fn new(p: usize, k: usize) -> Self {
        Self {
            train: SetMoments::new(p, k),
            test: SetMoments::new(p, k),
            folds: FoldSets::new(),
        }
    }
}

/// Adds a chunk's rows to the unit's sums: training rows to their fold when there are folds.
fn add_chunk<T: Element + linreg_solve::Element>(
    part: &Part<'_>,
    chunk: &Chunk<'_, T>,
    sums: &mut Sums,
    scratch: &mut Vec<Vec<T>>,
    weighted: bool,
) -> Result<(), StreamError> {
    let d = part.features() + part.targets();
    if let Some(rule) = part.folds {
        check_weights(part, chunk, weighted)?;
        let sets = (&mut sums.folds, &mut *scratch);
        folds::push_folds(part, chunk, rule, sets, |set, cols| {
            push(part, chunk, set, cols, chunk.first_row(), weighted, d)
        })?;
    }
    for (which, set) in [(Rows::Train, &mut sums.train), (Rows::Test, &mut sums.test)] {
        let skip = match which {
            Rows::Train => part.folds.is_some(),
            Rows::Test => !part.split.has_test_rows(),
        };
        if skip {
            continue;
        }
        part.rows_of(chunk, which, scratch, |cols, first| {
            push(part, chunk, set, cols, first, weighted, d)
        })
        .transpose()?;
    }
    Ok(())
}

/// Per-unit moments merged in unit order.
struct Ordered {
    /// First rows of the units, in order.
    starts: Vec<u64>,
    /// Index into `starts` of the next unit to merge.
    next: usize,
    done: Sums,
    waiting: std::collections::BTreeMap<u64, Sums>,
}

impl Ordered {
    fn new(starts: Vec<u64>, p: usize, k: usize) -> Self {
        Self {
            starts,
            next: 0,
            done: Sums::new(p, k),
            waiting: Default::default(),
        }
    }

    fn add(&mut self, unit: u64, sums: Sums) -> Result<(), StreamError> {
        self.waiting.insert(unit, sums);
        while let Some(start) = self.starts.get(self.next) {
            let Some(sums) = self.waiting.remove(start) else {
                break;
            };
            self.merge(sums)?;
            self.next += 1;
        }
        Ok(())
    }

    fn merge(&mut self, sums: Sums) -> Result<(), StreamError> {
        self.done.train.merge(&sums.train)?;
        self.done.test.merge(&sums.test)?;
        folds::merge(&mut self.done.folds, sums.folds)
    }

    /// The merged moments; units still waiting (CSV, whose one unit starts at 0 but is not
    /// listed; or units after one that held no rows) follow in order. With folds, the
    /// training moments are the folds' merged in label order.
    fn finish(mut self, rule: Option<FoldRule>) -> Result<MomentsPass, StreamError> {
        for (_, sums) in std::mem::take(&mut self.waiting) {
            self.merge(sums)?;
        }
        let Sums {
            mut train,
            test,
            folds,
        } = self.done;
        let (p, k) = (train.plain.features(), train.plain.targets());
        let folds = match rule {
            Some(rule) => folds::finish(rule, folds, (p, k)),
            None => Vec::new(),
        };
        for (_, f) in &folds {
            train.merge(f)?;
        }
        Ok(MomentsPass { train, test, folds })
    }
}

/// Refuses a training row of `chunk` whose weight is not positive and finite, naming it (the
/// rows are checked here, before they are sorted by fold, so that the row is the table's).
fn check_weights<T: Element>(
    part: &Part<'_>,
    chunk: &Chunk<'_, T>,
    weighted: bool,
) -> Result<(), StreamError> {
    let Some(w) = chunk.weights().filter(|_| weighted) else {
        return Ok(());
    };
    let first = chunk.first_row();
    let bad = (0..chunk.rows()).find(|&r| {
        let v = linreg_data::Real::to_f64(w[r]);
        part.split.trains(first + r as u64) && !(v.is_finite() && v > 0.0)
    });
    match bad {
        Some(r) => Err(StreamError::bad_weight(
            part,
            first + r as u64,
            linreg_data::Real::to_f64(w[r]),
        )),
        None => Ok(()),
    }
}

/// Adds some rows to a set: the plain moments, and the weighted ones with a weight column.
fn push<T: Element + linreg_solve::Element>(
    part: &Part<'_>,
    chunk: &Chunk<'_, T>,
    set: &mut SetMoments,
    cols: &[&[T]],
    first: u64,
    weighted: bool,
    d: usize,
) -> Result<(), StreamError> {
    let located = |e| StreamError::located(chunk, e);
    set.plain.push_columns(&cols[..d], None).map_err(located)?;
    if weighted {
        let w: Vec<f64> = cols[d]
            .iter()
            .map(|&v| linreg_data::Real::to_f64(v))
            .collect();
        if let Some(i) = w.iter().position(|&v| !(v.is_finite() && v > 0.0)) {
            return Err(StreamError::bad_weight(part, first + i as u64, w[i]));
        }
        set.weighted
            .push_columns(&cols[..d], Some(&w))
            .map_err(located)?;
    }
    Ok(())
}

/// The standardization statistics of the features (population standard deviation, as
/// [`Standardizer::fit`] computes them on the rows), from plain moments.
pub fn standardizer(plain: &Moments, names: &[String]) -> Result<Standardizer, DataError> {
    let n = plain.weight_sum().max(1.0);
    let mut mean = Vec::with_capacity(plain.features());
    let mut scale = Vec::with_capacity(plain.features());
    for j in 0..plain.features() {
        let m = plain.mean()[j];
        let sd = (plain.comoment(j, j).max(0.0) / n).sqrt();
        // As `Standardizer::fit`: a spread this small next to the values is rounding noise.
        if sd == 0.0 || sd <= 1e-7 * m.abs() {
            return Err(DataError::ConstantFeature {
                column: names
                    .get(j)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", j + 1)),
                value: m,
            });
        }
        mean.push(m);
        scale.push(sd);
    }
    Ok(Standardizer { mean, scale })
}

/// The moments of the same rows with the features standardized by `s`:
/// `z̄ → (z̄ − μ)/σ`, `C → D⁻¹ C D⁻¹` (targets unchanged).
pub fn standardize(m: &Moments, s: &Standardizer) -> Result<Moments, SolveError> {
    let (p, k) = (m.features(), m.targets());
    let scale = |j: usize| if j < p { s.scale[j] } else { 1.0 };
    let mut state = m.to_state();
    for j in 0..p {
        state[3 + j] = (state[3 + j] - s.mean[j]) / s.scale[j];
    }
    let mut at = 3 + p + k;
    for i in 0..p + k {
        for j in 0..=i {
            state[at] /= scale(i) * scale(j);
            at += 1;
        }
    }
    Moments::from_state(p, k, &state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use linreg_data::Matrix;
    use linreg_solve::View;

    #[test]
    fn standardizer_and_standardized_moments_match_the_rows() {
        let x: Vec<f64> = (0..200)
            .flat_map(|i| [i as f64 * 0.5 + 3.0, ((i * 7) % 11) as f64])
            .collect();
        let y: Vec<f64> = (0..200).map(|i| (i % 5) as f64).collect();
        let m = Moments::from_rows(
            View::new(200, 2, &x).unwrap(),
            View::new(200, 1, &y).unwrap(),
            None,
        )
        .unwrap();
        let names = ["a".to_string(), "b".to_string()];
        let mx = Matrix::new(200, 2, x.clone()).unwrap();
        let want = Standardizer::fit(&mx, &names).unwrap();
        let got = standardizer(&m, &names).unwrap();
        for j in 0..2 {
            assert!((got.mean[j] - want.mean[j]).abs() < 1e-12);
            assert!((got.scale[j] - want.scale[j]).abs() < 1e-12 * want.scale[j]);
        }
        let mut sx = mx.clone();
        want.apply(&mut sx);
        let direct = Moments::from_rows(
            View::new(200, 2, sx.values()).unwrap(),
            View::new(200, 1, &y).unwrap(),
            None,
        )
        .unwrap();
        let st = standardize(&m, &got).unwrap();
        for i in 0..3 {
            assert!((st.mean()[i] - direct.mean()[i]).abs() < 1e-12);
            for j in 0..3 {
                assert!((st.comoment(i, j) - direct.comoment(i, j)).abs() < 1e-10);
            }
        }
        let constant = Moments::from_rows(
            View::new(3, 1, &[2.0_f64, 2.0, 2.0]).unwrap(),
            View::new(3, 1, &[1.0_f64, 2.0, 3.0]).unwrap(),
            None,
        )
        .unwrap();
        assert!(matches!(
            standardizer(&constant, &["c".into()]),
            Err(DataError::ConstantFeature { .. })
        ));
    }
}
