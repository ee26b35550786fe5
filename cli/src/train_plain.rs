//! `dyad train-plain`: the plaintext references of a training job, in floating point and in
//! fixed point, from the same initial weights, over the same batches, with the same
//! approximations (piecewise-linear exp, Newton reciprocal) as the secure job.

use std::path::PathBuf;

use anyhow::Context;
use dyad_online::FixedPoint;
use dyad_server::model_file::{Holder, ModelFile};
use dyad_server::training::reference::{Arithmetic, references};
use dyad_server::training::{Point, curve};

use crate::data_args::DataArgs;
use crate::train::JobArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    job: JobArgs,
    /// Which arithmetic: `float`, `fixed` or `both`.
    #[arg(long, default_value = "both")]
    arithmetic: Arithmetic,
    /// Fixed-point fractional bits (and the grid the float run's weights start on).
    #[arg(long, default_value_t = 16)]
    f: u32,
    /// Directory for `curve-float.csv`, `curve-fixed.csv`, `curve-plain.png` and the trained
    /// plaintext models `model-float.dyad` and `model-fixed.dyad` (for `dyad import`).
    #[arg(long, default_value = "train-plain")]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (train_set, test_set) = args.data.load()?;
    let fixed = FixedPoint::new(args.f).context("--f must be between 1 and 30")?;
    let job = args
        .job
        .job(fixed, "plaintext".into(), train_set.len(), test_set.len())?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let references = runtime.block_on(references(
        &job,
        &train_set,
        &test_set,
        args.arithmetic,
        &print_point,
    ))?;
    let mut chart_curves = Vec::new();
    for r in &references {
        let text = curve::csv(&r.points);
        dyad_server::files::write_atomically(&args.out.join(r.file), text.as_bytes())?;
        chart_curves.push((r.name, curve::accuracies(&text)));
        let model = args
            .out
            .join(r.file.replace("curve", "model").replace(".csv", ".dyad"));
        ModelFile {
            holder: Holder::Plain,
            fixed,
            network: job.network.clone(),
            params: r.model.clone(),
        }
        .write(&model)?;
        let last = r.points.last().map_or(0.0, |p| p.accuracy);
        println!("{}: final test accuracy {:.2}%", r.name, 100.0 * last);
        if let Some(line) = r.headroom_line() {
            println!("{line}");
        }
    }
    let title = format!("{} in plaintext: test accuracy", job.network.name);
    let chart = args.out.join("curve-plain.png");
    dyad_chart::accuracy::chart(&chart, &title, &chart_curves)?;
    println!(
        "curves in {} (chart: {})",
        args.out.display(),
        chart.display()
    );
    Ok(())
}

/// Prints an evaluation of the plaintext run `name` as it is revealed.
pub fn print_point(name: &str, p: &Point, per_epoch: u64) {
    let loss = p.loss.map(|l| format!(", loss {l:.4}")).unwrap_or_default();
    eprintln!(
        "{name}: {}: test accuracy {:.2}%{loss}",
        p.place(per_epoch),
        100.0 * p.accuracy
    );
}
