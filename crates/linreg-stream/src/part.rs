//! [`Part`]: a source, its selected columns, and which of its rows train and which test.

use linreg_data::rng::SplitMix64;
use linreg_io::{Chunk, Element, Selected, Source};

/// Which rows of a table train (the rest test).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowSplit {
    /// Every row trains (the test rows come from another table, or there are none).
    All,
    /// The first `train_rows` rows train, the rest test: the tutorial's ordered split,
    /// `train_rows = int(fraction · rows)`.
    Ordered {
        /// Rows that train.
        train_rows: u64,
    },
    /// Each row trains with probability `fraction`, decided by a seeded hash of its index:
    /// a random split that needs neither the row count nor a pass, the same on every read.
    Hashed {
        /// Share of the rows that train.
        fraction: f64,
        /// Seed of the hash.
        seed: u64,
    },
}

impl RowSplit {
    /// Whether row `i` (0-based, in file order) trains.
    pub fn trains(&self, i: u64) -> bool {
        match *self {
            Self::All => true,
            Self::Ordered { train_rows } => i < train_rows,
            Self::Hashed { fraction, seed } => {
                let mut h = SplitMix64::new(seed ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93));
                h.next_f64() < fraction
            }
        }
    }

    /// Whether the split leaves rows for testing.
    pub fn has_test_rows(&self) -> bool {
        !matches!(self, Self::All)
    }
}

/// A table to fit on: the source, its selected columns, and the split of its rows.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    /// The files.
    pub source: &'a Source,
    /// Features, targets and the optional weight column.
    pub selected: &'a Selected,
    /// Which rows train.
    pub split: RowSplit,
    /// Cross-validation: how the training rows get their fold (a moments pass then sums
    /// each fold apart).
    pub folds: Option<crate::FoldRule>,
}

/// Which rows of a [`Part`] a pass wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// The training rows.
    Train,
    /// The test rows.
    Test,
}

impl<'a> Part<'a> {
    /// A part of `source`.
    pub fn new(source: &'a Source, selected: &'a Selected, split: RowSplit) -> Self {
        Self {
            source,
            selected,
            split,
            folds: None,
        }
    }

    /// The same part, its training rows given folds by `rule`.
    pub fn with_folds(mut self, rule: Option<crate::FoldRule>) -> Self {
        self.folds = rule;
        self
    }

    /// Feature columns.
    pub fn features(&self) -> usize {
        self.selected.features().len()
    }

    /// Target columns.
    pub fn targets(&self) -> usize {
        self.selected.targets().len()
    }

    /// Indices of the Parquet units (of [`Source::units_of`] with `unit_rows`) that hold
    /// rows of `which`.
    pub fn units(&self, which: Rows, unit_rows: u64) -> Vec<usize> {
        let units = self.source.units_of(unit_rows);
        (0..units.len())
            .filter(|&i| {
                let u = units[i];
                match (self.split, which) {
                    (RowSplit::All, Rows::Train) => true,
                    (RowSplit::All, Rows::Test) => false,
                    (RowSplit::Ordered { train_rows }, Rows::Train) => u.first_row < train_rows,
                    (RowSplit::Ordered { train_rows }, Rows::Test) => {
                        u.first_row + u.rows > train_rows
                    }
                    (RowSplit::Hashed { .. }, _) => true,
                }
            })
            .collect()
    }

    /// Calls `f` with the rows of `chunk` that belong to `which` (columns in chunk order):
    /// borrowed sub-slices when they are contiguous, gathered into `scratch` otherwise.
    /// Nothing is called when none belong.
    pub fn rows_of<T: Element, R>(
        &self,
        chunk: &Chunk<'_, T>,
        which: Rows,
        scratch: &mut Vec<Vec<T>>,
        f: impl FnOnce(&[&[T]], u64) -> R,
    ) -> Option<R> {
        let (first, n) = (chunk.first_row(), chunk.rows() as u64);
        let contiguous = |a: u64, b: u64| -> Option<(usize, usize)> {
            (a < b).then(|| ((a - first) as usize, (b - first) as usize))
        };
        let range = match (self.split, which) {
            (RowSplit::All, Rows::Train) => contiguous(first, first + n),
            (RowSplit::All, Rows::Test) => None,
            (RowSplit::Ordered { train_rows }, Rows::Train) => {
                contiguous(first, (first + n).min(train_rows))
            }
            (RowSplit::Ordered { train_rows }, Rows::Test) => {
                contiguous(first.max(train_rows), first + n)
            }
            (RowSplit::Hashed { .. }, _) => {
                let want = which == Rows::Train;
                let keep: Vec<usize> = (0..chunk.rows())
                    .filter(|&r| self.split.trains(first + r as u64) == want)
                    .collect();
                if keep.is_empty() {
                    return None;
                }
                scratch.resize_with(chunk.columns().len(), Vec::new);
                for (out, col) in scratch.iter_mut().zip(chunk.columns()) {
                    out.clear();
                    out.extend(keep.iter().map(|&r| col[r]));
                }
                let cols: Vec<&[T]> = scratch.iter().map(|c| &c[..]).collect();
                return Some(f(&cols, first + keep[0] as u64));
            }
        };
        let (a, b) = range?;
        let cols: Vec<&[T]> = chunk.columns().iter().map(|c| &c[a..b]).collect();
        Some(f(&cols, first + a as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_split_keeps_about_the_fraction_and_is_reproducible() {
        let s = RowSplit::Hashed {
            fraction: 0.8,
            seed: 3,
        };
        let n = (0..100_000).filter(|&i| s.trains(i)).count();
        assert!((79_000..81_000).contains(&n), "{n}");
        assert_eq!(
            (0..1000).map(|i| s.trains(i)).collect::<Vec<_>>(),
            (0..1000).map(|i| s.trains(i)).collect::<Vec<_>>()
        );
        let other = RowSplit::Hashed {
            fraction: 0.8,
            seed: 4,
        };
        assert_ne!(
            (0..1000).map(|i| s.trains(i)).collect::<Vec<_>>(),
            (0..1000).map(|i| other.trains(i)).collect::<Vec<_>>()
        );
    }
}
