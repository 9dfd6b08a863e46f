//! linreg's moments aggregate ([`linreg_datafusion`]) on
//! [Apache Ballista](https://datafusion.apache.org/ballista/), distributed DataFusion: the
//! scheduler splits the scan over its executors, each folds its files' row groups into
//! moments, and the partial moments (a few kilobytes each) are merged exactly.
//!
//! [`moments`] runs the query on a cluster (`df://HOST:50050`) or, without one, on a scheduler
//! and an executor started inside this process (Ballista's standalone mode). A cluster's
//! scheduler and executors must know the aggregate: start them with the `linreg-scheduler` and
//! `linreg-executor` binaries (built by the `linreg` package's `ballista` feature: Ballista's
//! own processes, plus the aggregate; [`Scheduler`] and [`Executor`] are what they run,
//! [`scheduler_session`] and [`executor_registry`] what they add). The table's paths must be
//! readable by every executor (a shared file system, or an object store URL).
//!
//! ```no_run
//! # #[cfg(not(feature = "enabled"))] fn main() {}
//! # #[cfg(feature = "enabled")]
//! # fn main() -> Result<(), linreg_datafusion::EngineError> {
//! use linreg_datafusion::{MomentsQuery, TableFormat};
//!
//! let query = MomentsQuery {
//!     location: "/shared/table/".into(),
//!     format: TableFormat::Parquet,
//!     features: vec!["x1".into(), "x2".into()],
//!     targets: vec!["y".into()],
//!     weights: None,
//!     filter: None,
//!     folds: None,
//! };
//! let m = linreg_ballista::moments(&query, Some("df://scheduler:50050"))?;
//! println!("{} rows", m.plain.rows());
//! # Ok(())
//! # }
//! ```
//!
//! (Everything below is behind the crate's `enabled` feature.)
#![cfg(feature = "enabled")]

use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use ballista_core::registry::BallistaFunctionRegistry;
use datafusion::execution::{FunctionRegistry, SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use linreg_datafusion::{register, run, udafs, EngineError, EngineMoments, MomentsQuery};

/// The moments of `query`'s rows, computed on the Ballista scheduler at `cluster`
/// (`df://HOST:PORT`), or on a scheduler and an executor inside this process when `None`.
pub fn moments(query: &MomentsQuery, cluster: Option<&str>) -> Result<EngineMoments, EngineError> {
    let runtime = runtime()
        .map_err(|e| EngineError::Invalid(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let state = client_state();
        let ctx = match cluster {
            Some(url) => SessionContext::remote_with_state(url, state).await?,
            None => SessionContext::standalone_with_state(state).await?,
        };
        register(&ctx, query).await?;
        run(&ctx, query).await
    })
}

/// The async runtime the client and the two binaries run on: every core, with the 32 MiB
/// thread stacks Ballista's own binaries use (its planner recurses deeply).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 << 20)
        .build()
}

/// A client session that knows the aggregate (it plans the query).
fn client_state() -> SessionState {
    SessionStateBuilder::new()
        .with_default_features()
        .with_aggregate_functions(udafs().into_iter().map(Arc::new).collect())
        .build()
}

/// The scheduler's sessions: Ballista's default, plus the aggregate.
pub fn scheduler_session(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let mut state = ballista_core::utils::default_session_builder(config)?;
    for udaf in udafs() {
        state.register_udaf(Arc::new(udaf))?;
    }
    Ok(state)
}

/// The executors' function registry: DataFusion's functions, plus the aggregate.
pub fn executor_registry() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    for udaf in udafs() {
        registry
            .aggregate_functions
            .insert(udaf.name().to_string(), Arc::new(udaf));
    }
    registry
}

/// Logs to stdout at `level` (a `tracing` filter such as `INFO`), or at `RUST_LOG` when set:
/// what Ballista's own binaries do.
pub fn init_logging(level: &str, thread_info: bool) {
    let filter = std::env::var(tracing_subscriber::EnvFilter::DEFAULT_ENV)
        .unwrap_or_else(|_| level.to_string());
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_thread_names(thread_info)
        .with_thread_ids(thread_info)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .init();
}

/// The options of Ballista's own `ballista-executor` (`--scheduler-host`, `--bind-port`,
/// `--work-dir`, …), for a binary to parse.
pub use ballista_executor::config::Config as ExecutorOptions;
/// The options of Ballista's own `ballista-scheduler` (`--bind-host`, `--bind-port`,
/// `--external-host`, …), for a binary to parse.
pub use ballista_scheduler::config::Config as SchedulerOptions;

/// A Ballista scheduler that knows linreg's aggregates, ready to run.
pub struct Scheduler {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    config: ballista_scheduler::config::SchedulerConfig,
}

impl Scheduler {
    /// Checks the options and sets up logging; [`Scheduler::run`] serves.
    pub fn new(opt: SchedulerOptions) -> ballista_core::error::Result<Self> {
        init_logging(&opt.log_level_setting, opt.print_thread_info);
        let addr = format!("{}:{}", opt.bind_host, opt.bind_port)
            .parse()
            .map_err(|e: std::net::AddrParseError| {
                ballista_core::error::BallistaError::Configuration(format!(
                    "--bind-host {} --bind-port {}: {e}",
                    opt.bind_host, opt.bind_port
                ))
            })?;
        let config: ballista_scheduler::config::SchedulerConfig = opt.try_into()?;
        let config = config.with_override_session_builder(Arc::new(scheduler_session));
        Ok(Self { addr, config })
    }

    /// Serves until the process ends.
    pub fn run(self) -> ballista_core::error::Result<()> {
        use ballista_scheduler::cluster::BallistaCluster;
        runtime()?.block_on(async {
            let cluster = BallistaCluster::new_from_config(&self.config).await?;
            ballista_scheduler::scheduler_process::start_server(
                cluster,
                self.addr,
                Arc::new(self.config),
            )
            .await
        })
    }
}

/// A Ballista executor that knows linreg's aggregates, ready to run.
pub struct Executor {
    /// Its configuration (ports, scheduler).
    pub config: ballista_executor::executor_process::ExecutorProcessConfig,
}

impl Executor {
    /// Checks the options and sets up logging; [`Executor::run`] serves.
    pub fn new(opt: ExecutorOptions) -> ballista_core::error::Result<Self> {
        let mut config: ballista_executor::executor_process::ExecutorProcessConfig =
            opt.try_into()?;
        config.override_function_registry = Some(Arc::new(executor_registry()));
        init_logging(&config.special_mod_log_level, config.print_thread_info);
        Ok(Self { config })
    }

    /// Serves until the process ends.
    pub fn run(self) -> ballista_core::error::Result<()> {
        runtime()?.block_on(async {
            ballista_executor::executor_process::start_executor_process(Arc::new(self.config)).await
        })
    }
}
