//! The soak (issue 13): a deployment left running for an hour, the offline worker pair
//! stocking both stockpiles while a training job and a paced serving load drain them. Every
//! 10 s it samples each stockpile's stock and disk use and every process's memory into a CSV
//! (and `dyad chart` draws it as a PNG); at the end everything stops on SIGTERM, the books
//! balance and what is left pairs up. Unbounded growth shows as a rising curve; the run
//! fails if the last quarter's peak memory or disk exceeds twice the second quarter's.
//!
//! Ignored by default; run once with
//! `DYAD_SOAK_SECONDS=3600 cargo xtask test --test e2e soak -- --ignored --nocapture`
//! (`DYAD_SOAK_OUT` names the output directory, by default `soak` in the target directory).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::deployment::Deployment;
use crate::serving::{owner_shares, predict_load, start_servers};
use crate::support::*;
use crate::training::{ENDLESS_JOB, endless_job_plan, prepare, trainer};

const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// Served requests per second, over two clients: a steady drain beside the training job.
const SERVING_RATE: &str = "4";

/// Resident memory of process `pid`, in MB (0 once it is gone).
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Bytes of the files under `dir`, in MB.
fn disk_mb(dir: &Path) -> f64 {
    fn bytes(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    }
    bytes(dir) as f64 / 1e6
}

fn output_dir() -> PathBuf {
    let dir = std::env::var_os("DYAD_SOAK_OUT").map_or_else(
        || {
            let target = std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into());
            PathBuf::from(target).join("soak")
        },
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).expect("output directory");
    dir
}

/// The largest value of `column` among rows whose time lies in `[from, to)` of `total`.
fn peak(rows: &[Vec<f64>], column: usize, from: f64, to: f64, total: f64) -> f64 {
    rows.iter()
        .filter(|r| r[0] >= from * total && r[0] < to * total)
        .map(|r| r[column])
        .fold(0.0, f64::max)
}

/// The log of the soak's process `name` (`train0`, `serve1`, `train_worker0`, ...), if it
/// keeps one.
fn log_of(d: &Deployment, served: &Deployment, name: &str) -> String {
    let read =
        |d: &Deployment, file: &str| std::fs::read_to_string(d.path(file)).unwrap_or_default();
    match name {
        "train0" | "train1" => read(d, &format!("{name}.log")),
        "serve0" | "serve1" => read(served, &format!("{name}.log")),
        _ => match name
            .strip_prefix("train_worker")
            .or(name.strip_prefix("serve_worker"))
        {
            Some(party) => {
                let deployment = if name.starts_with("train") { d } else { served };
                read(deployment, &format!("worker{party}-0.log"))
            }
            None => String::new(),
        },
    }
}

#[test]
#[ignore = "runs for DYAD_SOAK_SECONDS (an hour for the record); run on purpose"]
fn soak() {
    let seconds: u64 = std::env::var("DYAD_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    // Training and serving each draw on a stockpile pair of their own, stocked by a worker
    // pair of its own, as in the recorded run (2026-12-02, before pools let two jobs share a
    // stockpile pair).
    let d = Deployment::start();
    let served = Deployment::start();
    let train_model = prepare(&d);
    let (serve_model, _, shares) = owner_shares(&served);
    let workers = d.stock(&endless_job_plan(&train_model));
    let serve_model = serve_model.to_str().expect("utf-8").to_owned();
    let serving_workers = served.stock(&["--model", &serve_model, "--inferences", "200"]);

    let link = d.link_addr(0);
    let trainers = [0, 1].map(|i| {
        trainer(
            &d,
            i,
            &link,
            &train_model,
            ENDLESS_JOB,
            &format!("train{i}.log"),
        )
    });

    let link = served.link_addr(0);
    let clients = [served.client_addr(0), served.client_addr(1)];
    let common = ["--stock-wait", "60"];
    let servers = start_servers(&served, &shares, &link, &clients, [&common, &common]);
    let addrs = format!("{},{}", clients[0], clients[1]);
    let load_seconds = seconds.to_string();
    let load = predict_load(
        &served,
        &addrs,
        &[
            "--load",
            &load_seconds,
            "--clients",
            "2",
            "--rate",
            SERVING_RATE,
            "--class",
        ],
    );

    // The columns: each stockpile's stock and disk, the steps trained, each process's memory.
    let deployments = [("train", &d), ("serve", &served)];
    let mut header = "seconds,steps".to_string();
    for (name, _) in deployments {
        for party in [0, 1] {
            write!(header, ",{name}_p{party}_stock_mb,{name}_p{party}_disk_mb").expect("string");
        }
    }
    let pids = |name: &str, pids: [u32; 2]| [0, 1].map(|i| (format!("{name}{i}"), pids[i]));
    let processes: Vec<(String, u32)> = [
        pids("train_store", d.store_pids()),
        pids("serve_store", served.store_pids()),
        pids("train_worker", workers.each_ref().map(Running::pid)),
        pids("serve_worker", serving_workers.each_ref().map(Running::pid)),
        pids("train", trainers.each_ref().map(Running::pid)),
        pids("serve", servers.each_ref().map(Running::pid)),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (name, _) in &processes {
        write!(header, ",{name}_rss_mb").expect("string");
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sample = |t: f64| -> Vec<f64> {
        let steps = crate::training::latest_checkpoint(&d.path("train-p0/checkpoints"));
        let mut row = vec![t, steps.unwrap_or(0) as f64];
        for (_, deployment) in deployments {
            for party in [0, 1] {
                let stored = runtime.block_on(async {
                    let mut client = deployment.client(party).await;
                    client.inventory().await.expect("inventory").stored_bytes
                });
                row.push(stored as f64 / 1e6);
                row.push(disk_mb(&deployment.path(&format!("store{party}"))));
            }
        }
        row.extend(processes.iter().map(|(_, pid)| rss_mb(*pid)));
        row
    };

    let start = Instant::now();
    let mut rows = Vec::new();
    let first_rss = 2 + 4 * deployments.len();
    while start.elapsed() < Duration::from_secs(seconds) {
        let row = sample(start.elapsed().as_secs_f64());
        println!("{row:?}");
        // Every process runs throughout (a gone one reads 0 MB).
        for ((name, _), rss) in processes.iter().zip(&row[first_rss..]) {
            assert!(
                *rss > 0.0,
                "{name} stopped; its log:\n{}",
                log_of(&d, &served, name)
            );
        }
        rows.push(row);
        std::thread::sleep(SAMPLE_EVERY);
    }
    let out = load.finish();
    println!("serving load: {}", text(&out.stdout));
    assert!(out.status.success(), "{}", text(&out.stderr));

    served.stop(servers);
    d.stop(trainers);
    d.stop(workers);
    served.stop(serving_workers);
    runtime.block_on(async {
        for (_, deployment) in deployments {
            deployment.assert_books_balance().await;
            for stream in deployment.available(0).await.keys() {
                deployment.drain_and_check(stream).await;
            }
        }
    });
    // With the stock drained, sample once more after a minute.
    std::thread::sleep(Duration::from_secs(60));
    rows.push(sample(start.elapsed().as_secs_f64()));

    let dir = output_dir();
    let mut csv = header + "\n";
    for row in &rows {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:.2}")).collect();
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    let csv_path = dir.join("soak.csv");
    std::fs::write(&csv_path, &csv).expect("csv");
    let png = dir.join("soak.png");
    let out = run(&[
        "chart",
        "--csv",
        s(&csv_path),
        "--out",
        s(&png),
        "--title",
        &format!("Soak: {seconds} s of generation, training and serving"),
        "--x",
        "seconds",
        "--panel",
        "stock (MB)=train_p0_stock_mb,train_p1_stock_mb,serve_p0_stock_mb,serve_p1_stock_mb",
        "--panel",
        "stockpile disk (MB)=train_p0_disk_mb,train_p1_disk_mb,serve_p0_disk_mb,serve_p1_disk_mb",
        "--panel",
        "resident memory (MB)=train_store0_rss_mb,train_store1_rss_mb,serve_store0_rss_mb,serve_store1_rss_mb,train_worker0_rss_mb,train_worker1_rss_mb,serve_worker0_rss_mb,serve_worker1_rss_mb,train0_rss_mb,train1_rss_mb,serve0_rss_mb,serve1_rss_mb",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    println!("soak: {} and {}", csv_path.display(), png.display());

    // No growth without bound: the last quarter peaks at most twice the second quarter.
    let total = seconds as f64;
    let columns: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    for (c, name) in columns
        .iter()
        .enumerate()
        .skip(3)
        .filter(|(_, n)| **n != "steps")
    {
        let (early, late) = (
            peak(&rows, c, 0.25, 0.5, total),
            peak(&rows, c, 0.75, 1.0, total),
        );
        println!("{name}: peak {early:.1} in the second quarter, {late:.1} in the last");
        assert!(
            late <= 2.0 * early.max(1.0),
            "{name} grew from {early:.1} to {late:.1}"
        );
    }
}
