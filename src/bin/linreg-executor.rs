//! Ballista's executor with linreg's moments aggregate registered (`--features ballista`).
//! It takes the options of Ballista's own `ballista-executor` (`--help`): `--scheduler-host`,
//! `--scheduler-port` (default 50050), `--bind-port` (Arrow Flight, default 50051),
//! `--bind-grpc-port` (default 50052), `--concurrent-tasks`, `--work-dir`. Logs go to stdout
//! (`RUST_LOG` overrides the level).

use clap::Parser;
use linreg_ballista::{Executor, ExecutorOptions};

fn main() -> ballista_core::error::Result<()> {
    let executor = Executor::new(ExecutorOptions::parse())?;
    let c = &executor.config;
    eprintln!(
        "linreg-executor: flight port {}, grpc port {}, scheduler {}:{} (aggregates {} and {} registered)",
        c.port,
        c.grpc_port,
        c.scheduler_host,
        c.scheduler_port,
        linreg_datafusion::MOMENTS,
        linreg_datafusion::MOMENTS_WEIGHTED,
    );
    executor.run()
}
