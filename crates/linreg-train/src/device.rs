//! Tables on a device: each matrix moved (or copied) there once, and read back only in the
//! pieces a caller asks for.

use burn::prelude::*;
use burn::tensor::Element;
use linreg_data::{Dataset, Matrix, Real, Split};

use crate::metrics::sum_of_squares;

/// One dataset's features and targets as device tensors, with what the metrics need of the
/// targets (their `Σ(y − ȳ)²`, taken on the host before the move).
#[derive(Debug, Clone)]
pub struct DeviceData<B: Backend> {
    x: Tensor<B, 2>,
    y: Tensor<B, 2>,
    sum_of_squares: Vec<f64>,
}

/// Training and test rows on a device.
#[derive(Debug, Clone)]
pub struct DeviceSplit<B: Backend> {
    /// Rows the model learns from.
    pub train: DeviceData<B>,
    /// Rows held out to evaluate it.
    pub test: DeviceData<B>,
}

/// A matrix's buffer as a tensor. On a CPU backend the tensor takes the buffer itself: no copy.
fn into_tensor<B: Backend, T: Real + Element>(m: Matrix<T>, device: &B::Device) -> Tensor<B, 2> {
    let shape = [m.rows(), m.cols()];
    Tensor::from_data(TensorData::new(m.into_values(), shape), device)
}

impl<B: Backend> DeviceData<B> {
    /// Moves `data` onto `device`. On burn-ndarray the tensors take the matrices' buffers, so
    /// the rows exist once in memory.
    pub fn new<T: Real + Element>(data: Dataset<T>, device: &B::Device) -> Self {
        let sum_of_squares = sum_of_squares(&data.y);
        Self {
            x: into_tensor(data.x, device),
            y: into_tensor(data.y, device),
            sum_of_squares,
        }
    }

    /// Copies `data` onto `device`, leaving the host matrices to the caller.
    pub fn copied<T: Real + Element>(data: &Dataset<T>, device: &B::Device) -> Self {
        Self::new(data.clone(), device)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.x.dims()[0]
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of feature columns.
    pub fn inputs(&self) -> usize {
        self.x.dims()[1]
    }

    /// Number of target columns.
    pub fn outputs(&self) -> usize {
        self.y.dims()[1]
    }

    /// The features, `[rows, inputs]`.
    pub fn x(&self) -> &Tensor<B, 2> {
        &self.x
    }

    /// The targets, `[rows, outputs]`.
    pub fn y(&self) -> &Tensor<B, 2> {
        &self.y
    }

    /// `Σ(y − ȳ)²` per target.
    pub fn sum_of_squares(&self) -> &[f64] {
        &self.sum_of_squares
    }

    /// The same tensors on another backend that shares this one's primitives (an autodiff
    /// backend and its inner backend): no copy.
    pub fn map<B2: Backend>(&self, f: impl Fn(Tensor<B, 2>) -> Tensor<B2, 2>) -> DeviceData<B2> {
        DeviceData {
            x: f(self.x.clone()),
            y: f(self.y.clone()),
            sum_of_squares: self.sum_of_squares.clone(),
        }
    }

    /// All rows read back to the host (one copy; f32).
    pub fn to_dataset(&self) -> Dataset {
        Dataset {
            x: crate::to_matrix(self.x.clone()),
            y: crate::to_matrix(self.y.clone()),
        }
    }

    /// The rows at `indices` (each below [`len`](Self::len)), read back to the host: for
    /// plots and reports that need a sample, not the table.
    pub fn rows(&self, indices: &[usize]) -> Dataset {
        let device = self.x.device();
        let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
        let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [indices.len()]), &device);
        Dataset {
            x: crate::to_matrix(self.x.clone().select(0, idx.clone())),
            y: crate::to_matrix(self.y.clone().select(0, idx)),
        }
    }
}

impl<B: Backend> DeviceSplit<B> {
    /// Moves both sets onto `device` (see [`DeviceData::new`]).
    pub fn new<T: Real + Element>(split: Split<T>, device: &B::Device) -> Self {
        Self {
            train: DeviceData::new(split.train, device),
            test: DeviceData::new(split.test, device),
        }
    }

    /// Copies both sets onto `device`.
    pub fn copied<T: Real + Element>(split: &Split<T>, device: &B::Device) -> Self {
        Self {
            train: DeviceData::copied(&split.train, device),
            test: DeviceData::copied(&split.test, device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use linreg_data::LineSpec;

    #[test]
    fn moved_rows_come_back_unchanged() {
        let split = Split::ordered(LineSpec::default().generate().unwrap(), 0.8).unwrap();
        let on_device = DeviceSplit::<NdArray>::new(split.clone(), &Default::default());
        assert_eq!(on_device.train.len(), 40);
        assert_eq!((on_device.test.inputs(), on_device.test.outputs()), (1, 1));
        assert_eq!(on_device.train.to_dataset(), split.train);
        let some = on_device.test.rows(&[9, 0]);
        assert_eq!(
            some.x.values(),
            &[split.test.x.values()[9], split.test.x.values()[0]]
        );
        // Σ(y − ȳ)² of the test targets, by hand in f64.
        let y: Vec<f64> = split
            .test
            .y
            .values()
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        let tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
        assert!((on_device.test.sum_of_squares()[0] - tot).abs() < 1e-12);
    }
}
