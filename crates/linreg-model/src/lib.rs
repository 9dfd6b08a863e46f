//! `LrModel`: linear regression as a Burn module, generic over any `B: Backend`.
//!
//! The model is one [`Linear`] layer, `y = x·Wᵀ + b`, with `d_input` features and `d_output`
//! targets (the tutorial's is 1 → 1; a multi-output regression is one `Linear(n → m)`). It is what
//! the `linreg` tool trains and saves, and it is small on purpose so that other Burn projects can
//! depend on it: build it from [`LrModelConfig`], train it with any Burn optimizer, save it with
//! any Burn recorder, and read or set its parameters in PyTorch's `[out][in]` orientation with
//! [`LrModel::params`] and [`LrModel::with_params`].
//!
//! This crate depends on Burn alone: no CLI, plotting or file formats.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::Tensor;
//! use linreg_model::{LinearParams, LrModelConfig};
//!
//! let device = Default::default();
//! // PyTorch's orientation: one row of weights per output.
//! let params = LinearParams { weight: vec![vec![0.8]], bias: vec![0.2] };
//! let model = LrModelConfig::new().init::<NdArray>(&device).with_params(&params)?;
//!
//! let x = Tensor::<NdArray, 2>::from_floats([[0.0], [1.0]], &device);
//! let y: Vec<f32> = model.forward(x).into_data().to_vec().unwrap();
//! assert_eq!(y, vec![0.2, 1.0]);
//! assert_eq!(model.params(), params);
//! # Ok::<(), linreg_model::ModelError>(())
//! ```
//!
//! Burn's [`Linear`] stores its weight as `[in, out]`; PyTorch's `nn.Linear` as `[out, in]`.
//! [`LinearParams`] always uses PyTorch's, so numbers can be compared with a PyTorch
//! `state_dict` as they are.

use std::fmt;

use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Element;

/// Builds an [`LrModel`]. Saved beside a model so it can be loaded without knowing its shape.
#[derive(Config, Debug)]
pub struct LrModelConfig {
    /// Number of input features.
    #[config(default = 1)]
    pub d_input: usize,
    /// Number of outputs (targets).
    #[config(default = 1)]
    pub d_output: usize,
    /// Whether the model learns an intercept.
    #[config(default = true)]
    pub bias: bool,
}

impl LrModelConfig {
    /// Creates the model on `device` with PyTorch's `nn.Linear` initialization: weight and bias
    /// drawn from `U(−k, k)`, `k = 1/√d_input`, from the backend's random generator (seed it
    /// with `B::seed`).
    ///
    /// # Panics
    /// If `d_input` or `d_output` is zero, as Burn's `LinearConfig` would; check user input
    /// with [`LrModelConfig::validate`] first.
    pub fn init<B: Backend>(&self, device: &B::Device) -> LrModel<B> {
        let bound = 1.0 / (self.d_input as f64).sqrt();
        let linear = LinearConfig::new(self.d_input, self.d_output)
            .with_bias(self.bias)
            .with_initializer(Initializer::Uniform {
                min: -bound,
                max: bound,
            })
            .init(device);
        LrModel { linear }
    }

    /// Checks that both dimensions are at least 1.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.d_input == 0 || self.d_output == 0 {
            return Err(ModelError::EmptyShape {
                d_input: self.d_input,
                d_output: self.d_output,
            });
        }
        Ok(())
    }

    /// Loads a record saved from an `LrModel` of this configuration, refusing one whose
    /// parameters have another shape (Burn's `load_record` alone does not check).
    pub fn init_with_record<B: Backend>(
        &self,
        record: LrModelRecord<B>,
        device: &B::Device,
    ) -> Result<LrModel<B>, ModelError> {
        self.validate()?;
        let model = self.init::<B>(device).load_record(record);
        let got = model.linear.weight.shape().dims::<2>();
        let want = [self.d_input, self.d_output];
        let bias_ok = match &model.linear.bias {
            Some(b) => self.bias && b.shape().dims::<1>() == [self.d_output],
            None => !self.bias,
        };
        if got != want || !bias_ok {
            return Err(ModelError::ShapeMismatch {
                expected: format!("{}→{} (bias: {})", self.d_input, self.d_output, self.bias),
                got: format!(
                    "{}→{} (bias: {})",
                    got[0],
                    got[1],
                    model.linear.bias.is_some()
                ),
            });
        }
        Ok(model)
    }
}

/// Linear regression: `forward(x) = x·Wᵀ + b`, for `x` of shape `[batch, d_input]`.
#[derive(Module, Debug)]
pub struct LrModel<B: Backend> {
    /// The one layer, named `linear` as in the tutorial's PyTorch class, so saved records and
    /// printed parameters read `linear.weight` and `linear.bias`.
    pub linear: Linear<B>,
}

/// A model's parameters in PyTorch's orientation, copied to the host: `f32` by default,
/// `f64` to carry an f64 model's (or an exact solver's) digits without rounding.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearParams<T = f32> {
    /// `weight[o][i]`: the coefficient of input `i` in output `o` (`[out][in]`).
    pub weight: Vec<Vec<T>>,
    /// One intercept per output; empty for a model without bias.
    pub bias: Vec<T>,
}

impl<B: Backend> LrModel<B> {
    /// Predicts: `[batch, d_input]` → `[batch, d_output]`.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.linear.forward(x)
    }

    /// Number of input features.
    pub fn d_input(&self) -> usize {
        self.linear.weight.shape().dims::<2>()[0]
    }

    /// Number of outputs.
    pub fn d_output(&self) -> usize {
        self.linear.weight.shape().dims::<2>()[1]
    }

    /// The configuration that rebuilds a model of this shape.
    pub fn config(&self) -> LrModelConfig {
        LrModelConfig::new()
            .with_d_input(self.d_input())
            .with_d_output(self.d_output())
            .with_bias(self.linear.bias.is_some())
    }

    /// Copies the parameters to the host in PyTorch's `[out][in]` orientation, as `f32`.
    pub fn params(&self) -> LinearParams {
        self.params_as::<f32>()
    }

    /// [`LrModel::params`] in the precision asked for (`f64` keeps an f64 model's digits;
    /// an f32 model's values widen exactly).
    pub fn params_as<T: Element>(&self) -> LinearParams<T> {
        let [d_in, d_out] = self.linear.weight.shape().dims::<2>();
        let w = host::<T>(self.linear.weight.val().into_data());
        // Burn's weight is [in, out], row-major: w[i * d_out + o].
        let weight = (0..d_out)
            .map(|o| (0..d_in).map(|i| w[i * d_out + o]).collect())
            .collect();
        let bias = self
            .linear
            .bias
            .as_ref()
            .map(|b| host::<T>(b.val().into_data()))
            .unwrap_or_default();
        LinearParams { weight, bias }
    }

    /// Replaces the parameters with `params` (PyTorch's `[out][in]` orientation), keeping the
    /// parameter ids so optimizer state stays attached. The shape must match this model.
    /// `f64` parameters are rounded once to the backend's float type (kept exactly on an f64
    /// backend).
    pub fn with_params<T: Element + num_like::Finite>(
        mut self,
        params: &LinearParams<T>,
    ) -> Result<Self, ModelError> {
        let (d_in, d_out) = (self.d_input(), self.d_output());
        let rows_ok = params.weight.len() == d_out && params.weight.iter().all(|r| r.len() == d_in);
        let bias_len = if self.linear.bias.is_some() { d_out } else { 0 };
        if !rows_ok || params.bias.len() != bias_len {
            return Err(ModelError::ShapeMismatch {
                expected: format!("weight [{d_out}][{d_in}], bias [{bias_len}]"),
                got: format!(
                    "weight [{}][{}], bias [{}]",
                    params.weight.len(),
                    params.weight.first().map_or(0, Vec::len),
                    params.bias.len()
                ),
            });
        }
        if params
            .weight
            .iter()
            .flatten()
            .chain(&params.bias)
            .any(|v| !v.finite())
        {
            return Err(ModelError::NonFinite);
        }
        let device = self.linear.weight.device();
        let mut burn_w = vec![T::default(); d_in * d_out];
        for (o, row) in params.weight.iter().enumerate() {
            for (i, &v) in row.iter().enumerate() {
                burn_w[i * d_out + o] = v;
            }
        }
        // `from_data` keeps the data's own float type: round to the backend's first.
        let weight = Tensor::<B, 2>::from_data(
            TensorData::new(burn_w, [d_in, d_out]).convert::<B::FloatElem>(),
            &device,
        );
        // `map` keeps the parameter id; the new tensor keeps the old one's autodiff setting.
        self.linear.weight = self
            .linear
            .weight
            .map(|old| weight.set_require_grad(old.is_require_grad()));
        if let Some(bias) = self.linear.bias.take() {
            let b = Tensor::<B, 1>::from_data(
                TensorData::new(params.bias.clone(), [d_out]).convert::<B::FloatElem>(),
                &device,
            );
            self.linear.bias = Some(bias.map(|old| b.set_require_grad(old.is_require_grad())));
        }
        Ok(self)
    }
}

fn host<T: Element>(data: TensorData) -> Vec<T> {
    // The float element may be f32, f16 or f64 depending on the backend; convert.
    data.convert::<T>().into_vec().unwrap_or_default()
}

/// The float types parameters travel in (sealed: `f32`, `f64`).
pub mod num_like {
    /// A float that can say whether it is finite.
    pub trait Finite: Copy + Default + PartialEq + std::fmt::Debug + private::Sealed {
        /// Neither NaN nor infinite.
        fn finite(self) -> bool;
    }
    impl Finite for f32 {
        fn finite(self) -> bool {
            self.is_finite()
        }
    }
    impl Finite for f64 {
        fn finite(self) -> bool {
            self.is_finite()
        }
    }
    mod private {
        pub trait Sealed {}
        impl Sealed for f32 {}
        impl Sealed for f64 {}
    }
}

/// Why a model could not be built or given parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelError {
    /// Parameters or a record do not have the model's shape.
    ShapeMismatch {
        /// The shape the model has.
        expected: String,
        /// The shape offered.
        got: String,
    },
    /// A dimension is zero.
    EmptyShape {
        /// Inputs asked for.
        d_input: usize,
        /// Outputs asked for.
        d_output: usize,
    },
    /// A parameter is NaN or infinite.
    NonFinite,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ShapeMismatch { expected, got } => {
                write!(
                    f,
                    "parameter shapes do not match the model: expected {expected}, got {got}"
                )
            }
            Self::EmptyShape { d_input, d_output } => write!(
                f,
                "a linear model needs at least one input and one output, got {d_input}→{d_output}"
            ),
            Self::NonFinite => write!(
                f,
                "parameters must be finite numbers (found NaN or infinity)"
            ),
        }
    }
}

impl std::error::Error for ModelError {}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};

    type B = NdArray;

    #[test]
    fn params_use_pytorch_orientation() {
        let device = Default::default();
        let model = LrModelConfig::new()
            .with_d_input(3)
            .with_d_output(2)
            .init::<B>(&device);
        let p = LinearParams {
            weight: vec![vec![1., 2., 3.], vec![4., 5., 6.]],
            bias: vec![0.5, -0.5],
        };
        let model = model.with_params(&p).unwrap();
        assert_eq!(model.params(), p);
        // x = [1, 1, 1] → [1+2+3+0.5, 4+5+6-0.5]
        let y: Vec<f32> = model
            .forward(Tensor::from_floats([[1.0, 1.0, 1.0]], &device))
            .into_data()
            .to_vec()
            .unwrap();
        assert_eq!(y, vec![6.5, 14.5]);
    }

    #[test]
    fn f64_parameters_round_once_into_an_f32_model() {
        // (An f64 model keeping them exactly is tested end to end, `--precision f64` in
        // tests/precision.rs: Burn 0.21 keeps the float type per device for the whole
        // process, so f32 and f64 ndarray models cannot share one test process.)
        let device = Default::default();
        let p = LinearParams {
            weight: vec![vec![0.1_f64, -1.0 / 3.0]],
            bias: vec![-1467.4896142298_f64],
        };
        let narrow = LrModelConfig::new()
            .with_d_input(2)
            .init::<B>(&device)
            .with_params(&p)
            .unwrap();
        assert_eq!(narrow.params().weight[0], vec![0.1_f32, -1.0 / 3.0]);
        assert_eq!(
            narrow.params_as::<f64>().bias[0],
            f64::from(-1467.4896142298_f64 as f32)
        );
    }

    #[test]
    fn init_draws_within_pytorch_bounds() {
        let device = Default::default();
        B::seed(&device, 7);
        let model = LrModelConfig::new()
            .with_d_input(4)
            .with_d_output(3)
            .init::<B>(&device);
        let p = model.params();
        // k = 1/√4 = 0.5
        assert!(p
            .weight
            .iter()
            .flatten()
            .chain(&p.bias)
            .all(|v| v.abs() <= 0.5));
        assert_eq!(model.config().d_input, 4);
        assert_eq!(model.config().d_output, 3);
    }

    #[test]
    fn wrong_shapes_and_values_are_errors() {
        let device = Default::default();
        let model = LrModelConfig::new().init::<B>(&device);
        let bad = LinearParams {
            weight: vec![vec![1.0, 2.0]],
            bias: vec![0.0],
        };
        assert!(matches!(
            model.clone().with_params(&bad),
            Err(ModelError::ShapeMismatch { .. })
        ));
        let nan = LinearParams {
            weight: vec![vec![f32::NAN]],
            bias: vec![0.0],
        };
        assert_eq!(model.with_params(&nan).unwrap_err(), ModelError::NonFinite);
        assert!(LrModelConfig::new().with_d_input(0).validate().is_err());
    }

    #[test]
    fn record_of_another_shape_is_refused() {
        let device = Default::default();
        let record = LrModelConfig::new()
            .with_d_input(2)
            .init::<B>(&device)
            .into_record();
        let err = LrModelConfig::new()
            .init_with_record::<B>(record, &device)
            .unwrap_err();
        assert!(err.to_string().contains("expected 1→1"), "{err}");
    }

    #[test]
    fn autodiff_gradient_of_l1_is_sign_over_n() {
        // Hand computation: pred = 1·x + 0 at x = [1, 2], y = [0, 5] → residuals [1, −3],
        // d mean|r| / dw = (sign(1)·1 + sign(−3)·2)/2 = −0.5, d/db = (1 − 1)/2 = 0.
        type A = Autodiff<B>;
        let device = Default::default();
        let model = LrModelConfig::new()
            .init::<A>(&device)
            .with_params(&LinearParams {
                weight: vec![vec![1.0]],
                bias: vec![0.0],
            })
            .unwrap();
        let x = Tensor::<A, 2>::from_floats([[1.0], [2.0]], &device);
        let y = Tensor::<A, 2>::from_floats([[0.0], [5.0]], &device);
        let loss = (model.forward(x) - y).abs().mean();
        let grads = loss.backward();
        let gw: Vec<f32> = model
            .linear
            .weight
            .grad(&grads)
            .unwrap()
            .into_data()
            .to_vec()
            .unwrap();
        let gb: Vec<f32> = model
            .linear
            .bias
            .as_ref()
            .unwrap()
            .grad(&grads)
            .unwrap()
            .into_data()
            .to_vec()
            .unwrap();
        assert_eq!((gw[0], gb[0]), (-0.5, 0.0));
    }
}
