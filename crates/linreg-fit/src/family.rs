//! The seam where model families plug in. A [`Family`] says what the model predicts and
//! what it is fitted by; a [`Penalty`] what the coefficients pay. A new family is a new
//! variant here and the arms its methods need, not a branch in the binary.

use linreg_solve::Method;
use linreg_train::LossKind;

/// The model family: what the model predicts and the loss it is fitted with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Family {
    /// Linear regression: a real-valued prediction per target, fitted by a loss (MSE: least
    /// squares, the Gaussian likelihood; L1: least absolute deviations; Huber).
    Regression(LossKind),
}

impl Default for Family {
    /// Least squares.
    fn default() -> Self {
        Self::Regression(LossKind::Mse)
    }
}

impl Family {
    /// The loss gradient descent minimizes.
    pub fn loss(self) -> LossKind {
        match self {
            Self::Regression(loss) => loss,
        }
    }

    /// Whether the fit is least squares, whose exact solution and statistics come from
    /// moments (in memory, streamed or from a query engine).
    pub fn is_least_squares(self) -> bool {
        self.loss() == LossKind::Mse
    }

    /// The exact solver's name in words, for a least-squares solve by `method` (`ridge`: with
    /// an L2 penalty); for the other losses, their iterative solver.
    pub fn exact_method(self, method: Method, ridge: bool) -> &'static str {
        match (self.loss(), method, ridge) {
            (LossKind::L1, ..) => "least absolute deviations (IRLS, then the exact LP vertex)",
            (LossKind::Huber { .. }, ..) => "Huber (IRLS)",
            (LossKind::Mse, Method::Qr, false) => {
                "least squares (Householder QR in double-double arithmetic)"
            }
            (LossKind::Mse, Method::Qr, true) => {
                "ridge (Householder QR in double-double arithmetic)"
            }
            (LossKind::Mse, _, false) => "least squares (one-pass moments, Cholesky)",
            (LossKind::Mse, _, true) => "ridge (one-pass moments, Cholesky)",
        }
    }
}

/// What the coefficients pay.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Penalty {
    /// Nothing.
    #[default]
    None,
    /// Ridge: `λ‖w‖²` added to the mean squared error (the bias is not penalized).
    Ridge(f64),
}

impl Penalty {
    /// The ridge strength λ (0 without a penalty).
    pub fn l2(self) -> f64 {
        match self {
            Self::None => 0.0,
            Self::Ridge(l2) => l2,
        }
    }

    /// The penalty `l2` asks for: none at 0.
    pub fn ridge(l2: f64) -> Self {
        if l2 == 0.0 {
            Self::None
        } else {
            Self::Ridge(l2)
        }
    }
}
