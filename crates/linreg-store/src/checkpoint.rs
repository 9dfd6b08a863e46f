//! Checkpoints: a training run's [`TrainState`] on disk, to resume it bit for bit.
//!
//! A checkpoint is a directory `epoch-NNNNNNNNN` (epochs done, zero-padded so names sort) under
//! a run's `checkpoints/` folder, holding:
//!
//! - `model.mpk`: the model, Burn's named MessagePack record in the run's precision (f32, or
//!   f64 with `--precision f64`; parameter ids included);
//! - `optimizer.mpk`: the optimizer's record (momentum buffers, Adam's moments and step
//!   count), keyed by those ids;
//! - `best.mpk`: with early stopping, the best model yet;
//! - `state.json` ([`CheckpointMeta`]): the epochs done, the learning rate and the seed of the
//!   data order of the next epoch, the history logged so far, and what identifies the run (its
//!   configuration, columns, standardization and a fingerprint of its data), which resuming
//!   checks.
//!
//! The directory is written under a temporary name and renamed into place, so a checkpoint
//! is complete or absent; [`save_checkpoint`] then keeps only the newest ones.

use std::fs;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use linreg_data::{Split, Standardizer};
use linreg_model::{LrModelConfig, LrModelRecord};
use linreg_train::checkpoint::{BestModel, OptimizerRecord};
use linreg_train::{
    FusedAutodiffBackend, LogEntry, OptimizerKind, TrainConfig, TrainState, TrainStep,
};
use serde::{Deserialize, Serialize};

use crate::model::load_bytes;
use crate::record_guard;
use crate::{ParamsJson, StandardizationJson, StoreError};

/// The folder of a run's checkpoints, inside its output directory.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// The `format` field of `state.json`.
pub const CHECKPOINT_FORMAT: &str = "linreg-checkpoint";
/// The version of the checkpoint layout this build writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;
const STATE_FILE: &str = "state.json";
const MODEL_FILE: &str = "model.mpk";
const OPTIMIZER_FILE: &str = "optimizer.mpk";
const BEST_FILE: &str = "best.mpk";
/// The largest `state.json` read (its history of 10⁵ logged epochs is about 40 MB).
pub const MAX_STATE_BYTES: u64 = 256 << 20;
/// The largest record read from a checkpoint (a 16,000 × 16,000 model's Adam state).
pub const MAX_RECORD_BYTES: u64 = 4 << 30;

/// What makes a checkpoint belong to a run: a run resumes only from its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunIdentity {
    /// The training configuration.
    pub config: serde_json::Value,
    /// The model's shape.
    pub model: LrModelConfig,
    /// Feature columns.
    pub features: Vec<String>,
    /// Target columns.
    pub targets: Vec<String>,
    /// The standardization applied, if any.
    pub standardization: Option<StandardizationJson>,
    /// Rows and a hash of the training and test matrices as the model sees them.
    pub data: DataFingerprint,
}

impl RunIdentity {
    /// The identity of a run of `config` on `split` (standardized by `standardizer`).
    pub fn new(
        config: &TrainConfig,
        model: LrModelConfig,
        features: &[String],
        targets: &[String],
        standardizer: Option<&Standardizer>,
        split: &Split,
    ) -> Self {
        Self {
            config: serde_json::to_value(config).unwrap_or(serde_json::Value::Null),
            model,
            features: features.to_vec(),
            targets: targets.to_vec(),
            standardization: standardizer.map(|s| StandardizationJson {
                mean: s.mean.clone(),
                scale: s.scale.clone(),
            }),
            data: DataFingerprint::of(split),
        }
    }

    /// What differs from `other`, in words (empty when nothing does).
    pub fn differences(&self, other: &Self) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(a), Some(b)) = (self.config.as_object(), other.config.as_object()) {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let (x, y) = (a.get(k), b.get(k));
                if x != y {
                    let show = |v: Option<&serde_json::Value>| {
                        v.map_or("(absent)".to_string(), |v| v.to_string())
                    };
                    out.push(format!("{k} {} (the run has {})", show(x), show(y)));
                }
            }
        } else if self.config != other.config {
            out.push("the training configuration".into());
        }
        let shape = |m: &LrModelConfig| (m.d_input, m.d_output, m.bias);
        if shape(&self.model) != shape(&other.model) {
            out.push(format!(
                "a {}→{} model (the run has {}→{})",
                self.model.d_input, self.model.d_output, other.model.d_input, other.model.d_output
            ));
        }
        if self.features != other.features || self.targets != other.targets {
            out.push(format!(
                "features {:?} and targets {:?} (the run has {:?} and {:?})",
                self.features, self.targets, other.features, other.targets
            ));
        }
        if self.standardization != other.standardization {
            out.push("the standardization statistics".into());
        }
        if self.data != other.data {
            out.push(format!(
                "data of {} training and {} test rows with hash {} (the run has {}, {}, {})",
                self.data.train_rows,
                self.data.test_rows,
                self.data.hash,
                other.data.train_rows,
                other.data.test_rows,
                other.data.hash
            ));
        }
        out
    }
}

/// Row counts and a 64-bit FNV-1a hash of the f32 bit patterns of a split's four matrices
/// (training features, training targets, test features, test targets, each row-major).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFingerprint {
    /// Training rows.
    pub train_rows: usize,
    /// Test rows.
    pub test_rows: usize,
    /// The hash, as 16 hex digits.
    pub hash: String,
}

impl DataFingerprint {
    /// The fingerprint of `split`.
    pub fn of(split: &Split) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for m in [&split.train.x, &split.train.y, &split.test.x, &split.test.y] {
            for part in [m.rows() as u64, m.cols() as u64] {
                h = (h ^ part).wrapping_mul(0x0100_0000_01b3);
            }
            for v in m.values() {
                h = (h ^ u64::from(v.to_bits())).wrapping_mul(0x0100_0000_01b3);
            }
        }
        Self {
            train_rows: split.train.len(),
            test_rows: split.test.len(),
            hash: format!("{h:016x}"),
        }
    }
}

/// The data order of the next epoch: mini-batches come from a permutation seeded by
/// `seed ^ epoch · 0x9E3779B97F4A7C15` (linreg-train), so the seed and the epoch are the whole
/// state of the generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataOrder {
    /// The run's seed.
    pub seed: u64,
    /// The next epoch (0-based).
    pub next_epoch: usize,
}

/// The best model yet, with early stopping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestJson {
    /// The epoch after which it was taken.
    pub epoch: usize,
    /// Its test loss.
    pub test_loss: f64,
}

/// What a run records beside its state, and gets back on resuming.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// What identifies the run.
    pub identity: RunIdentity,
    /// The parameters it started from (for `summary.json`).
    pub initial: ParamsJson,
    /// Where they came from, in words.
    pub init: String,
}

/// `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Always `"linreg-checkpoint"`.
    pub format: String,
    /// The layout's version.
    pub version: u32,
    /// Epochs completed.
    pub epochs_done: usize,
    /// Epochs the run asks for.
    pub epochs: usize,
    /// The learning rate of the next epoch (the schedule's position).
    pub next_lr: f64,
    /// The data order of the next epoch.
    pub data_order: DataOrder,
    /// The optimizer whose state `optimizer.mpk` holds.
    pub optimizer: String,
    /// With early stopping, the best model yet (in `best.mpk`).
    pub best: Option<BestJson>,
    /// Every logged evaluation so far.
    pub history: Vec<LogEntry>,
    /// Training time so far, in seconds.
    pub seconds: f64,
    /// The run.
    pub run: RunRecord,
    /// The float type the records hold (`f32`, or `f64` for `--precision f64`); a run resumes
    /// only in the same one, so that it ends bit for bit as the uninterrupted run.
    #[serde(default = "crate::model::default_precision")]
    pub precision: String,
}

/// The directory name of the checkpoint after `epochs_done` epochs.
pub fn checkpoint_name(epochs_done: usize) -> String {
    format!("epoch-{epochs_done:09}")
}

fn epochs_of(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("epoch-")?;
    (digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn ck_err(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn encode<R: burn::record::Record<B>, B: Backend>(
    record: R,
    path: &Path,
) -> Result<Vec<u8>, StoreError> {
    crate::model::record_bytes::<B, R>(record)
        .map_err(|e| ck_err(path, format!("could not encode a record ({e})")))
}

/// Writes `state` as a checkpoint under `root` (created if missing), then deletes all but the
/// newest `keep` checkpoints there (and any of a later epoch, left by a run this one resumed
/// from an earlier point). Returns the checkpoint's directory.
pub fn save_checkpoint<B: FusedAutodiffBackend>(
    root: &Path,
    state: TrainState<B>,
    config: &TrainConfig,
    run: &RunRecord,
    keep: usize,
) -> Result<PathBuf, StoreError> {
    fs::create_dir_all(root).map_err(|source| StoreError::Write {
        path: root.to_path_buf(),
        source,
    })?;
    let name = checkpoint_name(state.epochs_done);
    let dir = root.join(&name);
    let meta = CheckpointMeta {
        format: CHECKPOINT_FORMAT.into(),
        version: CHECKPOINT_VERSION,
        epochs_done: state.epochs_done,
        epochs: config.epochs,
        next_lr: config
            .schedule
            .lr(config.lr, state.epochs_done, config.epochs),
        data_order: DataOrder {
            seed: config.seed,
            next_epoch: state.epochs_done,
        },
        optimizer: config.optimizer.name().into(),
        best: state.best.as_ref().map(|b| BestJson {
            epoch: b.epoch,
            test_loss: b.test_loss,
        }),
        history: state.history,
        seconds: state.seconds,
        run: run.clone(),
        precision: crate::precision_of::<B>().into(),
    };
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        (MODEL_FILE, encode(state.model, &dir)?),
        (
            OPTIMIZER_FILE,
            match state.optimizer {
                OptimizerRecord::Sgd(r) => encode::<_, B>(r, &dir)?,
                OptimizerRecord::TorchSgd(r) => encode::<_, B>(r, &dir)?,
                OptimizerRecord::Adam(r) => encode::<_, B>(r, &dir)?,
                OptimizerRecord::AdamW(r) => encode::<_, B>(r, &dir)?,
            },
        ),
    ];
    if let Some(best) = state.best {
        files.push((BEST_FILE, encode(best.model, &dir)?));
    }
    let state_json = serde_json::to_vec_pretty(&meta).map_err(StoreError::EncodeJson)?;
    files.push((STATE_FILE, state_json));

    // Staged under a hidden name, then renamed: a checkpoint is whole or absent.
    let tmp = root.join(format!(".{name}.{}.tmp", std::process::id()));
    let write_err = |path: &Path, source| StoreError::Write {
        path: path.to_path_buf(),
        source,
    };
    let _ = fs::remove_dir_all(&tmp);
    let staged = (|| {
        fs::create_dir(&tmp).map_err(|e| write_err(&tmp, e))?;
        for (file, bytes) in &files {
            fs::write(tmp.join(file), bytes).map_err(|e| write_err(&dir.join(file), e))?;
        }
        if dir.exists() {
            // The same epoch again (a resumed run): replace it.
            let old = root.join(format!(".{name}.{}.old", std::process::id()));
            fs::rename(&dir, &old).map_err(|e| write_err(&dir, e))?;
            let _ = fs::remove_dir_all(&old);
        }
        fs::rename(&tmp, &dir).map_err(|e| write_err(&dir, e))
    })();
    if let Err(e) = staged {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    prune(root, meta.epochs_done, keep.max(1));
    Ok(dir)
}

/// Deletes checkpoints in `root` after epoch `newest`, and all but the `keep` newest others.
fn prune(root: &Path, newest: usize, keep: usize) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    let mut found: Vec<(usize, PathBuf)> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let epochs = epochs_of(e.file_name().to_str()?)?;
            e.file_type().ok()?.is_dir().then(|| (epochs, e.path()))
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut kept = 0;
    for (epochs, path) in found {
        if epochs <= newest && kept < keep {
            kept += 1;
        } else {
            let _ = fs::remove_dir_all(path);
        }
    }
}

/// The checkpoint `path` names: a checkpoint directory, a `checkpoints/` folder (its newest
/// checkpoint), or a run's output directory (the newest in its `checkpoints/`).
pub fn find_checkpoint(path: &Path) -> Result<PathBuf, StoreError> {
    if path.join(STATE_FILE).is_file() {
        return Ok(path.to_path_buf());
    }
    let newest_in = |dir: &Path| -> Option<PathBuf> {
        let mut found: Vec<(usize, PathBuf)> = fs::read_dir(dir)
            .ok()?
            .filter_map(|e| {
                let e = e.ok()?;
                let epochs = epochs_of(e.file_name().to_str()?)?;
                e.path()
                    .join(STATE_FILE)
                    .is_file()
                    .then(|| (epochs, e.path()))
            })
            .collect();
        found.sort_by_key(|f| std::cmp::Reverse(f.0));
        found.into_iter().next().map(|(_, p)| p)
    };
    newest_in(path)
        .or_else(|| newest_in(&path.join(CHECKPOINTS_DIR)))
        .ok_or_else(|| StoreError::NoCheckpoint {
            path: path.to_path_buf(),
        })
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, StoreError> {
    let len = fs::metadata(path)
        .map_err(|e| ck_err(path, format!("could not be read ({e})")))?
        .len();
    if len > limit {
        return Err(ck_err(
            path,
            format!("is {len} bytes, more than the {limit} a checkpoint file may have"),
        ));
    }
    fs::read(path).map_err(|e| ck_err(path, format!("could not be read ({e})")))
}

/// A model record checked against the model's shape before Burn decodes it, with its
/// parameters' ids and shapes.
#[allow(clippy::type_complexity)]
fn load_model_record<B: Backend>(
    path: &Path,
    shape: &LrModelConfig,
    device: &B::Device,
) -> Result<(LrModelRecord<B>, Vec<(String, Vec<usize>)>), StoreError> {
    let bytes = read_limited(path, MAX_RECORD_BYTES)?;
    let params = record_guard::check_model(&bytes, shape).map_err(|r| ck_err(path, r))?;
    let record = crate::model::load_bytes::<B, _>(bytes, device)
        .map_err(|e| ck_err(path, format!("is not a model record ({e})")))?;
    Ok((record, params))
}

/// Parses and checks `state.json`'s bytes; `path` names it in errors.
pub fn parse_checkpoint_meta(bytes: &[u8], path: &Path) -> Result<CheckpointMeta, StoreError> {
    let meta: CheckpointMeta = serde_json::from_slice(bytes).map_err(|e| {
        ck_err(
            path,
            format!("is not a linreg checkpoint description ({e})"),
        )
    })?;
    if meta.format != CHECKPOINT_FORMAT || meta.version != CHECKPOINT_VERSION {
        return Err(ck_err(
            path,
            format!(
                "has format {:?} version {}; this linreg reads {CHECKPOINT_FORMAT:?} version {CHECKPOINT_VERSION}",
                meta.format, meta.version
            ),
        ));
    }
    let config: TrainConfig =
        serde_json::from_value(meta.run.identity.config.clone()).map_err(|e| {
            ck_err(
                path,
                format!("has an unreadable training configuration ({e})"),
            )
        })?;
    let model = &meta.run.identity.model;
    let best_ok = match (&meta.best, config.patience) {
        (None, _) => true,
        (Some(b), Some(_)) => b.epoch < meta.epochs_done && !b.test_loss.is_nan(),
        (Some(_), None) => false,
    };
    let consistent = config.validate().is_ok()
        && model.validate().is_ok()
        && meta.epochs == config.epochs
        && meta.epochs_done <= config.epochs
        && meta.optimizer == config.optimizer.name()
        && meta.data_order.next_epoch == meta.epochs_done
        && meta.data_order.seed == config.seed
        && meta.history.iter().all(|e| e.epoch < meta.epochs_done)
        && meta.seconds.is_finite()
        && best_ok;
    if !consistent {
        return Err(ck_err(
            path,
            "is inconsistent (its epochs, optimizer, history or configuration do not agree)",
        ));
    }
    Ok(meta)
}

/// Loads the checkpoint in `dir` (see [`find_checkpoint`]) onto `device`: the state to pass to
/// [`train_checkpointed`](linreg_train::train_checkpointed), and its description.
pub fn load_checkpoint<B: FusedAutodiffBackend>(
    dir: &Path,
    device: &B::Device,
) -> Result<(TrainState<B>, CheckpointMeta), StoreError> {
    let state_path = dir.join(STATE_FILE);
    let meta = parse_checkpoint_meta(&read_limited(&state_path, MAX_STATE_BYTES)?, &state_path)?;
    let precision = crate::precision_of::<B>();
    if meta.precision != precision {
        return Err(ck_err(
            &state_path,
            format!(
                "holds {} records, but this run trains in {precision}: resume with{} --precision {}",
                meta.precision,
                if meta.precision == "f64" { "" } else { "out" },
                meta.precision
            ),
        ));
    }
    let config: TrainConfig = serde_json::from_value(meta.run.identity.config.clone())
        .map_err(|e| ck_err(&state_path, e.to_string()))?;
    let shape = &meta.run.identity.model;
    let (record, params) = load_model_record::<B>(&dir.join(MODEL_FILE), shape, device)?;
    let best = match &meta.best {
        None => None,
        Some(b) => Some(BestModel {
            test_loss: b.test_loss,
            epoch: b.epoch,
            model: load_model_record::<B::InnerBackend>(&dir.join(BEST_FILE), shape, device)?.0,
        }),
    };
    let opt_path = dir.join(OPTIMIZER_FILE);
    let opt_bytes = read_limited(&opt_path, MAX_RECORD_BYTES)?;
    record_guard::check_optimizer(&opt_bytes, &params).map_err(|r| ck_err(&opt_path, r))?;
    let bad_opt = |e: burn::record::RecorderError| {
        ck_err(
            &opt_path,
            format!("is not the state of a {} optimizer ({e})", meta.optimizer),
        )
    };
    // The fused step trains with SGD rounded as PyTorch rounds; the plain step with Burn's.
    let optimizer = match config.optimizer {
        OptimizerKind::Sgd if config.train_step == TrainStep::Fused => {
            OptimizerRecord::TorchSgd(load_bytes(opt_bytes, device).map_err(bad_opt)?)
        }
        OptimizerKind::Sgd => OptimizerRecord::Sgd(load_bytes(opt_bytes, device).map_err(bad_opt)?),
        OptimizerKind::Adam => {
            OptimizerRecord::Adam(load_bytes(opt_bytes, device).map_err(bad_opt)?)
        }
        OptimizerKind::AdamW => {
            OptimizerRecord::AdamW(load_bytes(opt_bytes, device).map_err(bad_opt)?)
        }
    };
    let state = TrainState {
        epochs_done: meta.epochs_done,
        model: record,
        optimizer,
        best,
        history: meta.history.clone(),
        seconds: meta.seconds,
    };
    Ok((state, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::tmp;
    use crate::ModelRecorder;
    use burn::backend::{Autodiff, NdArray};
    use burn::record::Recorder;
    use linreg_data::{LineSpec, Split};
    use linreg_train::{train_checkpointed, Checkpoint, Checkpointer};

    type B = Autodiff<NdArray>;

    /// Saves the state at the epochs listed, into `root`.
    struct SaveAt<'a> {
        at: Vec<usize>,
        root: &'a Path,
        config: &'a TrainConfig,
        run: &'a RunRecord,
    }

    impl Checkpointer<B> for SaveAt<'_> {
        fn after_epoch(&mut self, epochs_done: usize) -> Checkpoint {
            if self.at.contains(&epochs_done) {
                Checkpoint::Save
            } else {
                Checkpoint::Continue
            }
        }
        fn save(&mut self, state: TrainState<B>) -> Result<(), String> {
            save_checkpoint(self.root, state, self.config, self.run, 2)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    }

    fn setup() -> (Split, TrainConfig, RunRecord) {
        let split = Split::ordered(LineSpec::default().generate().unwrap(), 0.8).unwrap();
        let config = TrainConfig::new()
            .with_optimizer(OptimizerKind::Adam)
            .with_epochs(12)
            .with_log_every(2)
            .with_patience(Some(50));
        let model = LrModelConfig::new();
        let run = RunRecord {
            identity: RunIdentity::new(&config, model, &["x".into()], &["y".into()], None, &split),
            initial: ParamsJson {
                weight: vec![vec![0.5]],
                bias: vec![0.0],
            },
            init: "test".into(),
        };
        (split, config, run)
    }

    /// A fixed start, so the run (and its best epoch) is the same on every build.
    fn model() -> linreg_model::LrModel<B> {
        LrModelConfig::new()
            .init::<B>(&Default::default())
            .with_params(&linreg_model::LinearParams {
                weight: vec![vec![0.3]],
                bias: vec![-0.4],
            })
            .unwrap()
    }

    #[test]
    fn a_saved_checkpoint_resumes_exactly_and_only_the_newest_are_kept() {
        let root = tmp("ckpt-roundtrip");
        let (split, config, run) = setup();
        let device = Default::default();
        let mut saver = SaveAt {
            at: vec![3, 5, 8],
            root: &root,
            config: &config,
            run: &run,
        };
        let start = model();
        let full = train_checkpointed(
            start.clone(),
            &split,
            &config,
            &device,
            &mut (),
            &mut saver,
            None,
        )
        .unwrap();
        let mut names: Vec<_> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["epoch-000000005", "epoch-000000008"]);
        // The root finds the newest; the history survives JSON exactly.
        let dir = find_checkpoint(&root).unwrap();
        assert!(dir.ends_with("epoch-000000008"));
        let (state, meta) = load_checkpoint::<B>(&dir, &device).unwrap();
        assert_eq!(meta.epochs_done, 8);
        assert_eq!(meta.next_lr, 0.01);
        let best = meta.best.as_ref().expect("patience keeps a best model");
        assert!(best.epoch < 8, "{best:?}");
        assert_eq!(state.history, full.history[..4]);
        assert_eq!(
            meta.run.identity.differences(&run.identity),
            Vec::<String>::new()
        );
        let resumed = train_checkpointed(
            start,
            &split,
            &config,
            &device,
            &mut (),
            &mut (),
            Some(state),
        )
        .unwrap();
        assert_eq!(resumed.model.params(), full.model.params());
        assert_eq!(resumed.history, full.history);
        // Resuming from an earlier point and saving there drops the later, stale checkpoint.
        let mut again = SaveAt {
            at: vec![6],
            root: &root,
            config: &config,
            run: &run,
        };
        let (state, _) = load_checkpoint::<B>(&root.join("epoch-000000005"), &device).unwrap();
        train_checkpointed(
            model(),
            &split,
            &config,
            &device,
            &mut (),
            &mut again,
            Some(state),
        )
        .unwrap();
        let mut names: Vec<_> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["epoch-000000005", "epoch-000000006"]);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn damaged_checkpoints_are_refused() {
        let root = tmp("ckpt-damaged");
        let (split, config, run) = setup();
        let device = Default::default();
        let mut saver = SaveAt {
            at: vec![4],
            root: &root,
            config: &config,
            run: &run,
        };
        train_checkpointed(model(), &split, &config, &device, &mut (), &mut saver, None).unwrap();
        let dir = root.join("epoch-000000004");
        let state = fs::read_to_string(dir.join(STATE_FILE)).unwrap();
        let refuse = |what: &str, file: &str, bytes: &[u8], want: &str| {
            let good = fs::read(dir.join(file)).unwrap();
            fs::write(dir.join(file), bytes).unwrap();
            let err = match load_checkpoint::<B>(&dir, &device) {
                Ok(_) => panic!("{what}: loaded"),
                Err(e) => e.to_string(),
            };
            fs::write(dir.join(file), good).unwrap();
            assert!(err.contains(want), "{what}: {err}");
        };
        refuse(
            "not JSON",
            STATE_FILE,
            b"{",
            "is not a linreg checkpoint description",
        );
        refuse(
            "epochs beyond the run",
            STATE_FILE,
            state
                .replace("\"epochs_done\": 4", "\"epochs_done\": 40")
                .as_bytes(),
            "is inconsistent",
        );
        refuse("garbage record", MODEL_FILE, b"\x93\x01", "model.mpk");
        let other = ModelRecorder::default()
            .record(
                LrModelConfig::new()
                    .with_d_input(2)
                    .init::<B>(&device)
                    .into_record(),
                (),
            )
            .unwrap();
        refuse(
            "another shape",
            MODEL_FILE,
            &other,
            "holds a weight of shape [2, 1], but the model's is [1, 1]",
        );
        // Adam's state of another model: its ids are not this model's.
        let mut other_run = SaveAt {
            at: vec![4],
            root: &root.join("other"),
            config: &config,
            run: &run,
        };
        train_checkpointed(
            model(),
            &split,
            &config,
            &device,
            &mut (),
            &mut other_run,
            None,
        )
        .unwrap();
        let foreign = fs::read(root.join("other/epoch-000000004").join(OPTIMIZER_FILE)).unwrap();
        refuse(
            "foreign optimizer",
            OPTIMIZER_FILE,
            &foreign,
            "holds state for a parameter",
        );
        assert!(matches!(
            find_checkpoint(&root.join("nothing")),
            Err(StoreError::NoCheckpoint { .. })
        ));
        fs::remove_dir_all(root).unwrap();
    }
}
