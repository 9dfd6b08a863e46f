//! What a person reads while a command runs: the progress bar, the lines above it, the
//! warnings, and the metrics table.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use linreg_train::{LogEntry, Metrics, Progress, Scores};

/// Metrics as a small table: one line per labelled set, then one per target when there are
/// several.
pub fn metrics_table(sets: &[(&str, &Metrics)], targets: &[String]) -> String {
    let mut out = format!(
        "   {:<20} {:>12} {:>12} {:>12} {:>9}\n",
        "", "MAE", "MSE", "RMSE", "R²"
    );
    let mut line = |label: String, s: &Scores| {
        out.push_str(&format!(
            "   {label:<20} {:>12.6} {:>12.6} {:>12.6} {:>9.5}\n",
            s.mae, s.mse, s.rmse, s.r2
        ));
    };
    for &(set, m) in sets {
        line(set.to_string(), &m.mean);
        if targets.len() > 1 {
            for (name, s) in targets.iter().zip(&m.per_target) {
                line(format!("  {set} {name}"), s);
            }
        }
    }
    out
}

/// The one line a logged epoch prints (the tutorial's format).
pub fn epoch_line(e: &LogEntry) -> String {
    format!(
        "Epoch {}: Train Loss = {}, Test Loss = {}",
        e.epoch, e.train_loss, e.test_loss
    )
}

/// Prints log lines and, for runs that last longer than a second on a terminal, a progress bar.
pub struct Console {
    quiet: bool,
    bar: Option<ProgressBar>,
    started: Instant,
    terminal: bool,
}

impl Console {
    /// A console that prints (unless `quiet`) and may show a bar when stdout is a terminal.
    pub fn new(quiet: bool) -> Self {
        Self {
            quiet,
            bar: None,
            started: Instant::now(),
            terminal: std::io::stdout().is_terminal(),
        }
    }

    /// Prints a line above the bar, or plainly.
    pub fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The fitting library's progress, notes and warnings: notes above the bar, warnings on
/// stderr.
impl linreg_fit::Observer for Console {
    fn note(&mut self, text: &str) {
        self.line(text);
    }

    fn warn(&mut self, text: &str) {
        eprintln!("{text}");
    }

    fn training_done(&mut self) {
        self.finish();
    }
}

impl Progress for Console {
    fn on_epoch(&mut self, epoch: usize, epochs: usize) {
        if self.quiet || !self.terminal {
            return;
        }
        if self.bar.is_none() && self.started.elapsed() > Duration::from_secs(1) {
            let bar = ProgressBar::new(epochs as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "   {bar:40} {pos}/{len} epochs, {elapsed} ({eta} left)",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(epoch as u64 + 1);
        }
    }

    fn on_log(&mut self, entry: &LogEntry) {
        self.line(&epoch_line(entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_a_line_per_set_and_target() {
        let s = Scores {
            mae: 1.0,
            mse: 2.0,
            rmse: 2.0_f64.sqrt(),
            r2: 0.5,
        };
        let m = Metrics {
            mean: s,
            per_target: vec![s, s],
        };
        let t = metrics_table(&[("train", &m), ("test", &m)], &["a".into(), "b".into()]);
        assert_eq!(t.lines().count(), 7);
        assert!(t.contains("  test b") && t.contains("1.414214") && t.contains("0.50000"));
        let t = metrics_table(&[("data", &m)], &["a".into()]);
        assert_eq!(t.lines().count(), 2);
        let t = metrics_table(&[("train", &m), ("test", &m)], &["a".into()]);
        assert_eq!(t.lines().count(), 3);
    }
}
