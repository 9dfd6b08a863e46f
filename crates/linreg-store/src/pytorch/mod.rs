//! PyTorch's files: a `.pth` state_dict (read) and safetensors (read and write), through
//! burn-store, with the keys PyTorch's `LrModel` uses: `linear.weight` (`[out, in]`) and
//! `linear.bias` (`[out]`).
//!
//! Reading goes through burn-store's `PytorchStore` or `SafetensorsStore`, which parse the file
//! into tensor snapshots; linreg checks their names, types and shapes, then applies them to a
//! fresh [`LrModel`] with [`ModuleSnapshot::apply`] and burn-store's `PyTorchToBurnAdapter`,
//! which transposes the weight into Burn's `[in, out]`. Writing collects the model with
//! `BurnToPyTorchAdapter`, so the file is what `nn.Linear.state_dict()` would hold.

pub mod guard;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Read;
use std::path::Path;

use burn::module::ParamId;
use burn::prelude::*;
use burn::tensor::{bf16, f16, DType};
use burn_store::{
    BurnToPyTorchAdapter, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, PytorchStore,
    SafetensorsStore, TensorSnapshot,
};
use linreg_model::{LinearParams, LrModel, LrModelConfig};

use crate::StoreError;

/// File name of the model in safetensors, beside `model.mpk`.
pub const SAFETENSORS_FILE: &str = "model.safetensors";
/// The largest weights file linreg reads (a 16,000 × 16,000 float32 layer is 1 GiB).
pub const MAX_WEIGHTS_BYTES: u64 = 1 << 30;
/// The key of the weight, `[out, in]`.
pub const WEIGHT_KEY: &str = "linear.weight";
/// The key of the bias, `[out]`.
pub const BIAS_KEY: &str = "linear.bias";

/// The formats of [`load_weights`], told apart by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFormat {
    /// `torch.save(model.state_dict(), "x.pth")` (`.pth` or `.pt`): a zip holding a pickle.
    Pth,
    /// `safetensors.torch.save_file(state_dict, "x.safetensors")`.
    Safetensors,
}

impl WeightsFormat {
    /// The format of `path` by its extension (`.pth`, `.pt`, `.safetensors`), if it is one.
    pub fn of(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "pth" | "pt" => Some(Self::Pth),
            "safetensors" => Some(Self::Safetensors),
            _ => None,
        }
    }
}

/// Loads the linear layer saved in a PyTorch `.pth` state_dict or a safetensors file.
///
/// With `expect`, the file must hold a layer of exactly that shape (inputs, outputs, bias);
/// without, the model takes the file's shape. The file must hold `linear.weight` and, for a
/// model with bias, `linear.bias`, and nothing else, in a floating-point type (float64, float16
/// and bfloat16 are rounded to float32, as `load_state_dict` does into a float32 model).
pub fn load_weights<B: Backend>(
    path: &Path,
    expect: Option<&LrModelConfig>,
    device: &B::Device,
) -> Result<LrModel<B>, StoreError> {
    let format = WeightsFormat::of(path).ok_or_else(|| StoreError::UnknownWeightsFormat {
        path: path.to_path_buf(),
    })?;
    let bytes = read_bounded(path)?;
    let not_weights = |reason: String| StoreError::NotWeights {
        path: path.to_path_buf(),
        reason,
    };
    let (snapshots, storages) = match format {
        WeightsFormat::Pth => {
            let checked = guard::check(&bytes).map_err(not_weights)?;
            // The checks above read the same file; burn-store reads it again by path.
            let mut store = PytorchStore::from_file(path).map_indices_contiguous(false);
            let snapshots = store
                .get_all_snapshots()
                .map_err(|e| not_weights(format!("is not a state_dict burn-store can read ({e})")))?
                .clone();
            (snapshots, Some(checked.storages))
        }
        WeightsFormat::Safetensors => {
            let mut store = SafetensorsStore::from_bytes(Some(bytes.clone()));
            let snapshots = store
                .get_all_snapshots()
                .map_err(|e| not_weights(format!("is not a safetensors file ({e})")))?
                .clone();
            (snapshots, None)
        }
    };
    let params = linear_params(path, &snapshots, bytes.len(), storages.as_ref())?;
    build_model(path, params, expect, device)
}

/// Reads a whole file, refusing one larger than [`MAX_WEIGHTS_BYTES`] before reading it.
fn read_bounded(path: &Path) -> Result<Vec<u8>, StoreError> {
    let read_err = |source| StoreError::ReadWeights {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(read_err)?;
    let len = file.metadata().map_err(read_err)?.len();
    if len > MAX_WEIGHTS_BYTES {
        return Err(StoreError::WeightsTooLarge {
            path: path.to_path_buf(),
            bytes: len,
        });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_WEIGHTS_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_WEIGHTS_BYTES {
        return Err(StoreError::WeightsTooLarge {
            path: path.to_path_buf(),
            bytes: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

/// Checks the snapshots' names, types and shapes, and reads their values.
fn linear_params(
    path: &Path,
    snapshots: &BTreeMap<String, TensorSnapshot>,
    file_len: usize,
    storages: Option<&HashMap<String, Vec<u8>>>,
) -> Result<LinearParams, StoreError> {
    let found: Vec<String> = snapshots.keys().cloned().collect();
    let unexpected: Vec<String> = found
        .iter()
        .filter(|k| *k != WEIGHT_KEY && *k != BIAS_KEY)
        .cloned()
        .collect();
    let weight = snapshots.get(WEIGHT_KEY);
    if weight.is_none() || !unexpected.is_empty() {
        return Err(StoreError::WrongKeys {
            path: path.to_path_buf(),
            found,
        });
    }
    let bad = |key: &str, problem: String| StoreError::BadTensor {
        path: path.to_path_buf(),
        key: key.to_string(),
        problem,
    };
    let weight = weight.expect("checked above");
    let dims = weight.shape.as_slice().to_vec();
    let [d_out, d_in] = dims[..] else {
        return Err(bad(
            WEIGHT_KEY,
            format!("has shape {dims:?}; a linear layer's weight is [out, in]"),
        ));
    };
    let weight_values =
        tensor_values(path, WEIGHT_KEY, weight, &[d_out, d_in], file_len, storages)?;
    let bias = match snapshots.get(BIAS_KEY) {
        None => Vec::new(),
        Some(b) => {
            let dims = b.shape.as_slice().to_vec();
            if dims != [d_out] {
                return Err(bad(
                    BIAS_KEY,
                    format!("has shape {dims:?}; with linear.weight [{d_out}, {d_in}] it must be [{d_out}]"),
                ));
            }
            tensor_values(path, BIAS_KEY, b, &[d_out], file_len, storages)?
        }
    };
    Ok(LinearParams {
        weight: weight_values.chunks(d_in).map(<[f32]>::to_vec).collect(),
        bias,
    })
}

/// One tensor's values as f32, after checking its type and size and, for a `.pth`, that its
/// bytes are one whole storage of the archive (burn-store's reader does not read strides and
/// fills a storage too short for the shape with zeros, so anything else is refused).
fn tensor_values(
    path: &Path,
    key: &str,
    snapshot: &TensorSnapshot,
    dims: &[usize],
    file_len: usize,
    storages: Option<&HashMap<String, Vec<u8>>>,
) -> Result<Vec<f32>, StoreError> {
    let bad = |problem: String| StoreError::BadTensor {
        path: path.to_path_buf(),
        key: key.to_string(),
        problem,
    };
    let size = match snapshot.dtype {
        DType::F32 => 4,
        DType::F64 => 8,
        DType::F16 | DType::BF16 => 2,
        other => {
            return Err(bad(format!(
                "is of type {other:?}; linreg reads floating-point tensors (float32, float64, float16, bfloat16)"
            )))
        }
    };
    let count = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let bytes_needed = count.and_then(|n| n.checked_mul(size));
    let Some(bytes_needed) = bytes_needed.filter(|&b| b > 0 && b <= file_len) else {
        return Err(bad(format!(
            "has shape {dims:?}, which is empty or larger than the file holds"
        )));
    };
    let data = snapshot
        .to_data()
        .map_err(|e| bad(format!("could not be read ({e:?})")))?;
    let raw = data.as_bytes();
    if data.dtype != snapshot.dtype || raw.len() != bytes_needed {
        return Err(bad(format!(
            "holds {} bytes of {:?}; its shape {dims:?} needs {bytes_needed}",
            raw.len(),
            data.dtype
        )));
    }
    if let Some(storages) = storages {
        if !storages.values().any(|s| s.as_slice() == raw) {
            return Err(bad(
                "is not one whole, contiguous storage of the archive (a view or a slice of a larger tensor); \
                 save a copy with {k: v.contiguous().clone() for k, v in state_dict.items()}"
                    .into(),
            ));
        }
    }
    let values: Vec<f32> = match snapshot.dtype {
        DType::F32 => raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        DType::F64 => raw
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                f64::from_le_bytes(a) as f32
            })
            .collect(),
        DType::F16 => raw
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        _ => raw
            .chunks_exact(2)
            .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
    };
    if values.iter().any(|v| !v.is_finite()) {
        return Err(bad(
            "holds NaN or infinite values (or float64 values beyond float32's range)".into(),
        ));
    }
    Ok(values)
}

/// A model of the file's shape (or the expected one) holding `params`, applied with
/// burn-store's PyTorch adapter.
fn build_model<B: Backend>(
    path: &Path,
    params: LinearParams,
    expect: Option<&LrModelConfig>,
    device: &B::Device,
) -> Result<LrModel<B>, StoreError> {
    let (d_out, d_in) = (params.weight.len(), params.weight[0].len());
    let found = LrModelConfig::new()
        .with_d_input(d_in)
        .with_d_output(d_out)
        .with_bias(!params.bias.is_empty());
    if let Some(want) = expect {
        if (want.d_input, want.d_output, want.bias) != (d_in, d_out, found.bias) {
            return Err(StoreError::ShapeDoesNotFit {
                path: path.to_path_buf(),
                found: describe(&found),
                expected: describe(want),
            });
        }
    }
    let mut model = found.init::<B>(device);
    let snapshot = |key: &str, data: TensorData| {
        let path_stack = key.split('.').map(str::to_string).collect();
        TensorSnapshot::from_data(data, path_stack, Vec::new(), ParamId::new())
    };
    let mut snapshots = vec![snapshot(
        WEIGHT_KEY,
        TensorData::new(params.weight.concat(), [d_out, d_in]),
    )];
    if found.bias {
        snapshots.push(snapshot(
            BIAS_KEY,
            TensorData::new(params.bias.clone(), [d_out]),
        ));
    }
    let result = model.apply(snapshots, None, Some(Box::new(PyTorchToBurnAdapter)), false);
    // The adapter must have transposed and applied both tensors; the read-back proves it.
    if !result.errors.is_empty()
        || !result.missing.is_empty()
        || !result.unused.is_empty()
        || model.params() != params
    {
        return Err(StoreError::NotWeights {
            path: path.to_path_buf(),
            reason: format!("could not be applied to a linear model ({result})"),
        });
    }
    Ok(model)
}

/// `2→1 (with bias)`.
fn describe(c: &LrModelConfig) -> String {
    format!(
        "{}→{} layer ({} bias)",
        c.d_input,
        c.d_output,
        if c.bias { "with" } else { "without" }
    )
}

/// The model as a safetensors file in PyTorch's layout (`linear.weight` `[out, in]`,
/// `linear.bias`), float32, that `safetensors.torch.load_file` reads into `nn.Linear`.
pub fn encode_safetensors<B: Backend>(model: &LrModel<B>) -> Result<Vec<u8>, StoreError> {
    let mut store = SafetensorsStore::from_bytes(None)
        .with_to_adapter(BurnToPyTorchAdapter)
        // One metadata entry, so the header (written from a hash map) is the same every time:
        // the convention of PyTorch's tools for tensors in PyTorch's own layout.
        .clear_metadata()
        .metadata("format", "pt");
    model
        .save_into(&mut store)
        .map_err(|e| StoreError::EncodeWeights(e.to_string()))?;
    store
        .get_bytes()
        .map_err(|e| StoreError::EncodeWeights(e.to_string()))
}

/// Whether `path` names a weights file [`load_weights`] reads (rather than a directory a run
/// wrote, which [`crate::load_model`] reads).
pub fn is_weights_path(path: &Path) -> bool {
    !path.is_dir() && WeightsFormat::of(path).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::tmp;
    use burn::backend::NdArray;
    use std::path::PathBuf;

    type B = NdArray;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(name)
    }

    fn load(name: &str, expect: Option<&LrModelConfig>) -> Result<LrModel<B>, StoreError> {
        load_weights::<B>(&fixture(name), expect, &Default::default())
    }

    /// The layer `tools/pytorch_fixtures.py` saves: non-square, so a missing transpose shows.
    fn three_by_two() -> LinearParams {
        LinearParams {
            weight: vec![vec![0.5, -1.25, 2.0], vec![0.125, 3.0, -0.75]],
            bias: vec![0.25, -0.5],
        }
    }

    fn forward(model: &LrModel<B>, x: [f32; 3]) -> Vec<f32> {
        let x = Tensor::<B, 2>::from_floats([x], &Default::default());
        model.forward(x).into_data().to_vec().unwrap()
    }

    #[test]
    fn the_tutorials_pth_holds_pytorchs_trained_parameters() {
        let model = load("lr_model_seed42.pth", Some(&LrModelConfig::new())).unwrap();
        let p = model.params();
        // What PyTorch's `.item()` reports for the saved model (shared reference trace).
        assert_eq!(f64::from(p.weight[0][0]), 0.798_669_695_854_187);
        assert_eq!(f64::from(p.bias[0]), 0.209_509_015_083_313);
    }

    #[test]
    fn a_non_square_layer_is_transposed_into_burns_layout() {
        for name in [
            "pytorch/linear_3x2.pth",
            "pytorch/linear_3x2.safetensors",
            "pytorch/linear_3x2_f64.pth",
        ] {
            let model = load(name, None).unwrap();
            assert_eq!(model.params(), three_by_two(), "{name}");
            assert_eq!((model.d_input(), model.d_output()), (3, 2), "{name}");
            // By hand: [0.5 − 2.5 + 6 + 0.25, 0.125 + 6 − 2.25 − 0.5].
            assert_eq!(
                forward(&model, [1.0, 2.0, 3.0]),
                vec![4.25, 3.375],
                "{name}"
            );
        }
    }

    #[test]
    fn a_layer_without_bias_loads_as_one() {
        let model = load("pytorch/no_bias.pth", None).unwrap();
        assert!(!model.config().bias);
        assert_eq!(model.params().weight, three_by_two().weight);
        let want = LrModelConfig::new().with_d_input(3).with_d_output(2);
        let err = load("pytorch/no_bias.pth", Some(&want)).unwrap_err();
        assert!(matches!(err, StoreError::ShapeDoesNotFit { .. }), "{err}");
        assert!(
            err.to_string().contains(
                "holds a 3→2 layer (without bias), but this model needs a 3→2 layer (with bias)"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_layer_of_another_shape_is_refused() {
        let err = load("pytorch/linear_3x2.pth", Some(&LrModelConfig::new())).unwrap_err();
        assert!(
            err.to_string()
                .contains("3→2 layer (with bias), but this model needs a 1→1"),
            "{err}"
        );
    }

    #[test]
    fn wrong_keys_are_named() {
        let err = load("pytorch/extra_key.pth", None).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StoreError::WrongKeys { .. }), "{text}");
        assert!(
            text.contains("holds linear.bias, linear.weight, scale"),
            "{text}"
        );
        let text = load("pytorch/renamed.pth", None).unwrap_err().to_string();
        assert!(
            text.contains("holds fc.bias, fc.weight; linreg reads"),
            "{text}"
        );
        let text = load("pytorch/checkpoint.pth", None)
            .unwrap_err()
            .to_string();
        assert!(text.contains("training checkpoint"), "{text}");
    }

    #[test]
    fn files_that_are_not_state_dicts_are_refused_in_one_sentence() {
        let err = load("pytorch/whole_model.pth", None).unwrap_err();
        assert!(matches!(err, StoreError::NotWeights { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("torch.save(model.state_dict(), PATH)"),
            "{err}"
        );
        // A safetensors file is not a .pth, and the other way round.
        let dir = tmp("swapped");
        let fake = dir.join("model.pth");
        fs::copy(fixture("pytorch/linear_3x2.safetensors"), &fake).unwrap();
        let err = load_weights::<B>(&fake, None, &Default::default()).unwrap_err();
        assert!(err.to_string().contains("is not a zip archive"), "{err}");
        let fake = dir.join("model.safetensors");
        fs::copy(fixture("pytorch/linear_3x2.pth"), &fake).unwrap();
        let err = load_weights::<B>(&fake, None, &Default::default()).unwrap_err();
        assert!(
            err.to_string().contains("is not a safetensors file"),
            "{err}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_tensors_are_named() {
        let cases = [
            ("pytorch/int_weight.pth", "linear.weight is of type I64"),
            ("pytorch/nan_weight.safetensors", "linear.weight holds NaN"),
            (
                "pytorch/vector_weight.safetensors",
                "linear.weight has shape [3]",
            ),
        ];
        for (name, want) in cases {
            let err = load(name, None).unwrap_err();
            assert!(matches!(err, StoreError::BadTensor { .. }), "{name}: {err}");
            assert!(err.to_string().contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn other_extensions_and_huge_files_are_refused_before_reading() {
        let dir = tmp("ext");
        let csv = dir.join("model.csv");
        fs::write(&csv, b"x").unwrap();
        let err = load_weights::<B>(&csv, None, &Default::default()).unwrap_err();
        assert!(
            matches!(err, StoreError::UnknownWeightsFormat { .. }),
            "{err}"
        );
        // A sparse file one byte over the limit: refused by its size, never read.
        let big = dir.join("big.safetensors");
        fs::File::create(&big)
            .unwrap()
            .set_len(MAX_WEIGHTS_BYTES + 1)
            .unwrap();
        let err = load_weights::<B>(&big, None, &Default::default()).unwrap_err();
        assert!(matches!(err, StoreError::WeightsTooLarge { .. }), "{err}");
        let missing = dir.join("missing.pth");
        let err = load_weights::<B>(&missing, None, &Default::default()).unwrap_err();
        assert!(matches!(err, StoreError::ReadWeights { .. }), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn safetensors_out_is_pytorchs_layout_and_loads_back_exactly() {
        let model = LrModelConfig::new()
            .with_d_input(3)
            .with_d_output(2)
            .init::<B>(&Default::default())
            .with_params(&three_by_two())
            .unwrap();
        let bytes = encode_safetensors(&model).unwrap();
        // The header (after its 8-byte length) names PyTorch's shapes: weight [out, in].
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        assert_eq!(header["linear.weight"]["shape"], serde_json::json!([2, 3]));
        assert_eq!(header["linear.weight"]["dtype"], "F32");
        assert_eq!(header["linear.bias"]["shape"], serde_json::json!([2]));
        // Row-major [out, in]: the first row of PyTorch's weight comes first.
        let [start, _] =
            [0, 1].map(|i| header["linear.weight"]["data_offsets"][i].as_u64().unwrap());
        let first = 8 + n + start as usize;
        assert_eq!(bytes[first..first + 4], 0.5f32.to_le_bytes());
        assert_eq!(bytes[first + 4..first + 8], (-1.25f32).to_le_bytes());
        let dir = tmp("st-roundtrip");
        let path = dir.join(SAFETENSORS_FILE);
        fs::write(&path, &bytes).unwrap();
        let loaded = load_weights::<B>(&path, None, &Default::default()).unwrap();
        assert_eq!(loaded.params(), three_by_two());
        fs::remove_dir_all(dir).unwrap();
    }
}
