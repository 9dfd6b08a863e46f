//! `linreg`: fit, inspect, save and reuse linear models on Burn.
//!
//! With no arguments it runs the PyTorch "Linear Models" tutorial end to end. This file only
//! parses arguments, picks the backend and turns errors into one message and a non-zero exit;
//! the work lives in the `linreg-*` crates and in [`tutorial`].

mod artifacts;
mod backend;
mod cli;
mod tutorial;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match backend::dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole chain of context on one line: "what failed: why".
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
