//! Cross-validation folds in one pass: each training row's moments go to its fold's, so a
//! whole K-fold cross-validation needs the table read once.

use std::collections::BTreeMap;

use linreg_io::{Chunk, Element};

use crate::set::SetMoments;
use crate::{Part, StreamError};

/// Most folds a pass keeps apart (linreg-path's limit).
pub use linreg_path::MAX_FOLDS;

/// How the training rows of a pass get their fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldRule {
    /// `folds` balanced folds by each row's index in the table: every block of `folds` rows
    /// dealt one per fold in a seeded order
    /// ([`linreg_path::fold_of`]): the same rows as in memory.
    Seeded {
        /// The deal's seed.
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

/// Not a training row: no fold.
const NONE: u32 = u32::MAX;

/// A chunk's rows dealt to folds: each row's slot (or [`NONE`]) and each slot's key and label.
struct Dealt {
    slots: Vec<u32>,
    folds: Vec<(u64, f64)>,
}

/// The chunk's training rows dealt to their folds (seeded: a block of `folds` rows at a time;
/// a column: by its label), or an error for a row without a label.
fn deal<T: Element>(
    part: &Part<'_>,
    chunk: &Chunk<'_, T>,
    rule: FoldRule,
) -> Result<Dealt, StreamError> {
    let first = chunk.first_row();
    let mut slots = vec![NONE; chunk.rows()];
    let trains = |r: usize| part.split.trains(first + r as u64);
    match rule {
        FoldRule::Seeded { seed, folds } => {
            // Rows are dealt a block of `folds` at a time: step through the blocks rather
            // than divide every row's index.
            let k = folds as u64;
            let (mut block, mut at) = (first / k, (first % k) as usize);
            let mut perm = Vec::with_capacity(folds);
            linreg_path::fold_block(seed, block, folds, &mut perm);
            for (r, slot) in slots.iter_mut().enumerate() {
                if trains(r) {
                    *slot = perm[at] as u32;
                }
                at += 1;
                if at == folds {
                    (block, at) = (block + 1, 0);
                    linreg_path::fold_block(seed, block, folds, &mut perm);
                }
            }
            let folds = (0..folds).map(|f| (f as u64, f as f64)).collect();
            Ok(Dealt { slots, folds })
        }
        FoldRule::Column => {
            let labels = chunk.folds();
            let mut slot: BTreeMap<u64, u32> = BTreeMap::new();
            let mut folds = Vec::new();
            for r in (0..chunk.rows()).filter(|&r| trains(r)) {
                let v = labels.map_or(f64::NAN, |c| c[r].to_f64());
                if !v.is_finite() {
                    return Err(StreamError::Invalid(format!(
                        "the fold column has no finite label in row {}; every training row needs one",
                        first + r as u64
                    )));
                }
                slots[r] = *slot.entry(key(v)).or_insert_with(|| {
                    folds.push((key(v), v));
                    folds.len() as u32 - 1
                });
                check_count(folds.len())?;
            }
            Ok(Dealt { slots, folds })
        }
    }
}

/// Adds the training rows of `chunk` to their folds' moments with `push` (a set, and the
/// fold's rows as columns). The rows are first sorted by fold into `scratch`, each column read
/// once in order and written to one run per fold, so that every fold's rows are contiguous and
/// summed as fast as a whole chunk's.
pub(crate) fn push_folds<T: Element>(
    part: &Part<'_>,
    chunk: &Chunk<'_, T>,
    rule: FoldRule,
    (sets, scratch): (&mut FoldSets, &mut Vec<Vec<T>>),
    mut push: impl FnMut(&mut SetMoments, &[&[T]]) -> Result<(), StreamError>,
) -> Result<(), StreamError> {
    let Dealt { slots, folds } = deal(part, chunk, rule)?;
    // Where each fold's run starts, and each row's place in the sorted columns.
    let mut start = vec![0u32; folds.len() + 1];
    for &s in slots.iter().filter(|&&s| s != NONE) {
        start[s as usize + 1] += 1;
    }
    for f in 0..folds.len() {
        start[f + 1] += start[f];
    }
    let mut next = start.clone();
    let place: Vec<u32> = slots
        .iter()
        .map(|&s| match s {
            NONE => NONE,
            s => {
                next[s as usize] += 1;
                next[s as usize] - 1
            }
        })
        .collect();
    let total = start[folds.len()] as usize;
    scratch.resize_with(chunk.columns().len(), Vec::new);
    for (out, col) in scratch.iter_mut().zip(chunk.columns()) {
        // Every place below `total` is written: what the last chunk left needs no clearing.
        let Some(&fill) = col.first() else { continue };
        out.resize(total.max(out.len()), fill);
        out.truncate(total);
        for (&at, &v) in place.iter().zip(col.iter()) {
            if at != NONE {
                out[at as usize] = v;
            }
        }
    }
    let (p, k) = (part.features(), part.targets());
    for (f, (key, label)) in folds.into_iter().enumerate() {
        let (a, b) = (start[f] as usize, start[f + 1] as usize);
        if a == b {
            continue;
        }
        let cols: Vec<&[T]> = scratch.iter().map(|c| &c[a..b]).collect();
        let set = &mut sets
            .entry(key)
            .or_insert_with(|| (label, SetMoments::new(p, k)))
            .1;
        push(set, &cols)?;
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
