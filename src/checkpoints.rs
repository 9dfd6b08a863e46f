//! `linreg train --checkpoint-every N` and Ctrl-C: when to save, and what to tell the user.
//! The files are `linreg-store`'s; resuming is `linreg-fit`'s.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;
use linreg_fit::CheckpointSpec;
use linreg_store::checkpoint::{self, RunRecord, CHECKPOINTS_DIR};
use linreg_train::FusedAutodiffBackend;
use linreg_train::{Checkpoint, Checkpointer, TrainConfig, TrainState};
use signal_hook::consts::{SIGINT, SIGTERM};

/// SIGINT and SIGTERM while this lives: the first asks training to stop after the current
/// epoch (with a checkpoint); a second one ends the process at once.
pub struct Interrupt {
    int: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
    ids: Vec<signal_hook::SigId>,
}

impl Interrupt {
    /// Starts listening.
    pub fn listen() -> Result<Self> {
        let (int, term) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let mut ids = Vec::new();
        for (signal, flag, status) in [(SIGINT, &int, 130), (SIGTERM, &term, 143)] {
            // The shutdown is registered first, so it fires only on a second signal.
            ids.push(signal_hook::flag::register_conditional_shutdown(
                signal,
                status,
                Arc::clone(flag),
            )?);
            ids.push(signal_hook::flag::register(signal, Arc::clone(flag))?);
        }
        Ok(Self { int, term, ids })
    }

    /// The signal received, if any.
    pub fn signal(&self) -> Option<Signal> {
        if self.int.load(Ordering::SeqCst) {
            Some(Signal::Int)
        } else if self.term.load(Ordering::SeqCst) {
            Some(Signal::Term)
        } else {
            None
        }
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        // Once training is over, a signal ends the process as it would have without linreg's
        // handler (files are written atomically, so nothing half-written remains).
        for (signal, status) in [(SIGINT, 130), (SIGTERM, 143)] {
            let _ = signal_hook::flag::register_conditional_shutdown(
                signal,
                status,
                Arc::new(AtomicBool::new(true)),
            );
        }
    }
}

/// Which signal stopped training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Int,
    /// SIGTERM.
    Term,
}

/// Training stopped by a signal, with its checkpoint saved: the message says how to resume,
/// and the process exits with 128 + the signal's number.
#[derive(Debug)]
pub struct Interrupted {
    signal: Signal,
    epochs_done: usize,
    epochs: usize,
    checkpoint: PathBuf,
    out: PathBuf,
}

impl Interrupted {
    /// The exit status: 130 for SIGINT, 143 for SIGTERM, as a shell reports them.
    pub fn exit_code(&self) -> u8 {
        match self.signal {
            Signal::Int => 130,
            Signal::Term => 143,
        }
    }
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interrupted ({}) after epoch {} of {}; the run so far is saved in {} and nothing else \
             in {} was changed. Continue it with the same command and --resume {}:\n  {}",
            match self.signal {
                Signal::Int => "SIGINT",
                Signal::Term => "SIGTERM",
            },
            self.epochs_done,
            self.epochs,
            self.checkpoint.display(),
            self.out.display(),
            self.checkpoint.display(),
            resume_command(&self.checkpoint)
        )
    }
}

impl std::error::Error for Interrupted {}

/// This process's command line with `--resume DIR` (replacing any earlier `--resume`).
fn resume_command(checkpoint: &Path) -> String {
    let mut args: Vec<String> = std::env::args().collect();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--resume" {
            args.drain(i..(i + 2).min(args.len()));
        } else if args[i].starts_with("--resume=") {
            args.remove(i);
        } else {
            i += 1;
        }
    }
    args.push("--resume".into());
    args.push(checkpoint.display().to_string());
    let quote = |a: &String| {
        if !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=,:@+".contains(c))
        {
            a.clone()
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        }
    };
    args.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// Saves checkpoints every `every` epochs and when a signal arrives.
pub struct Checkpoints<'a> {
    every: Option<usize>,
    keep: usize,
    root: PathBuf,
    config: &'a TrainConfig,
    run: &'a RunRecord,
    interrupt: &'a Interrupt,
    /// The last checkpoint written.
    pub last: Option<PathBuf>,
}

impl<'a> Checkpoints<'a> {
    /// Checkpoints of a run writing to `out`.
    pub fn new(
        spec: &CheckpointSpec,
        out: &Path,
        config: &'a TrainConfig,
        run: &'a RunRecord,
        interrupt: &'a Interrupt,
    ) -> Self {
        Self {
            every: spec.every,
            keep: spec.keep,
            root: out.join(CHECKPOINTS_DIR),
            config,
            run,
            interrupt,
            last: None,
        }
    }

    /// The error to report after training stopped at `epochs_done` on a signal.
    pub fn interrupted(&self, epochs_done: usize, out: &Path) -> Interrupted {
        Interrupted {
            signal: self.interrupt.signal().unwrap_or(Signal::Int),
            epochs_done,
            epochs: self.config.epochs,
            checkpoint: self.last.clone().unwrap_or_default(),
            out: out.to_path_buf(),
        }
    }
}

impl<B: FusedAutodiffBackend> Checkpointer<B> for Checkpoints<'_> {
    fn after_epoch(&mut self, epochs_done: usize) -> Checkpoint {
        if self.interrupt.signal().is_some() {
            Checkpoint::SaveAndStop
        } else if self.every.is_some_and(|n| epochs_done.is_multiple_of(n)) {
            Checkpoint::Save
        } else {
            Checkpoint::Continue
        }
    }

    fn save(&mut self, state: TrainState<B>) -> std::result::Result<(), String> {
        let dir = checkpoint::save_checkpoint(&self.root, state, self.config, self.run, self.keep)
            .map_err(|e| format!("{e:#}"))?;
        self.last = Some(dir);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resume_command_replaces_an_earlier_resume() {
        let cmd = resume_command(Path::new("out dir/checkpoints/epoch-000000007"));
        assert!(
            cmd.ends_with(" --resume 'out dir/checkpoints/epoch-000000007'"),
            "{cmd}"
        );
        assert_eq!(cmd.matches("--resume").count(), 1, "{cmd}");
    }
}
