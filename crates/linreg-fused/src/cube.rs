//! CubeCL backends (wgpu, cuda, …): one generic impl over `CubeBackend<R, F, I, BT>`, two
//! kernels, every reduction on the device.
//!
//! 1. `partials`: each cube takes a contiguous range of the rows (read through `rows` when
//!    given) and walks it in tiles. For each tile its units first compute the residuals
//!    `r = x·W + b − y` into shared memory (one unit per row and output), then accumulate, per
//!    output `j`, the `d + 4` sums `Σ g·x_k` (weight gradient), `Σ g` (bias gradient),
//!    `Σ loss term`, `Σ|r|` and `Σr²`, where `g` is the loss derivative of `r`. Several units
//!    share a sum when there are fewer sums than units (`phases`); each cube writes its sums
//!    to one row of a `[cubes, m·(d + 4)]` buffer.
//! 2. `finish`: one cube adds the rows of that buffer (a tree per sum) and writes the loss,
//!    the gradients and the residual sums in their final shapes.
//!
//! Problems whose sums or tiles do not fit the kernel's shared memory (`m·(d + 4)` above
//! [`ITEMS_CAP`], or more than [`TILE_CAP`] outputs) fall back to the reference operations.

use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{DType, Shape, TensorMetadata};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};
use cubecl::prelude::*;

use crate::{
    check_shapes, reference, FusedLoss, FusedOptions, FusedOutput, FusedRegressionBackend,
};

/// Residuals held in shared memory per tile (floats): 4 KB.
const TILE_CAP: u32 = 1024;
/// Per-unit sums held in shared memory (floats): 8 KB. Bounds `m·(d + 4)`.
const ITEMS_CAP: u32 = 2048;
/// Units per cube (a power of two, lowered to what the device allows).
const UNITS: u32 = 256;
/// Cubes of the first kernel at most (rows per cube grow beyond that).
const MAX_CUBES: usize = 1024;

/// The loss term and the scaled derivative of residual `r`.
#[cube]
fn loss_term<F: Float>(r: F, scale: F, delta: F, #[comptime] kind: u32) -> (F, F) {
    let zero = F::new(0.0);
    // L1's term; the other losses replace it.
    let mut term = F::abs(r);
    let mut deriv = zero;
    if comptime!(kind == 0) {
        // L1: |r|, sign(r)/count with sign(0) = 0.
        if r > zero {
            deriv = scale;
        } else if r < zero {
            deriv = zero - scale;
        }
    } else if comptime!(kind == 1) {
        // MSE: r², 2r/count (scale holds 2/count).
        term = r * r;
        deriv = r * scale;
    } else {
        // Huber.
        let a = F::abs(r);
        let half = F::new(0.5);
        if a < delta {
            term = half * a * a;
        } else {
            term = delta * (a - half * delta);
        }
        let mut c = r;
        if r < zero - delta {
            c = zero - delta;
        } else if r > delta {
            c = delta;
        }
        deriv = c * scale;
    }
    (term, deriv)
}

/// The row of `x` and `y` that batch position `p` reads.
#[cube]
fn row_of<I: Numeric>(rows: &Tensor<I>, p: usize, #[comptime] indexed: bool) -> usize {
    let mut i = p;
    if comptime!(indexed) {
        i = u32::cast_from(rows[p]) as usize;
    }
    i
}

#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn partials<F: Float, I: Numeric>(
    x: &Tensor<F>,
    y: &Tensor<F>,
    w: &Tensor<F>,
    b: &Tensor<F>,
    rows: &Tensor<I>,
    out: &mut Tensor<F>,
    batch: u32,
    d: u32,
    m: u32,
    per_cube: u32,
    tile_rows: u32,
    phases: u32,
    scale: InputScalar,
    delta: InputScalar,
    #[comptime] kind: u32,
    #[comptime] indexed: bool,
    #[comptime] has_bias: bool,
    #[define(F, I)] _dtypes: [StorageType; 2],
) {
    let batch = batch as usize;
    let d = d as usize;
    let m = m as usize;
    let per_cube = per_cube as usize;
    let tile_rows = tile_rows as usize;
    let phases = phases as usize;
    let scale = scale.get::<F>();
    let delta = delta.get::<F>();

    let cube = CUBE_POS_X as usize;
    let unit = UNIT_POS_X as usize;
    let units = CUBE_DIM_X as usize;
    let sums = m * (d + 4);
    let items = sums * phases;

    let mut resid = SharedMemory::<F>::new(TILE_CAP as usize);
    let mut acc = SharedMemory::<F>::new(ITEMS_CAP as usize);
    let mut it = unit;
    while it < items {
        acc[it] = F::new(0.0);
        it += units;
    }

    let start = cube * per_cube;
    let mut end = start + per_cube;
    if end > batch {
        end = batch;
    }
    let mut tile = start;
    while tile < end {
        let mut len = tile_rows;
        if tile + len > end {
            len = end - tile;
        }
        // Residuals of this tile, one unit per (row, output).
        let mut e = unit;
        while e < len * m {
            let p = e / m;
            let j = e % m;
            let i = row_of::<I>(rows, tile + p, indexed);
            let mut s = F::new(0.0);
            for k in 0..d {
                s += x[i * d + k] * w[k * m + j];
            }
            if comptime!(has_bias) {
                s += b[j];
            }
            resid[e] = s - y[i * m + j];
            e += units;
        }
        sync_cube();
        // Sums of this tile: item = (sum, phase); each unit owns its items.
        let mut it = unit;
        while it < items {
            let q = it % sums;
            let phase = it / sums;
            let j = q / (d + 4);
            let what = q % (d + 4);
            let mut s = F::new(0.0);
            let mut p = phase;
            while p < len {
                let r = resid[p * m + j];
                let (term, deriv) = loss_term::<F>(r, scale, delta, kind);
                if what < d {
                    let i = row_of::<I>(rows, tile + p, indexed);
                    s += deriv * x[i * d + what];
                } else if what == d {
                    s += deriv;
                } else if what == d + 1 {
                    s += term;
                } else if what == d + 2 {
                    s += F::abs(r);
                } else {
                    s += r * r;
                }
                p += phases;
            }
            acc[it] += s;
            it += units;
        }
        sync_cube();
        tile += tile_rows;
    }
    // Phases of one sum added together; one row of `out` per cube.
    let mut q = unit;
    while q < sums {
        let mut s = F::new(0.0);
        for phase in 0..phases {
            s += acc[phase * sums + q];
        }
        out[cube * sums + q] = s;
        q += units;
    }
}

#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn finish<F: Float>(
    part: &Tensor<F>,
    loss: &mut Tensor<F>,
    weight_grad: &mut Tensor<F>,
    bias_grad: &mut Tensor<F>,
    residual_sums: &mut Tensor<F>,
    cubes: u32,
    d: u32,
    m: u32,
    count: InputScalar,
    #[comptime] has_bias: bool,
    #[define(F)] _dtype: StorageType,
) {
    let cubes = cubes as usize;
    let d = d as usize;
    let m = m as usize;
    let count = count.get::<F>();
    let unit = UNIT_POS_X as usize;
    let units = CUBE_DIM_X as usize;
    let sums = m * (d + 4);

    let mut red = SharedMemory::<F>::new(UNITS as usize);
    let mut total = SharedMemory::<F>::new(ITEMS_CAP as usize);
    for q in 0..sums {
        let mut s = F::new(0.0);
        let mut c = unit;
        while c < cubes {
            s += part[c * sums + q];
            c += units;
        }
        red[unit] = s;
        sync_cube();
        let mut stride = units / 2;
        while stride > 0 {
            if unit < stride {
                let other = red[unit + stride];
                red[unit] += other;
            }
            sync_cube();
            stride /= 2;
        }
        if unit == 0 {
            total[q] = red[0];
        }
        sync_cube();
    }
    let mut q = unit;
    while q < sums {
        let j = q / (d + 4);
        let what = q % (d + 4);
        if what < d {
            weight_grad[what * m + j] = total[q];
        } else if what == d {
            if comptime!(has_bias) {
                bias_grad[j] = total[q];
            }
        } else if what == d + 2 {
            residual_sums[j] = total[q];
        } else if what == d + 3 {
            residual_sums[m + j] = total[q];
        }
        q += units;
    }
    if unit == 0 {
        let mut l = F::new(0.0);
        for j in 0..m {
            l += total[j * (d + 4) + d + 1];
        }
        loss[0] = l / count;
    }
}

impl<R, F, I, BT> FusedRegressionBackend for CubeBackend<R, F, I, BT>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
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
        let (n, d, m) = check_shapes(
            &xs,
            &ys,
            &ws,
            bs.as_ref().map(|s| &s[..]),
            rs.as_ref().map(|s| &s[..]),
        );
        let batch = rs.as_ref().map_or(n, |s| s[0]);
        let sums = m * (d + 4);
        let same_dtype = [Some(&y), Some(&weight), bias.as_ref()]
            .into_iter()
            .flatten()
            .all(|t| t.dtype == x.dtype);
        if batch == 0 || m > TILE_CAP as usize || sums > ITEMS_CAP as usize || !same_dtype {
            return reference::fused_regression::<Self>(x, y, weight, bias, rows, options);
        }
        run(x, y, weight, bias, rows, options, [batch, d, m])
    }
}

#[allow(clippy::too_many_arguments)]
fn run<R: CubeRuntime, B>(
    x: CubeTensor<R>,
    y: CubeTensor<R>,
    weight: CubeTensor<R>,
    bias: Option<CubeTensor<R>>,
    rows: Option<CubeTensor<R>>,
    options: FusedOptions,
    [batch, d, m]: [usize; 3],
) -> FusedOutput<B>
where
    B: burn::tensor::backend::Backend<FloatTensorPrimitive = CubeTensor<R>>,
{
    let x = into_contiguous(x);
    let y = into_contiguous(y);
    let weight = into_contiguous(weight);
    let bias = bias.map(into_contiguous);
    let rows = rows.map(into_contiguous);
    let (client, device, dtype) = (x.client.clone(), x.device.clone(), x.dtype);
    let hw = &client.properties().hardware;
    let units = UNITS
        .min(hw.max_cube_dim.0)
        .min(hw.max_units_per_cube)
        .max(1);
    // A power of two, for the tree in `finish`.
    let units = 1u32 << (u32::BITS - 1 - units.leading_zeros());

    let sums = m * (d + 4);
    let cubes = batch.div_ceil(units as usize).clamp(1, MAX_CUBES);
    let per_cube = batch.div_ceil(cubes);
    let cubes = batch.div_ceil(per_cube);
    let tile_rows = (units as usize).min(TILE_CAP as usize / m).max(1);
    let phases = ((units as usize).min(ITEMS_CAP as usize) / sums).max(1);

    let count = (batch * m) as f64;
    let scale = match options.loss {
        FusedLoss::L1 | FusedLoss::Huber { .. } => 1.0 / count,
        FusedLoss::Mse => 2.0 / count,
    };
    let (kind, delta) = match options.loss {
        FusedLoss::L1 => (0u32, 0.0),
        FusedLoss::Mse => (1, 0.0),
        FusedLoss::Huber { delta } => (2, delta),
    };
    let float = |v: f64| InputScalar::new(v, dtype);

    let part = empty_device_dtype::<R>(
        client.clone(),
        device.clone(),
        Shape::new([cubes, sums]),
        dtype,
    );
    let (rows_arg, indexed, int_dtype) = match &rows {
        Some(r) => (r.clone(), true, r.dtype),
        // Never read: the kernel is compiled without the index lookup.
        None => {
            let dummy = empty_device_dtype::<R>(
                client.clone(),
                device.clone(),
                Shape::new([1]),
                DType::I32,
            );
            (dummy, false, DType::I32)
        }
    };
    let has_bias = bias.is_some();
    let bias_arg = bias.clone().unwrap_or_else(|| weight.clone());
    let u = |v: usize| u32::try_from(v).expect("fused regression: sizes must fit in u32");
    partials::launch::<R>(
        &client,
        CubeCount::Static(cubes as u32, 1, 1),
        CubeDim::new_1d(units),
        x.into_tensor_arg(),
        y.into_tensor_arg(),
        weight.into_tensor_arg(),
        bias_arg.into_tensor_arg(),
        rows_arg.into_tensor_arg(),
        part.clone().into_tensor_arg(),
        u(batch),
        u(d),
        u(m),
        u(per_cube),
        u(tile_rows),
        u(phases),
        float(scale),
        float(delta),
        kind,
        indexed,
        has_bias,
        [dtype.into(), int_dtype.into()],
    );

    let empty = |shape: Vec<usize>| {
        empty_device_dtype::<R>(client.clone(), device.clone(), Shape::from(shape), dtype)
    };
    let loss = empty(vec![1]);
    let weight_grad = empty(vec![d, m]);
    let bias_grad = empty(vec![if has_bias { m } else { 1 }]);
    let residual_sums = empty(vec![2, m]);
    finish::launch::<R>(
        &client,
        CubeCount::Static(1, 1, 1),
        CubeDim::new_1d(units),
        part.into_tensor_arg(),
        loss.clone().into_tensor_arg(),
        weight_grad.clone().into_tensor_arg(),
        bias_grad.clone().into_tensor_arg(),
        residual_sums.clone().into_tensor_arg(),
        u(cubes),
        u(d),
        u(m),
        float(count),
        has_bias,
        dtype.into(),
    );
    FusedOutput {
        loss,
        weight_grad: options.gradients.then_some(weight_grad),
        bias_grad: (options.gradients && has_bias).then_some(bias_grad),
        residual_sums: options.residual_sums.then_some(residual_sums),
    }
}
