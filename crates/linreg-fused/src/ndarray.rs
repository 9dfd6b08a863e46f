//! burn-ndarray: the host kernel (`cpu.rs`) on the tensors' own buffers, without copies.

use std::borrow::Cow;

use burn::backend::ndarray::{
    FloatNdArrayElement, IntNdArrayElement, NdArray, NdArrayTensor, QuantElement, SharedArray,
};
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensorOps;
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{DType, Element, TensorData, TensorMetadata};

use crate::cpu::Problem;
use crate::{
    check_shapes, reference, FusedOptions, FusedOutput, FusedRegressionBackend, KernelFloat,
};

/// A float element whose tensors the kernel reads in place.
trait HostFloat: KernelFloat + Element {
    /// The row-major values of `t`, borrowed when contiguous; `None` for another element type.
    fn values(t: &NdArrayTensor) -> Option<Cow<'_, [Self]>>;
}

macro_rules! host_float {
    ($t:ty, $variant:ident) => {
        impl HostFloat for $t {
            fn values(t: &NdArrayTensor) -> Option<Cow<'_, [Self]>> {
                match t {
                    NdArrayTensor::$variant(storage) => {
                        let view = storage.view();
                        Some(match view.to_slice() {
                            Some(s) => Cow::Borrowed(s),
                            // A strided view (a transpose, a narrowed column): copy it once.
                            None => Cow::Owned(view.iter().copied().collect()),
                        })
                    }
                    _ => None,
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

fn output<E: Element>(values: Vec<E>, shape: Vec<usize>) -> NdArrayTensor {
    NdArrayTensor::from_data(TensorData::new(values, shape))
}

fn run<T: HostFloat, B: Backend<FloatTensorPrimitive = NdArrayTensor>>(
    x: &NdArrayTensor,
    y: &NdArrayTensor,
    weight: &NdArrayTensor,
    bias: Option<&NdArrayTensor>,
    rows: Option<&[usize]>,
    options: FusedOptions,
) -> Option<FusedOutput<B>> {
    let (xs, ys, ws) = (T::values(x)?, T::values(y)?, T::values(weight)?);
    let bs = match bias {
        Some(b) => Some(T::values(b)?),
        None => None,
    };
    let [d, m] = weight.shape().dims::<2>();
    let out = Problem {
        x: &xs,
        y: &ys,
        weight: &ws,
        bias: bs.as_deref(),
        rows,
        d,
        m,
        loss: options.loss,
        gradients: options.gradients,
        residual_sums: options.residual_sums,
    }
    .run();
    Some(FusedOutput {
        loss: output(vec![out.loss], vec![1]),
        weight_grad: options
            .gradients
            .then(|| output(out.weight_grad, vec![d, m])),
        bias_grad: (options.gradients && bias.is_some()).then(|| output(out.bias_grad, vec![m])),
        residual_sums: options
            .residual_sums
            .then(|| output(out.residual_sums, vec![2, m])),
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
        let (xs, ys, ws) = (x.shape(), y.shape(), weight.shape());
        let bs = bias.as_ref().map(TensorMetadata::shape);
        let rs = rows.as_ref().map(TensorMetadata::shape);
        let (n, _, _) = check_shapes(
            &xs,
            &ys,
            &ws,
            bs.as_ref().map(|s| &s[..]),
            rs.as_ref().map(|s| &s[..]),
        );
        let idx = rows.as_ref().map(|r| indices(r, n));
        let computed = match x.dtype() {
            DType::F64 => run::<f64, Self>(&x, &y, &weight, bias.as_ref(), idx.as_deref(), options),
            DType::F32 => run::<f32, Self>(&x, &y, &weight, bias.as_ref(), idx.as_deref(), options),
            _ => None,
        };
        match computed {
            Some(out) => out,
            // Other or mixed element types: Burn's own operations handle (or refuse) them.
            None => reference::fused_regression::<Self>(x, y, weight, bias, rows, options),
        }
    }

    fn fused_axpy(x: FloatTensor<Self>, alpha: f64, y: FloatTensor<Self>) -> FloatTensor<Self> {
        fn fma<T: HostFloat>(
            x: &NdArrayTensor,
            alpha: f64,
            y: &NdArrayTensor,
        ) -> Option<NdArrayTensor> {
            let (xs, ys) = (T::values(x)?, T::values(y)?);
            let a = T::from_f64(alpha);
            let out = xs
                .iter()
                .zip(ys.iter())
                .map(|(&x, &y)| a.mul_add(x, y))
                .collect();
            Some(output(out, y.shape().to_vec()))
        }
        let fused = if x.shape() != y.shape() {
            None
        } else {
            match (x.dtype(), y.dtype()) {
                (DType::F32, DType::F32) => fma::<f32>(&x, alpha, &y),
                (DType::F64, DType::F64) => fma::<f64>(&x, alpha, &y),
                _ => None,
            }
        };
        fused.unwrap_or_else(|| Self::float_add(y, Self::float_mul_scalar(x, alpha.into())))
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
        let got: Vec<f32> = axpy(x, -0.01, y).into_data().to_vec().unwrap();
        let a = -0.01f32;
        let mut differs = 0;
        for ((&g, &x), &y) in got.iter().zip(&xs).zip(&ys) {
            assert_eq!(g.to_bits(), a.mul_add(x, y).to_bits());
            differs += usize::from(g != y + a * x);
        }
        // The single rounding matters for some of these values (it is why the op exists).
        assert!(differs > 0);
    }
}
