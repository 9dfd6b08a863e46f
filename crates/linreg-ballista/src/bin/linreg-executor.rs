//! Ballista's executor with linreg's moments aggregate registered. It takes the options of
//! Ballista's own `ballista-executor` (`--help`): `--scheduler-host`, `--scheduler-port`
//! (default 50050), `--bind-port` (Arrow Flight, default 50051), `--bind-grpc-port` (default
//! 50052), `--concurrent-tasks`, `--work-dir`. Logs go to stdout (`RUST_LOG` overrides the level).

use std::sync::Arc;

use ballista_executor::config::Config;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use clap::Parser;

fn main() -> ballista_core::error::Result<()> {
    let opt = Config::parse();
    let mut config: ExecutorProcessConfig = opt.try_into()?;
    config.override_function_registry = Some(Arc::new(linreg_ballista::executor_registry()));
    linreg_ballista::init_logging(&config.special_mod_log_level, config.print_thread_info);
    linreg_ballista::runtime()?.block_on(async {
            eprintln!(
                "linreg-executor: flight port {}, grpc port {}, scheduler {}:{} (aggregates {} and {} registered)",
                config.port,
                config.grpc_port,
                config.scheduler_host,
                config.scheduler_port,
                linreg_datafusion::MOMENTS,
                linreg_datafusion::MOMENTS_WEIGHTED,
            );
            start_executor_process(Arc::new(config)).await
        })
}
