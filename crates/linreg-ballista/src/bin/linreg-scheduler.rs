//! Ballista's scheduler with linreg's moments aggregate registered. It takes the options of
//! Ballista's own `ballista-scheduler` (`--help`): `--bind-host`, `--bind-port` (default 50050),
//! `--external-host`. Logs go to stdout (`RUST_LOG` overrides the level).

use std::sync::Arc;

use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{Config, SchedulerConfig};
use ballista_scheduler::scheduler_process::start_server;
use clap::Parser;

fn main() -> ballista_core::error::Result<()> {
    let opt = Config::parse();
    linreg_ballista::init_logging(&opt.log_level_setting, opt.print_thread_info);
    let addr = format!("{}:{}", opt.bind_host, opt.bind_port)
        .parse()
        .map_err(|e: std::net::AddrParseError| {
            ballista_core::error::BallistaError::Configuration(format!(
                "--bind-host {} --bind-port {}: {e}",
                opt.bind_host, opt.bind_port
            ))
        })?;
    let config: SchedulerConfig = opt.try_into()?;
    let config = config.with_override_session_builder(Arc::new(linreg_ballista::scheduler_session));
    linreg_ballista::runtime()?.block_on(async {
        eprintln!(
            "linreg-scheduler: listening on {addr} (aggregates {} and {} registered)",
            linreg_datafusion::MOMENTS,
            linreg_datafusion::MOMENTS_WEIGHTED,
        );
        let cluster = BallistaCluster::new_from_config(&config).await?;
        start_server(cluster, addr, Arc::new(config)).await
    })
}
