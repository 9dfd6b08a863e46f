//! burn-ndarray: the host kernel (`cpu.rs`) on the tensors' own buffers, without copies.

use std::borrow::Cow;

use burn::backend::ndarray::{
    FloatNdArrayElement, IntNdArrayElement, NdArray, NdArrayTensor, QuantElement, SharedArray,
};
use burn::tensor::backend::Backend;
use burn::tensor::ops::{FloatTensor, FloatTensorOps, IntTensor};
use burn::tensor::{DType, Element, TensorMetadata};

use crate::cpu::{Problem, SimdFloat};
use crate::{check_shapes, reference, FusedOptions, FusedOutput, FusedRegressionBackend};

/// A float element whose tensors the kernel reads (and the update writes) in place.
trait HostFloat: SimdFloat + Element
where
    NdArrayTensor: From<SharedArray<Self>>,
{
    /// The row-major values of `t` and its shape, borrowed when contiguous; `None` for
    /// another element type.
    fn values(t: &NdArrayTensor) -> Option<(Cow<'_, [Self]>, &[usize])>;

    /// `y + alpha·x` rounded once, written into `y`'s buffer when nobody else holds it.
    fn axpy(
        x: &NdArrayTensor,
        alpha: f64,
        y: NdArrayTensor,
    ) -> Result<NdArrayTensor, NdArrayTensor>;
}

/// A tensor with `values` of this `shape`.
fn output<T: HostFloat>(values: Vec<T>, shape: &[usize]) -> NdArrayTensor
where
    NdArrayTensor: From<SharedArray<T>>,
{
    let array = SharedArray::<T>::from_shape_vec(shape, values)
        .expect("the kernel sizes its outputs to their shapes");
    NdArrayTensor::from(array)
}

macro_rules! host_float {
    ($t:ty, $variant:ident) => {
        impl HostFloat for $t {
            fn values(t: &NdArrayTensor) -> Option<(Cow<'_, [Self]>, &[usize])> {
                match t {
                    NdArrayTensor::$variant(storage) => {
                        let view = storage.view();
                        let values = match view.to_slice() {
                            Some(s) => Cow::Borrowed(s),
                            // A strided view (a transpose, a narrowed column): copy it once.
                            None => Cow::Owned(view.iter().copied().collect()),
                        };
                        Some((values, storage.shape()))
                    }
                    _ => None,
                }
            }

            fn axpy(
                x: &NdArrayTensor,
                alpha: f64,
                y: NdArrayTensor,
            ) -> Result<NdArrayTensor, NdArrayTensor> {
                let Some((xs, x_shape)) = Self::values(x) else {
                    return Err(y);
                };
                let a = alpha as $t;
                match y {
                    NdArrayTensor::$variant(storage) if storage.shape() == x_shape => {
                        let mut array = storage.into_shared();
                        // Copy-on-write: in place when this is the only reference.
                        match array.as_slice_mut() {
                            Some(ys) => {
                                for (y, &x) in ys.iter_mut().zip(xs.iter()) {
                                    *y = a.mul_add(x, *y);
                                }
                                Ok(NdArrayTensor::from(array))
                            }
                            None => {
                                let out = xs
                                    .iter()
                                    .zip(array.iter())
                                    .map(|(&x, &y)| a.mul_add(x, y))
                                    .collect();
                                Ok(output::<$t>(out, x_shape))
                            }
                        }
                    }
                    other => Err(other),
                }
            }
        }
    };
}

host_float!(f32, F32);
host_float!(f64, F64);

/// The row indices of an integer tensor, checked against `n`.
fn indices(t: &NdArrayTensor, n: usize) -> Vec<usize> {
    macro_rules! collect {
        ($($variant:ident),*) => {
            match t {
                $(NdArrayTensor::$variant(s) => s
                    .view()
                    .iter()
                    .map(|&i| {
                        let i = i64::try_from(i).ok().and_then(|i| usize::try_from(i).ok());
                        match i {
                            Some(i) if i < n => i,
                            _ => panic!("fused regression: a row index is outside 0..{n}"),
                        }
                    })
                    .collect(),)*
                other => panic!("fused regression: rows must be integers, got {:?}", other.dtype()),
            }
        };
    }
    collect!(I64, I32, I16, I8, U64, U32, U16, U8)
}

fn run<T: HostFloat, B: Backend<FloatTensorPrimitive = NdArrayTensor>>(
    x: &NdArrayTensor,
    y: &NdArrayTensor,
    weight: &NdArrayTensor,
    bias: Option<&NdArrayTensor>,
    rows: Option<&NdArrayTensor>,
    options: FusedOptions,
) -> Option<FusedOutput<B>>
where
    NdArrayTensor: From<SharedArray<T>>,
{
    let ((xs, x_shape), (ys, y_shape)) = (T::values(x)?, T::values(y)?);
    let (ws, w_shape) = T::values(weight)?;
    let bs = match bias {
        Some(b) => Some(T::values(b)?),
        None => None,
    };
    let rows_shape = rows.map(TensorMetadata::shape);
    let (n, d, m) = check_shapes(
        x_shape,
        y_shape,
        w_shape,
        bs.as_ref().map(|b| b.1),
        rows_shape.as_ref().map(|s| &s[..]),
    );
    let idx = rows.map(|r| indices(r, n));
    let out = Problem {
        x: &xs,
        y: &ys,
        weight: &ws,
        bias: bs.as_ref().map(|b| &b.0[..]),
        rows: idx.as_deref(),
        d,
        m,
        loss: options.loss,
        gradients: options.gradients,
        residual_sums: options.residual_sums,
    }
    .run();
    Some(FusedOutput {
        loss: output(vec![out.loss], &[1]),
        weight_grad: options.gradients.then(|| output(out.weight_grad, &[d, m])),
        bias_grad: (options.gradients && bias.is_some()).then(|| output(out.bias_grad, &[m])),
        residual_sums: options
            .residual_sums
            .then(|| output(out.residual_sums, &[2, m])),
    })
}

impl<E, I, Q> FusedRegressionBackend for NdArray<E, I, Q>
where
    E: FloatNdArrayElement,
    I: IntNdArrayElement,
    Q: QuantElement,
    NdArrayTensor: From<SharedArray<E>> + From<SharedArray<I>>,
{
    fn fused_regression(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        rows: Option<IntTensor<Self>>,
        options: FusedOptions,
    ) -> FusedOutput<Self> {
        let (b, r) = (bias.as_ref(), rows.as_ref());
        let computed = match x.dtype() {
            DType::F64 => run::<f64, Self>(&x, &y, &weight, b, r, options),
            DType::F32 => run::<f32, Self>(&x, &y, &weight, b, r, options),
            _ => None,
        };
        match computed {
            Some(out) => out,
            // Other or mixed element types: Burn's own operations handle (or refuse) them.
            None => reference::fused_regression::<Self>(x, y, weight, bias, rows, options),
        }
    }

    fn fused_axpy(x: FloatTensor<Self>, alpha: f64, y: FloatTensor<Self>) -> FloatTensor<Self> {
        let fused = match (x.dtype(), y.dtype()) {
            (DType::F32, DType::F32) => f32::axpy(&x, alpha, y),
            (DType::F64, DType::F64) => f64::axpy(&x, alpha, y),
            _ => Err(y),
        };
        fused.unwrap_or_else(|y| Self::float_add(y, Self::float_mul_scalar(x, alpha.into())))
    }

    fn fused_scale_grad(grad: FloatTensor<Self>, upstream: FloatTensor<Self>) -> FloatTensor<Self> {
        // `loss.backward()` seeds the loss with exactly 1: nothing to multiply.
        let one = match &upstream {
            NdArrayTensor::F32(s) => s.view().iter().all(|&v| v == 1.0),
            NdArrayTensor::F64(s) => s.view().iter().all(|&v| v == 1.0),
            _ => false,
        };
        if one {
            grad
        } else {
            crate::scale_by_upstream::<Self>(grad, upstream)
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;
    use burn::tensor::Tensor;

    use crate::axpy;

    #[test]
    fn axpy_rounds_once() {
        let device = Default::default();
        let xs: Vec<f32> = (1..200).map(|i| i as f32 * 0.013_7).collect();
        let ys: Vec<f32> = (1..200).map(|i| 1.0 - i as f32 * 0.004_1).collect();
        let x = Tensor::<NdArray, 1>::from_floats(&xs[..], &device);
        let y = Tensor::<NdArray, 1>::from_floats(&ys[..], &device);
        let kept = y.clone(); // shared: the update must not write into it
        let got: Vec<f32> = axpy(x.clone(), -0.01, y).into_data().to_vec().unwrap();
        let a = -0.01f32;
        let mut differs = 0;
        for ((&g, &x), &y) in got.iter().zip(&xs).zip(&ys) {
            assert_eq!(g.to_bits(), a.mul_add(x, y).to_bits());
            differs += usize::from(g != y + a * x);
        }
        // The single rounding matters for some of these values (it is why the op exists).
        assert!(differs > 0);
        assert_eq!(kept.into_data().to_vec::<f32>().unwrap(), ys);
        // In place when the tensor is not shared.
        let y = Tensor::<NdArray, 1>::from_floats(&ys[..], &device);
        let again: Vec<f32> = axpy(x, -0.01, y).into_data().to_vec().unwrap();
        assert_eq!(again, got);
    }
}
