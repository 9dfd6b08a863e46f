//! Cross-validation folds in one pass: each training row's moments go to its fold's, so a
//! whole K-fold cross-validation needs the table read once.

use std::collections::BTreeMap;

use linreg_io::{Chunk, Element};

use crate::set::SetMoments;
use crate::{Part, StreamError};

/// Most folds a pass keeps apart: more distinct labels is a column chosen by mistake (an
/// id), not folds.
pub const MAX_FOLDS: usize = 1000;

/// How the training rows of a pass get their fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldRule {
    /// `folds` folds by a seeded hash of each row's index in the table
    /// ([`linreg_path::fold_of`]): the same rows as in memory.
    Seeded {
        /// The hash's seed.
        seed: u64,
        /// How many folds.
        folds: usize,
    },
    /// One fold per distinct value of the selected fold column, in increasing order.
    Column,
}

/// Per-fold moments, keyed so that the map's order is the labels' numeric order.
pub(crate) type FoldSets = BTreeMap<u64, (f64, SetMoments)>;

/// A key whose unsigned order is `v`'s numeric order (−0 is 0).
fn key(v: f64) -> u64 {
    let bits = (v + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The fold of row `r` of `chunk` (its label and key), or an error for a bad label.
fn fold_of<T: Element>(
    rule: FoldRule,
    chunk: &Chunk<'_, T>,
    r: usize,
) -> Result<(u64, f64), StreamError> {
    match rule {
        FoldRule::Seeded { seed, folds } => {
            let f = linreg_path::fold_of(seed, chunk.first_row() + r as u64, folds);
            Ok((f as u64, f as f64))
        }
        FoldRule::Column => {
            let v = chunk.folds().map_or(f64::NAN, |c| c[r].to_f64());
            if !v.is_finite() {
                return Err(StreamError::Invalid(format!(
                    "the fold column has no finite label in row {}; every training row needs one",
                    chunk.first_row() + r as u64
                )));
            }
            Ok((key(v), v))
        }
    }
}

/// Adds the training rows of `chunk` to their folds' moments with `push` (which takes the
/// gathered columns and the first row's index).
pub(crate) fn push_folds<T: Element>(
    part: &Part<'_>,
    chunk: &Chunk<'_, T>,
    rule: FoldRule,
    sets: &mut FoldSets,
    scratch: &mut Vec<Vec<T>>,
    mut push: impl FnMut(&mut SetMoments, &[&[T]], u64) -> Result<(), StreamError>,
) -> Result<(), StreamError> {
    let mut groups: BTreeMap<u64, (f64, Vec<usize>)> = BTreeMap::new();
    for r in 0..chunk.rows() {
        if part.split.trains(chunk.first_row() + r as u64) {
            let (k, label) = fold_of(rule, chunk, r)?;
            groups
                .entry(k)
                .or_insert_with(|| (label, Vec::new()))
                .1
                .push(r);
        }
    }
    let (p, k) = (part.features(), part.targets());
    for (fold, (label, rows)) in groups {
        scratch.resize_with(chunk.columns().len(), Vec::new);
        for (out, col) in scratch.iter_mut().zip(chunk.columns()) {
            out.clear();
            out.extend(rows.iter().map(|&r| col[r]));
        }
        let cols: Vec<&[T]> = scratch.iter().map(|c| &c[..]).collect();
        let set = &mut sets
            .entry(fold)
            .or_insert_with(|| (label, SetMoments::new(p, k)))
            .1;
        push(set, &cols, chunk.first_row() + rows[0] as u64)?;
    }
    check_count(sets.len())
}

/// Refuses more folds than [`MAX_FOLDS`].
fn check_count(n: usize) -> Result<(), StreamError> {
    if n > MAX_FOLDS {
        return Err(StreamError::Invalid(format!(
            "the fold column holds more than {MAX_FOLDS} distinct values; name a column with one \
             label per fold (5 or 10 folds are usual)"
        )));
    }
    Ok(())
}

/// Merges `other`'s folds into `sets`.
pub(crate) fn merge(sets: &mut FoldSets, other: FoldSets) -> Result<(), StreamError> {
    for (k, (label, set)) in other {
        match sets.get_mut(&k) {
            Some((_, mine)) => mine.merge(&set)?,
            None => {
                sets.insert(k, (label, set));
            }
        }
    }
    check_count(sets.len())
}

/// The folds in label order, every seeded fold present (an empty one is an error later,
/// where it is named).
pub(crate) fn finish(
    rule: FoldRule,
    mut sets: FoldSets,
    (p, k): (usize, usize),
) -> Vec<(f64, SetMoments)> {
    if let FoldRule::Seeded { folds, .. } = rule {
        for f in 0..folds {
            sets.entry(f as u64)
                .or_insert_with(|| (f as f64, SetMoments::new(p, k)));
        }
    }
    sets.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_as_the_numbers() {
        let mut v = [3.5, -2.0, 0.0, -0.0, 1e300, -1e-300, 7.0];
        let mut by_key = v;
        by_key.sort_by_key(|&x| key(x));
        v.sort_by(f64::total_cmp);
        // −0 and 0 share a key; total_cmp puts −0 first.
        assert_eq!(by_key.map(|x| x + 0.0), v.map(|x| x + 0.0));
        assert_eq!(key(-0.0), key(0.0));
    }
}
