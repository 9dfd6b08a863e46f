//! Fuzzing every loader linreg reads files with: no input may panic, hang, or allocate more
//! than a stated bound.
//!
//! One campaign per format, each from valid seed files (fixed parameters; Burn draws the
//! parameter ids of the seed records) mutated by a seeded engine (`fuzz/mutate.rs`: bit flips, interesting integers, cut, repeated and spliced ranges, and
//! for text formats numbers and lines), plus random bytes, and for `.pth` and safetensors
//! mutations of the inner parts (the pickle, the tensors, the header) re-wrapped in a valid
//! container so that they reach the parsers behind the checksums:
//!
//! | campaign | loader |
//! |---|---|
//! | `model` | `load_model` (`model.json` + `model.mpk`) |
//! | `pth` | `load_weights` on a `.pth` (guard, burn-store's `PytorchStore`, checks) |
//! | `safetensors` | `load_weights` on a `.safetensors` |
//! | `checkpoint` | `load_checkpoint` (`state.json`, `model.mpk`, `optimizer.mpk`, `best.mpk`), then resuming training from what loads |
//! | `csv` | linreg-data's `read_table` |
//!
//! The allocator is capped while each input is loaded: an allocation beyond
//! [`ALLOCATION_BOUND`] + 16 × the input's size aborts the run (the input is left in the
//! campaign's directory, `/dev/shm/linreg-fuzz-PID-NAME` or under the temporary directory). A panic is caught, its input
//! saved under `target/fuzz-findings/`, and the campaign fails.
//!
//! `cargo test` runs a short pass (`LINREG_FUZZ_INPUTS`, default 300 inputs per campaign). The
//! long run recorded in BENCHMARKS.md:
//!
//! ```sh
//! LINREG_FUZZ_INPUTS=1000000 cargo test --release -p linreg-store --test fuzz_loaders -- --nocapture --test-threads 1
//! ```

#[path = "fuzz/mutate.rs"]
mod mutate;

use std::fs;
use std::io::{Cursor, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use burn::backend::{Autodiff, NdArray};
use linreg_data::{Columns, CsvOptions, LineSpec, Split};
use linreg_model::{LinearParams, LrModelConfig};
use linreg_store::checkpoint::{load_checkpoint, save_checkpoint, RunIdentity, RunRecord};
use linreg_store::{load_model, load_weights, save_model, ModelInfo, ParamsJson};
use linreg_train::{
    train_checkpointed, Checkpoint, Checkpointer, OptimizerKind, Schedule, TrainConfig, TrainState,
};
use mutate::Mutator;

type B = NdArray;
type A = Autodiff<NdArray>;

/// The system allocator, counted (current and peak use) and capped.
#[global_allocator]
static ALLOC: cap::Cap<peak_alloc::PeakAlloc> = cap::Cap::new(peak_alloc::PeakAlloc, usize::MAX);
/// The counter inside [`ALLOC`].
static PEAK: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

/// Heap a loader may take beyond 16 bytes per input byte.
const ALLOCATION_BOUND: usize = 256 << 20;

/// Campaigns run one at a time: the allocator's cap is global.
static SERIAL: Mutex<()> = Mutex::new(());

fn inputs() -> usize {
    std::env::var("LINREG_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// A campaign's working directory: in memory (`/dev/shm`) where there is one, since each
/// input is written to a file and rewriting files on a disk costs more than loading them;
/// `LINREG_FUZZ_DIR` chooses another place.
fn workdir(name: &str) -> PathBuf {
    let base = std::env::var_os("LINREG_FUZZ_DIR")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("linreg-fuzz-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `n` inputs from `make` through `load`; fails on any panic.
fn campaign(
    name: &str,
    n: usize,
    mut make: impl FnMut(&mut Mutator, usize) -> Vec<Vec<u8>>,
    mut load: impl FnMut(&[Vec<u8>]) -> bool,
) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut m = Mutator::new(0x11ce_5eed ^ name.bytes().map(u64::from).sum::<u64>());
    let (mut accepted, mut panics) = (0usize, Vec::new());
    let (mut slowest, mut largest) = (Duration::ZERO, 0usize);
    let start = Instant::now();
    for i in 0..n {
        let files = make(&mut m, i);
        let size: usize = files.iter().map(Vec::len).sum();
        let limit = ALLOC.allocated() + ALLOCATION_BOUND + 16 * size;
        ALLOC.set_limit(limit).expect("limit above current use");
        let before = PEAK.current_usage();
        PEAK.reset_peak_usage();
        let t = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| load(&files)));
        slowest = slowest.max(t.elapsed());
        largest = largest.max(PEAK.peak_usage().saturating_sub(before));
        ALLOC.set_limit(usize::MAX).expect("no limit");
        match result {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-findings");
                let _ = fs::create_dir_all(&dir);
                for (k, f) in files.iter().enumerate() {
                    let _ = fs::write(dir.join(format!("{name}-{i}-{k}.bin")), f);
                }
                panics.push(format!("input {i}: {msg}"));
            }
        }
    }
    println!(
        "fuzz {name}: {n} inputs in {:.1} s, {accepted} loaded, {} rejected with an error, {} panics; \
         slowest input {:.1} ms; largest heap growth while loading one input {:.2} MiB",
        start.elapsed().as_secs_f64(),
        n - accepted - panics.len(),
        panics.len(),
        slowest.as_secs_f64() * 1e3,
        largest as f64 / (1 << 20) as f64,
    );
    assert!(
        panics.is_empty(),
        "{name}: {} panic(s): {:#?}",
        panics.len(),
        &panics[..panics.len().min(10)]
    );
}

/// Picks one of the seeds and mutates it (bytes or text), or makes random bytes.
fn mutated(m: &mut Mutator, seeds: &[Vec<u8>], text: bool) -> Vec<u8> {
    if m.one_in(20) {
        return m.random_bytes(4096);
    }
    let seed = &seeds[m.below(seeds.len())];
    let other = &seeds[m.below(seeds.len())];
    if m.one_in(40) {
        return seed.clone();
    }
    if text && m.one_in(2) {
        m.text(seed, other)
    } else {
        m.bytes(seed, other)
    }
}

fn fixture(name: &str) -> Vec<u8> {
    fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(name),
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// model.json + model.mpk

fn model_seeds(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let device = Default::default();
    let mut seeds = Vec::new();
    for (d_in, d_out, std) in [(3, 2, true), (1, 1, false)] {
        let model = LrModelConfig::new()
            .with_d_input(d_in)
            .with_d_output(d_out)
            .init::<B>(&device)
            .with_params(&LinearParams {
                weight: (0..d_out)
                    .map(|o| (0..d_in).map(|i| (o * 3 + i) as f32 * 0.25 - 0.5).collect())
                    .collect(),
                bias: (0..d_out).map(|o| o as f32).collect(),
            })
            .unwrap();
        let info = ModelInfo {
            features: (0..d_in).map(|i| format!("x{i}")).collect(),
            targets: (0..d_out).map(|i| format!("y{i}")).collect(),
            loss: "mse".into(),
            standardizer: std.then(|| linreg_data::Standardizer {
                mean: vec![1.5; d_in],
                scale: vec![0.5; d_in],
            }),
            polynomial: None,
            exact: None,
            path: None,
        };
        let saved = save_model(&model, &info, dir).unwrap();
        seeds.push((
            fs::read(saved.meta).unwrap(),
            fs::read(saved.record).unwrap(),
        ));
    }
    seeds
}

#[test]
fn fuzz_model_record_and_description() {
    let dir = workdir("model");
    let seeds = model_seeds(&dir);
    let metas: Vec<Vec<u8>> = seeds.iter().map(|s| s.0.clone()).collect();
    let records: Vec<Vec<u8>> = seeds.iter().map(|s| s.1.clone()).collect();
    let device = Default::default();
    campaign(
        "model",
        inputs(),
        |m, _| {
            let k = m.below(seeds.len());
            let (mut meta, mut record) = seeds[k].clone();
            match m.below(3) {
                0 => meta = mutated(m, &metas, true),
                1 => record = mutated(m, &records, false),
                _ => {
                    meta = mutated(m, &metas, true);
                    record = mutated(m, &records, false);
                }
            }
            vec![meta, record]
        },
        |files| {
            fs::write(dir.join("model.json"), &files[0]).unwrap();
            fs::write(dir.join("model.mpk"), &files[1]).unwrap();
            load_model::<B>(&dir, &device).is_ok()
        },
    );
    fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// .pth

/// The entries of a zip, in order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            f.read_to_end(&mut content).unwrap();
            (f.name().to_string(), content)
        })
        .collect()
}

/// A zip as `torch.save` writes it: every entry stored.
fn rezip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, content) in entries {
        if w.start_file(name.as_str(), options).is_err() {
            continue;
        }
        let _ = w.write_all(content);
    }
    w.finish().map(Cursor::into_inner).unwrap_or_default()
}

#[test]
fn fuzz_pth() {
    let dir = workdir("pth");
    let seeds: Vec<Vec<u8>> = [
        "lr_model_seed42.pth",
        "pytorch/linear_3x2.pth",
        "pytorch/linear_3x2_f64.pth",
        "pytorch/no_bias.pth",
        "pytorch/extra_key.pth",
        "pytorch/whole_model.pth",
        "pytorch/int_weight.pth",
        "pytorch/checkpoint.pth",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    let unzipped: Vec<Vec<(String, Vec<u8>)>> = seeds.iter().map(|s| unzip(s)).collect();
    let pickles: Vec<Vec<u8>> = unzipped
        .iter()
        .flat_map(|e| {
            e.iter()
                .filter(|(n, _)| n.ends_with(".pkl"))
                .map(|(_, c)| c.clone())
        })
        .collect();
    let path = dir.join("model.pth");
    let device = Default::default();
    campaign(
        "pth",
        inputs(),
        |m, _| {
            if m.one_in(3) {
                // The whole file, checksums and all.
                return vec![mutated(m, &seeds, false)];
            }
            // Inside the archive: the pickle, a tensor's bytes, or the entry names.
            let mut entries = unzipped[m.below(unzipped.len())].clone();
            let k = m.below(entries.len());
            match m.below(5) {
                0..=2 => {
                    if let Some(p) = entries.iter_mut().find(|(n, _)| n.ends_with(".pkl")) {
                        p.1 = mutated(m, &pickles, false);
                    }
                }
                3 => entries[k].1 = m.bytes(&entries[k].1, &[]),
                _ => {
                    if m.one_in(2) {
                        entries.remove(k);
                    } else {
                        let name = m.text(entries[k].0.as_bytes(), &[]);
                        entries[k].0 = String::from_utf8_lossy(&name).into_owned();
                    }
                }
            }
            vec![rezip(&entries)]
        },
        |files| {
            fs::write(&path, &files[0]).unwrap();
            load_weights::<B>(&path, None, &device).is_ok()
        },
    );
    fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// safetensors

#[test]
fn fuzz_safetensors() {
    let dir = workdir("safetensors");
    // A file linreg wrote, and PyTorch's.
    model_seeds(&dir);
    let seeds: Vec<Vec<u8>> = [
        "pytorch/linear_3x2.safetensors",
        "pytorch/nan_weight.safetensors",
        "pytorch/vector_weight.safetensors",
    ]
    .iter()
    .map(|f| fixture(f))
    .chain(std::iter::once(
        fs::read(dir.join("model.safetensors")).unwrap(),
    ))
    .collect();
    let path = dir.join("model.safetensors");
    let device = Default::default();
    campaign(
        "safetensors",
        inputs(),
        |m, _| {
            let seed = &seeds[m.below(seeds.len())];
            if m.one_in(2) {
                return vec![mutated(m, &seeds, false)];
            }
            // The JSON header as text, with its length prefix fixed most of the time.
            let n = u64::from_le_bytes(seed[..8].try_into().unwrap()) as usize;
            let header = m.text(&seed[8..8 + n], &[]);
            let mut out = Vec::new();
            let len = if m.one_in(8) {
                m.below(1 << 20) as u64
            } else {
                header.len() as u64
            };
            out.extend(len.to_le_bytes());
            out.extend(&header);
            out.extend(&seed[8 + n..]);
            vec![out]
        },
        |files| {
            fs::write(&path, &files[0]).unwrap();
            load_weights::<B>(&path, None, &device).is_ok()
        },
    );
    fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// checkpoints

struct SaveAt<'a> {
    at: usize,
    root: &'a Path,
    config: &'a TrainConfig,
    run: &'a RunRecord,
}

impl Checkpointer<A> for SaveAt<'_> {
    fn after_epoch(&mut self, epochs_done: usize) -> Checkpoint {
        if epochs_done == self.at {
            Checkpoint::Save
        } else {
            Checkpoint::Continue
        }
    }
    fn save(&mut self, state: TrainState<A>) -> Result<(), String> {
        save_checkpoint(self.root, state, self.config, self.run, 1)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

const CHECKPOINT_FILES: [&str; 4] = ["state.json", "model.mpk", "optimizer.mpk", "best.mpk"];

#[test]
fn fuzz_checkpoints() {
    let dir = workdir("checkpoint");
    let split = Split::ordered(LineSpec::default().generate().unwrap(), 0.8).unwrap();
    let device = Default::default();
    let configs = [
        TrainConfig::new()
            .with_optimizer(OptimizerKind::Adam)
            .with_epochs(6)
            .with_batch_size(Some(8))
            .with_schedule(Schedule::Step {
                step_size: 2,
                gamma: 0.5,
            })
            .with_patience(Some(20)),
        TrainConfig::new().with_momentum(0.9).with_epochs(6),
    ];
    // Seeds: a checkpoint after 3 epochs of each configuration.
    let mut seeds = Vec::new();
    for (k, config) in configs.iter().enumerate() {
        let run = RunRecord {
            identity: RunIdentity::new(
                config,
                LrModelConfig::new(),
                &["x".into()],
                &["y".into()],
                None,
                &split,
            ),
            initial: ParamsJson {
                weight: vec![vec![0.5]],
                bias: vec![0.25],
            },
            init: "fuzz seed".into(),
        };
        let root = dir.join(format!("seed{k}"));
        let mut saver = SaveAt {
            at: 3,
            root: &root,
            config,
            run: &run,
        };
        let start = LrModelConfig::new()
            .init::<A>(&device)
            .with_params(&LinearParams {
                weight: vec![vec![0.5]],
                bias: vec![0.25],
            })
            .unwrap();
        train_checkpointed(start, &split, config, &device, &mut (), &mut saver, None).unwrap();
        let ckpt = root.join("epoch-000000003");
        let files: Vec<Option<Vec<u8>>> = CHECKPOINT_FILES
            .iter()
            .map(|f| fs::read(ckpt.join(f)).ok())
            .collect();
        seeds.push((files, run.identity.clone(), config.clone()));
    }
    let pool: Vec<Vec<u8>> = seeds
        .iter()
        .flat_map(|(f, _, _)| f.iter().flatten().cloned())
        .collect();
    let target = dir.join("load");
    fs::create_dir_all(&target).unwrap();
    campaign(
        "checkpoint",
        inputs(),
        |m, _| {
            let k = m.below(seeds.len());
            let mut files: Vec<Vec<u8>> = seeds[k]
                .0
                .iter()
                .map(|f| f.clone().unwrap_or_default())
                .collect();
            // The seed's index rides along in a fifth part so the loader knows its run.
            let which = m.below(CHECKPOINT_FILES.len());
            files[which] = mutated(m, &pool, which == 0);
            if m.one_in(4) {
                let other = m.below(CHECKPOINT_FILES.len());
                files[other] = mutated(m, &pool, other == 0);
            }
            files.push(vec![k as u8]);
            files
        },
        |files| {
            for (name, bytes) in CHECKPOINT_FILES.iter().zip(files) {
                fs::write(target.join(name), bytes).unwrap();
            }
            let (_, identity, config) = &seeds[usize::from(files[4][0])];
            match load_checkpoint::<A>(&target, &device) {
                Err(_) => false,
                Ok((state, meta)) => {
                    // As `linreg train --resume` does: only its own run's checkpoint resumes,
                    // and then training must finish or stop with an error, never panic.
                    if meta.run.identity.differences(identity).is_empty() {
                        let _ = train_checkpointed(
                            LrModelConfig::new().init::<A>(&device),
                            &split,
                            config,
                            &device,
                            &mut (),
                            &mut (),
                            Some(state),
                        );
                    }
                    true
                }
            }
        },
    );
    fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// CSV

#[test]
fn fuzz_csv() {
    let dir = workdir("csv");
    let head = |name: &str, lines: usize| -> Vec<u8> {
        let text = String::from_utf8(fixture(name)).unwrap();
        text.lines()
            .take(lines)
            .flat_map(|l| format!("{l}\n").into_bytes())
            .collect()
    };
    let seeds = vec![
        head("diabetes.csv", 40),
        head("linnerud.csv", 21),
        b"x;y;note\n1.5;2;\"a;b\"\n-3e2;4.25;x\n0;0;\n".to_vec(),
        b"a\tb\ty\n1\t2\t3\n4\t5\t6\n7\t8\t9.5\n".to_vec(),
        b"\xef\xbb\xbfx,y\r\n1,2\r\n3,4\r\n".to_vec(),
    ];
    let path = dir.join("t.csv");
    let column_sets = [
        Columns {
            targets: vec!["progression".into()],
            features: None,
        },
        Columns {
            targets: vec!["y".into()],
            features: None,
        },
        Columns {
            targets: vec!["Weight".into(), "Waist".into()],
            features: Some(vec!["Chins".into(), "Situps".into()]),
        },
        Columns {
            targets: Vec::new(),
            features: Some(vec!["x".into()]),
        },
    ];
    campaign(
        "csv",
        inputs(),
        |m, _| {
            let mut input = mutated(m, &seeds, true);
            input.push(m.below(column_sets.len()) as u8);
            vec![input]
        },
        |files| {
            let (body, pick) = files[0].split_at(files[0].len() - 1);
            fs::write(&path, body).unwrap();
            linreg_data::read_table(
                &path,
                &column_sets[usize::from(pick[0])],
                &CsvOptions { delimiter: None },
            )
            .is_ok()
        },
    );
    fs::remove_dir_all(dir).unwrap();
}

/// A pickle that makes burn-store's reader copy as much as the guard lets through (memo
/// fetches doubling a list up to the work limit): refused or read, its reading stays within
/// the heap bound, and the guard's estimate covers what the reader really allocates.
#[test]
fn a_pickle_at_the_guards_work_limit_stays_within_the_bound() {
    let dir = workdir("pth-limit");
    let path = dir.join("model.pth");
    let entries = unzip(&fixture("lr_model_seed42.pth"));
    let device = Default::default();
    let mut peaks = Vec::new();
    for rounds in [8, 14, 15, 16, 17, 19, 22] {
        // [] → memo 0; then `rounds` times: [memo 0, memo 0] → memo 0.
        let mut p = vec![0x80, 2, b']', b'q', 0];
        for _ in 0..rounds {
            p.extend([b'(', b'h', 0, b'h', 0, b'l', b'q', 0]);
        }
        p.push(b'.');
        let passes = linreg_store::pytorch::guard::check_pickle(&p).is_ok();
        let files: Vec<(String, Vec<u8>)> = entries
            .iter()
            .map(|(n, c)| {
                (
                    n.clone(),
                    if n.ends_with(".pkl") {
                        p.clone()
                    } else {
                        c.clone()
                    },
                )
            })
            .collect();
        fs::write(&path, rezip(&files)).unwrap();
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let before = PEAK.current_usage();
        PEAK.reset_peak_usage();
        ALLOC
            .set_limit(ALLOC.allocated() + ALLOCATION_BOUND)
            .expect("limit");
        let loaded = load_weights::<B>(&path, None, &device);
        ALLOC.set_limit(usize::MAX).expect("no limit");
        let grew = PEAK.peak_usage().saturating_sub(before);
        // Not a state_dict either way: a list of lists.
        assert!(loaded.is_err());
        peaks.push((rounds, passes, grew >> 20));
    }
    println!("rounds, passes the guard, MiB grown while loading: {peaks:?}");
    // The guard stops the doubling before it costs more than its 64 MiB budget.
    assert!(peaks.iter().any(|&(_, passes, _)| passes));
    assert!(peaks.iter().any(|&(_, passes, _)| !passes));
    assert!(peaks.iter().all(|&(_, _, mib)| mib <= 64), "{peaks:?}");
    fs::remove_dir_all(dir).unwrap();
}
