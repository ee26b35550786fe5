//! The `dyad` command lines of the pair's processes, built from typed settings in this one
//! place: a flag renamed in the CLI is renamed here, and every caller (the demo, a test, a
//! deployment generator) starts its processes alike.

use std::path::Path;

use dyad_online::nn::{Init, Optimizer, Schedule};
use dyad_online::protocols::{Comparison, Exp};
use dyad_server::training::Job;

use crate::OrchestrateError;

/// The party link of one side: party 0 listens on `addr`, party 1 dials it.
pub struct Link<'a> {
    /// 0 or 1.
    pub party: usize,
    /// The certificates of both parties (`dyad certs`).
    pub certs: &'a Path,
    /// Where party 0 listens.
    pub addr: &'a str,
}

impl Link<'_> {
    fn flags(&self) -> Result<Vec<String>, OrchestrateError> {
        let side = if self.party == 0 {
            "--listen"
        } else {
            "--peer"
        };
        Ok(vec![
            "--party".into(),
            self.party.to_string(),
            "--certs".into(),
            text(self.certs)?,
            side.into(),
            self.addr.into(),
        ])
    }
}

/// A server's own stockpile, as its workers and jobs reach it.
pub struct Store<'a> {
    /// The stockpile's address.
    pub addr: &'a str,
    /// Its token file.
    pub token: &'a Path,
}

impl Store<'_> {
    fn flags(&self) -> Result<Vec<String>, OrchestrateError> {
        Ok(vec![
            "--store".into(),
            self.addr.into(),
            "--store-token".into(),
            text(self.token)?,
        ])
    }
}

/// `dyad store` of party `party`, with its data in `data`, listening on `listen`.
pub fn store(party: usize, data: &Path, listen: &str) -> Result<Vec<String>, OrchestrateError> {
    Ok(vec![
        "store".into(),
        "--party".into(),
        party.to_string(),
        "--data".into(),
        text(data)?,
        "--listen".into(),
        listen.into(),
    ])
}

/// `dyad offline`: one side of lane `lane`'s worker pair, following `plan`, looking again
/// after `idle_ms` when nothing is needed, serving its metrics on `metrics` if given.
pub fn offline(
    link: &Link,
    store: &Store,
    lane: usize,
    plan: &Path,
    idle_ms: u64,
    metrics: Option<&str>,
) -> Result<Vec<String>, OrchestrateError> {
    let mut args = vec!["offline".into(), "--lane".into(), lane.to_string()];
    args.extend(link.flags()?);
    args.extend(store.flags()?);
    args.extend([
        "--plan".into(),
        text(plan)?,
        "--idle-ms".into(),
        idle_ms.to_string(),
    ]);
    args.extend(metrics_flag(metrics));
    Ok(args)
}

/// `dyad train`: one side of `job` (its network given to `--model` as `model`, a name or a
/// file), on the dataset share `data`, writing into `out`, serving its metrics on `metrics` if
/// given.
pub fn train(
    link: &Link,
    store: &Store,
    model: &str,
    job: &Job,
    data: &Path,
    out: &Path,
    metrics: Option<&str>,
) -> Result<Vec<String>, OrchestrateError> {
    let mut args = vec!["train".into()];
    args.extend(link.flags()?);
    args.extend(store.flags()?);
    args.extend(["--data".into(), text(data)?, "--out".into(), text(out)?]);
    args.extend([
        "--model".into(),
        model.into(),
        "--epochs".into(),
        job.epochs.to_string(),
        "--batch".into(),
        job.batch.to_string(),
        "--seed".into(),
        job.seed.to_string(),
    ]);
    args.extend(optimizer_flags(&job.optimizer));
    if job.init != Init::default() {
        args.extend(["--init".into(), job.init.to_string()]);
    }
    args.extend(comparison(job.comparison, Some(job.exp)));
    if let Some(every) = job.eval_every {
        args.extend(["--eval-every".into(), every.to_string()]);
    }
    if job.loss {
        args.push("--loss".into());
    }
    args.extend(metrics_flag(metrics));
    Ok(args)
}

/// `dyad serve`: one side of the inference endpoint on the model share `model`, for clients on
/// `clients`, waiting up to `stock_wait` seconds for a dry stockpile.
pub fn serve(
    link: &Link,
    store: &Store,
    model: &Path,
    clients: &str,
    stock_wait: u64,
    comparison_used: Comparison,
) -> Result<Vec<String>, OrchestrateError> {
    let mut args = vec!["serve".into()];
    args.extend(link.flags()?);
    args.extend(store.flags()?);
    args.extend([
        "--model".into(),
        text(model)?,
        "--clients".into(),
        clients.into(),
        "--stock-wait".into(),
        stock_wait.to_string(),
    ]);
    args.extend(comparison(comparison_used, None));
    Ok(args)
}

/// The comparison flags (`--checkzero`, `--prime`, and `--exp` where the command computes a
/// softmax), as `dyad train`, `serve` and `plan` take them.
fn comparison(comparison: Comparison, exp: Option<Exp>) -> Vec<String> {
    let mut flags = vec![
        "--checkzero".into(),
        comparison.checkzero.to_string(),
        "--prime".into(),
        comparison.prime.to_string(),
    ];
    if let Some(exp) = exp {
        flags.extend(["--exp".into(), exp.to_string()]);
    }
    flags
}

/// A path as a flag's value.
fn text(path: &Path) -> Result<String, OrchestrateError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| OrchestrateError::NonUtf8Path(path.to_owned()))
}

/// `--metrics ADDR` when the child serves its metrics, nothing otherwise.
fn metrics_flag(metrics: Option<&str>) -> impl Iterator<Item = String> {
    metrics
        .into_iter()
        .flat_map(|m| ["--metrics".into(), m.into()])
}

/// The flags of `dyad train` that give `optimizer` (a cosine schedule spans the job's steps).
pub fn optimizer_flags(optimizer: &Optimizer) -> Vec<String> {
    let mut flags = match optimizer.lr_shift() {
        Some(s) => vec!["--lr-shift".into(), s.to_string()],
        None => vec!["--lr".into(), optimizer.lr.to_string()],
    };
    if optimizer.momentum > 0.0 {
        flags.extend(["--momentum".into(), optimizer.momentum.to_string()]);
    }
    if optimizer.nesterov {
        flags.push("--nesterov".into());
    }
    if optimizer.weight_decay > 0.0 {
        flags.extend(["--weight-decay".into(), optimizer.weight_decay.to_string()]);
    }
    let schedule = match optimizer.schedule {
        Schedule::Constant => None,
        Schedule::Cosine { .. } => Some("cosine".to_string()),
        Schedule::Step { every, gamma } => Some(format!("step:{every}:{gamma}")),
    };
    if let Some(schedule) = schedule {
        flags.extend(["--schedule".into(), schedule]);
    }
    if let Some(adam) = optimizer.adam {
        flags.extend([
            "--adam".into(),
            "--beta1".into(),
            adam.beta1.to_string(),
            "--beta2".into(),
            adam.beta2.to_string(),
            "--eps".into(),
            adam.eps.to_string(),
        ]);
    }
    if optimizer.warmup > 0 {
        flags.extend(["--warmup".into(), optimizer.warmup.to_string()]);
    }
    flags
}
