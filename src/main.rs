//! `linreg`: fit, inspect, save and reuse linear models on Burn.
//!
//! With no arguments it runs the PyTorch "Linear Models" tutorial end to end; subcommands
//! train, evaluate and apply models on CSV and Parquet tables. This file only parses arguments,
//! picks the backend and turns errors into one message and a non-zero exit; `spec` checks the
//! arguments into `linreg-fit`'s specs, the work lives in the `linreg-*` crates, and the other
//! modules are messages and files, one per command.

mod apply;
mod artifacts;
mod backend;
mod checkpoints;
mod cli;
mod console;
mod device;
mod generate;
mod html;
mod messages;
mod plots;
mod spec;
mod train;
mod tutorial;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match backend::dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole chain of context on one line: "what failed: why".
            eprintln!("error: {err:#}");
            // Stopped by Ctrl-C (or SIGTERM) after a checkpoint: exit as the signal would.
            match err.downcast_ref::<checkpoints::Interrupted>() {
                Some(stopped) => ExitCode::from(stopped.exit_code()),
                None => ExitCode::FAILURE,
            }
        }
    }
}
