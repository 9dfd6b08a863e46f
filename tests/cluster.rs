//! Ballista computes the moments DataFusion computes on one machine, and the least-squares
//! coefficients a direct pass gives: standalone (a scheduler and an executor in this process),
//! and on a cluster of one `linreg-scheduler` and two `linreg-executor` processes (the root
//! package's binaries with `--features ballista`).
#![cfg(feature = "ballista")]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use linreg_datafusion::{MomentsQuery, TableFormat};
use linreg_io::{ParquetWriter, WriteOptions};
use linreg_solve::Moments;

const FEATURES: usize = 3;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linreg-ballista-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Three Parquet files of `y = 2·x1 − x2 + 0.5·x3 + 3 + noise` (a fixed pseudo-random
/// sequence), row groups of 1,000 rows; returns the moments of all their rows, computed
/// directly.
fn table(dir: &Path) -> Moments {
    let names: Vec<String> = ["x1", "x2", "x3", "y"].map(String::from).to_vec();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut all = Moments::new(FEATURES, 1);
    for (f, rows) in [("a", 4000), ("b", 2500), ("c", 3300)] {
        let mut cols: Vec<Vec<f64>> = (0..=FEATURES).map(|_| Vec::with_capacity(rows)).collect();
        for _ in 0..rows {
            let x: Vec<f64> = (0..FEATURES).map(|j| 10.0 * next() + j as f64).collect();
            let y = 2.0 * x[0] - x[1] + 0.5 * x[2] + 3.0 + 0.1 * next();
            for (c, v) in cols.iter_mut().zip(x.iter().chain([&y])) {
                c.push(*v);
            }
        }
        let slices: Vec<&[f64]> = cols.iter().map(|c| &c[..]).collect();
        all.push_columns(&slices, None).unwrap();
        let options = WriteOptions {
            row_group_rows: 1000,
            ..WriteOptions::default()
        };
        let mut w =
            ParquetWriter::create_as::<f64>(&dir.join(format!("{f}.parquet")), &names, options)
                .unwrap();
        w.write_columns(&slices).unwrap();
        w.finish().unwrap();
    }
    all
}

fn query(dir: &Path, filter: Option<&str>) -> MomentsQuery {
    MomentsQuery {
        location: format!("{}/", dir.display()),
        format: TableFormat::Parquet,
        features: vec!["x1".into(), "x2".into(), "x3".into()],
        targets: vec!["y".into()],
        weights: None,
        filter: filter.map(String::from),
        folds: None,
    }
}

/// Weights then bias of the least-squares fit with an intercept.
fn coefficients(m: &Moments) -> Vec<f64> {
    let fit = m.least_squares(true, 0.0).unwrap().fit;
    fit.weight[0].iter().chain(&fit.bias).copied().collect()
}

fn assert_close(what: &str, got: &Moments, want: &Moments) {
    assert_eq!(got.rows(), want.rows(), "{what}: rows");
    for (i, (g, w)) in coefficients(got).iter().zip(coefficients(want)).enumerate() {
        let rel = (g - w).abs() / w.abs();
        assert!(
            rel <= 1e-12,
            "{what}: coefficient {i}: {g} vs {w} ({rel:e})"
        );
    }
}

#[test]
fn standalone_gives_datafusions_moments() {
    let dir = temp_dir("standalone");
    let direct = table(&dir);
    let q = query(&dir, None);
    let local = linreg_datafusion::moments(&q).unwrap();
    let ballista = linreg_ballista::moments(&q, None).unwrap();
    assert_eq!(ballista.plain.rows(), 9800);
    assert_close("standalone vs direct", &ballista.plain, &direct);
    assert_close("standalone vs DataFusion", &ballista.plain, &local.plain);
    assert_close(
        "weighted = plain without weights",
        &ballista.weighted,
        &ballista.plain,
    );

    // A filter runs on the executors: the same rows as DataFusion's.
    let q = query(&dir, Some("x1 > 0"));
    let (local, ballista) = (
        linreg_datafusion::moments(&q).unwrap(),
        linreg_ballista::moments(&q, None).unwrap(),
    );
    assert!(ballista.plain.rows() > 1000 && ballista.plain.rows() < 9800);
    assert_close("filtered", &ballista.plain, &local.plain);

    // A missing column is named.
    let mut bad = query(&dir, None);
    bad.features[1] = "nope".into();
    let err = linreg_ballista::moments(&bad, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A child process, killed when dropped (a failed assertion must not leave servers running).
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(bin: &str, args: &[&str], log: PathBuf) -> Self {
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .args(args)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        Self { child, log }
    }

    fn log(&self) -> String {
        let mut s = String::new();
        std::fs::File::open(&self.log)
            .and_then(|mut f| f.read_to_string(&mut s))
            .unwrap();
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits up to 60 s for `ready`, failing with `what` and the server's log.
fn wait_until(server: &Server, what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} after 60 s; log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_cluster_of_one_scheduler_and_two_executors_gives_the_same_moments() {
    let dir = temp_dir("cluster");
    let direct = table(&dir);
    let port = free_port().to_string();
    let scheduler = Server::start(
        env!("CARGO_BIN_EXE_linreg-scheduler"),
        &["--bind-host", "127.0.0.1", "--bind-port", &port],
        dir.join("scheduler.log"),
    );
    let listening = || TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_ok();
    wait_until(&scheduler, "the scheduler does not listen", listening);
    let executors: Vec<Server> = (0..2)
        .map(|i| {
            let work = dir.join(format!("work{i}"));
            std::fs::create_dir_all(&work).unwrap();
            let (flight, grpc, health) = (free_port(), free_port(), free_port());
            Server::start(
                env!("CARGO_BIN_EXE_linreg-executor"),
                &[
                    "--scheduler-host",
                    "127.0.0.1",
                    "--scheduler-port",
                    &port,
                    "--scheduler-connect-timeout-seconds",
                    "60",
                    "--bind-host",
                    "127.0.0.1",
                    "--external-host",
                    "127.0.0.1",
                    "--bind-port",
                    &flight.to_string(),
                    "--bind-grpc-port",
                    &grpc.to_string(),
                    "--bind-health-port",
                    &health.to_string(),
                    "--vcores",
                    "1",
                    "--work-dir",
                    work.to_str().unwrap(),
                ],
                dir.join(format!("executor{i}.log")),
            )
        })
        .collect();
    for e in &executors {
        let registered = || e.log().contains("Executor registration succeed");
        wait_until(e, "the executor has not registered", registered);
    }
    let url = format!("df://127.0.0.1:{port}");
    let q = query(&dir, None);
    let got = linreg_ballista::moments(&q, Some(&url))
        .unwrap_or_else(|e| panic!("{e}; scheduler log:\n{}", scheduler.log()));
    assert_close("cluster vs direct", &got.plain, &direct);
    let local = linreg_datafusion::moments(&q).unwrap();
    assert_close("cluster vs DataFusion", &got.plain, &local.plain);
    // The partial aggregates ran on both executors (one slot each, two file groups).
    for e in &executors {
        assert!(
            e.log().contains("Finished task"),
            "an executor ran no task:\n{}\nscheduler log:\n{}",
            e.log(),
            scheduler.log()
        );
    }
    drop(executors);
    drop(scheduler);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn no_scheduler_is_an_error_not_a_hang() {
    let dir = temp_dir("noserver");
    table(&dir);
    let url = format!("df://127.0.0.1:{}", free_port());
    let start = Instant::now();
    let err = linreg_ballista::moments(&query(&dir, None), Some(&url))
        .unwrap_err()
        .to_string();
    assert!(start.elapsed() < Duration::from_secs(60));
    assert!(err.contains("onnect"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
