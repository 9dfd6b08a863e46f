//! [`SetMoments`]: the moments of one set of rows, with and without the row weights.

use linreg_solve::{Moments, SolveError};

/// The moments of one set of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct SetMoments {
    /// With the row weights (the same as `plain` without `--weights`): what weighted least
    /// squares solves.
    pub weighted: Moments,
    /// Without weights: what the standardization statistics and the metrics use.
    pub plain: Moments,
}

impl SetMoments {
    pub(crate) fn new(p: usize, k: usize) -> Self {
        Self {
            weighted: Moments::new(p, k),
            plain: Moments::new(p, k),
        }
    }

    pub(crate) fn merge(&mut self, other: &SetMoments) -> Result<(), SolveError> {
        self.weighted.merge(&other.weighted)?;
        self.plain.merge(&other.plain)
    }
}
