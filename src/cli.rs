//! Command-line arguments. Every default is the tutorial's value.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// The parameters PyTorch's `nn.Linear(1, 1)` drew after `torch.manual_seed(42)`.
pub const PYTORCH_SEED42_WEIGHT: f32 = 0.764_538_5;
/// See [`PYTORCH_SEED42_WEIGHT`].
pub const PYTORCH_SEED42_BIAS: f32 = 0.830_007_9;

/// Train a linear model with Burn, as the PyTorch "Linear Models" tutorial does.
///
/// With no arguments: builds y = 0.8·x + 0.2 for x = 0, 0.02, …, 0.98, splits it 80/20, trains
/// `Linear(1, 1)` with L1 loss and SGD (lr 0.01) for 500 epochs, prints the losses every 50
/// epochs, then writes plots, the model and a summary to `artifacts/`.
///
/// The run starts from the parameters PyTorch drew for the tutorial with torch.manual_seed(42)
/// (w = 0.7645385, b = 0.8300079), so its numbers match PyTorch's line for line. `--seed N`
/// draws fresh parameters from Burn's own generator instead (reproducible per backend).
#[derive(Debug, Parser)]
#[command(name = "linreg", version, about, long_about)]
pub struct Args {
    /// Number of full-batch training epochs.
    #[arg(long, default_value_t = 500)]
    pub epochs: usize,

    /// SGD learning rate.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub lr: f64,

    /// Print and record the losses every N epochs (epoch 0 included).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub log_every: usize,

    /// Draw the initial parameters from Burn's generator with this seed, instead of starting
    /// from PyTorch's seed-42 draw.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// True slope of the generated line.
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    pub weight: f32,

    /// True intercept of the generated line.
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    pub bias: f32,

    /// Spacing of the x values in [0, 1).
    #[arg(long, default_value_t = 0.02, allow_negative_numbers = true)]
    pub step: f64,

    /// Share of the rows (taken in order) used for training; the rest test.
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    pub train_fraction: f64,

    /// Start from this weight (overrides the PyTorch or seeded draw), to compare step for step
    /// with another framework.
    #[arg(long, value_name = "W", allow_negative_numbers = true)]
    pub init_weight: Option<f32>,

    /// Start from this bias (overrides the PyTorch or seeded draw).
    #[arg(long, value_name = "B", allow_negative_numbers = true)]
    pub init_bias: Option<f32>,

    /// Directory for the model, summary and plots (created if missing).
    #[arg(long, value_name = "DIR", default_value = "artifacts")]
    pub out: PathBuf,

    /// Where to train. Default: wgpu when this build has it, else ndarray.
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
}

/// A Burn backend this binary may have been built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// CPU, through burn-ndarray (cargo feature `ndarray`).
    Ndarray,
    /// GPU, through burn-wgpu: Vulkan, Metal, DirectX or OpenGL (cargo feature `wgpu`).
    Wgpu,
}

impl BackendChoice {
    /// The backend used when `--backend` is not given.
    pub fn default_for_build() -> Self {
        if cfg!(feature = "wgpu") {
            Self::Wgpu
        } else {
            Self::Ndarray
        }
    }

    /// The name as the CLI and `summary.json` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ndarray => "ndarray",
            Self::Wgpu => "wgpu",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_are_the_tutorial() {
        let a = Args::try_parse_from(["linreg"]).unwrap();
        assert_eq!((a.epochs, a.lr, a.log_every), (500, 0.01, 50));
        assert_eq!(
            (a.weight, a.bias, a.step, a.train_fraction),
            (0.8, 0.2, 0.02, 0.8)
        );
        assert_eq!(a.seed, None);
        assert_eq!(a.out, PathBuf::from("artifacts"));
        let a = Args::try_parse_from(["linreg", "--init-weight", "-0.5"]).unwrap();
        assert_eq!(a.init_weight, Some(-0.5));
    }

    #[test]
    fn pytorch_constants_are_the_reference_values() {
        assert_eq!(f64::from(PYTORCH_SEED42_WEIGHT), 0.764_538_526_535_034_2);
        assert_eq!(f64::from(PYTORCH_SEED42_BIAS), 0.830_007_910_728_454_6);
    }
}
