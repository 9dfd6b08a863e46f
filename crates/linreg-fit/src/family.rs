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
        // (Elastic-net fits name their solver in `penalized`.)
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
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Penalty {
    /// Nothing.
    #[default]
    None,
    /// Ridge as `--l2` has always meant it: `λ‖w‖²` added to the mean squared error (the
    /// bias is not penalized), solved in closed form.
    Ridge(f64),
    /// The elastic net (lasso and ridge its ends), by coordinate descent from moments.
    ElasticNet(ElasticNet),
}

impl Penalty {
    /// The closed-form ridge strength λ (0 otherwise).
    pub fn l2(&self) -> f64 {
        match self {
            Self::Ridge(l2) => *l2,
            _ => 0.0,
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

    /// The elastic net, if that is the penalty.
    pub fn elastic_net(&self) -> Option<&ElasticNet> {
        match self {
            Self::ElasticNet(net) => Some(net),
            _ => None,
        }
    }
}

/// Least squares with the elastic-net penalty, scikit-learn's `ElasticNet` and glmnet's
/// objective: `(1/2W) Σ w·(y − x·β − β₀)² + α·(R‖β‖₁ + (1−R)/2·‖β‖²)`, the intercept not
/// penalized; on standardized coefficients when the features are standardized.
#[derive(Debug, Clone, PartialEq)]
pub struct ElasticNet {
    /// `R`: 1 is the lasso, 0 ridge.
    pub l1_ratio: f64,
    /// The α values: one, a list, or a grid from the data's `α_max`.
    pub alphas: Alphas,
    /// Which point of the path the saved model is.
    pub choice: AlphaChoice,
    /// Coordinate descent stops when the duality gap is below `tol` times the targets'
    /// mean square.
    pub tol: f64,
}

impl ElasticNet {
    /// The default `tol`: linreg-path's.
    pub const DEFAULT_TOL: f64 = linreg_path::DEFAULT_TOL;

    /// `lasso`, `ridge` or `elasticnet`.
    pub fn kind(&self) -> &'static str {
        if self.l1_ratio == 1.0 {
            "lasso"
        } else if self.l1_ratio == 0.0 {
            "ridge"
        } else {
            "elasticnet"
        }
    }

    /// The column holding given folds, if any.
    pub fn cv_column(&self) -> Option<&str> {
        match &self.choice {
            AlphaChoice::CrossValidation(CvSpec {
                folds: Folds::Column(c),
                ..
            }) => Some(c),
            _ => None,
        }
    }
}

pub use linreg_path::Alphas;

/// Which α of the path the saved model uses.
#[derive(Debug, Clone, PartialEq)]
pub enum AlphaChoice {
    /// The one α given (or the smallest of a path: the least penalized).
    Smallest,
    /// The one K-fold cross-validation picks.
    CrossValidation(CvSpec),
}

/// K-fold cross-validation of a path.
#[derive(Debug, Clone, PartialEq)]
pub struct CvSpec {
    /// How rows get their fold.
    pub folds: Folds,
    /// Which α the saved model takes.
    pub rule: CvRule,
}

/// How rows get their fold.
#[derive(Debug, Clone, PartialEq)]
pub enum Folds {
    /// `K` balanced folds: each block of `K` consecutive rows is dealt one row per fold in a
    /// seeded random order (by the fit's seed), the same rows in memory and streamed (with the
    /// ordered split or a test table; the query engines, which keep no row order, refuse it).
    Seeded(usize),
    /// The folds a column gives: one per distinct value.
    Column(String),
}

/// Which α cross-validation picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CvRule {
    /// The least mean held-out error.
    Min,
    /// The largest α within one standard error of the least (glmnet's `lambda.1se`).
    OneSe,
}

impl CvRule {
    /// `min` or `1se`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Min => "min",
            Self::OneSe => "1se",
        }
    }
}
