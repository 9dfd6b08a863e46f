//! Ballista's scheduler with linreg's moments aggregate registered (`--features ballista`).
//! It takes the options of Ballista's own `ballista-scheduler` (`--help`): `--bind-host`,
//! `--bind-port` (default 50050), `--external-host`. Logs go to stdout (`RUST_LOG` overrides
//! the level).

use clap::Parser;
use linreg_ballista::{Scheduler, SchedulerOptions};

fn main() -> ballista_core::error::Result<()> {
    let scheduler = Scheduler::new(SchedulerOptions::parse())?;
    eprintln!(
        "linreg-scheduler: listening on {} (aggregates {} and {} registered)",
        scheduler.addr,
        linreg_datafusion::MOMENTS,
        linreg_datafusion::MOMENTS_WEIGHTED,
    );
    scheduler.run()
}
