//! linreg's moments aggregate ([`linreg_datafusion`]) on
//! [Apache Ballista](https://datafusion.apache.org/ballista/), distributed DataFusion: the
//! scheduler splits the scan over its executors, each folds its files' row groups into
//! moments, and the partial moments (a few kilobytes each) are merged exactly.
//!
//! [`moments`] runs the query on a cluster (`df://HOST:50050`) or, without one, on a scheduler
//! and an executor started inside this process (Ballista's standalone mode). A cluster's
//! scheduler and executors must know the aggregate: start them with this crate's
//! `linreg-scheduler` and `linreg-executor` binaries (Ballista's own, plus the aggregate;
//! [`scheduler_session`] and [`executor_registry`] are what they add). The table's paths must be
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
