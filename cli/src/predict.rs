//! `dyad predict`: a client asks the two servers for secure predictions (see `dyad_client`).
//!
//! Inputs come from a file (`--input`: PNG, IDX or CSV) or, by default, from the held-out split
//! of a dataset as `dyad share` makes it. With `--reference`, the same model's plaintext
//! fixed-point predictions are computed locally and compared; with `--load`, several clients
//! send requests for a while and the latency distribution is printed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use dyad_client::load::Load;
use dyad_client::{Client, Prediction, Server};
use dyad_online::nn::{Backend, PlainFixed, predict};
use dyad_proto::inference::Output;
use ndarray::{Array2, Axis};

use crate::data_args::DataArgs;
use dyad_server::datasets::inputs;
use dyad_server::model_file::{Holder, ModelFile};

#[derive(clap::Args)]
pub struct Args {
    /// The two servers' client endpoints, `host:port,host:port` (server 0 first).
    #[arg(long, value_delimiter = ',', required = true)]
    servers: Vec<String>,
    /// Directory with the servers' certificates `p0.cert.pem` and `p1.cert.pem`.
    #[arg(long)]
    certs: PathBuf,
    /// Inputs: a PNG of a digit, an IDX image file or CSV rows of pixel values. Without it, the
    /// held-out examples of the dataset below.
    #[arg(long)]
    input: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
    /// Predict at most this many inputs (0: all).
    #[arg(long, default_value_t = 10)]
    count: usize,
    /// Ask only for the class (argmax under MPC), not the logits.
    #[arg(long)]
    class: bool,
    /// A plaintext model file to compare with: its fixed-point predictions on the same inputs.
    #[arg(long)]
    reference: Option<PathBuf>,
    /// Load test: send requests for this many seconds instead, from `--clients` clients.
    #[arg(long)]
    load: Option<u64>,
    /// Concurrent clients of the load test.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// The load test's offered load, requests per second over all clients, spread evenly
    /// (each client still waits for its answer before the next request). Without it each
    /// client sends again as soon as it has its answer, which drains a stockpile within
    /// seconds: the offline pair makes a few Network-A requests' randomness per second.
    #[arg(long)]
    rate: Option<f64>,
    /// This client's token for servers run with `--client-tokens`: a file holding one token
    /// (both servers know the client by it) or two (server 0's, then server 1's).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Seconds to wait for a server.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

impl Args {
    fn servers(&self) -> anyhow::Result<[Server; 2]> {
        ensure!(self.servers.len() == 2, "--servers takes two addresses");
        servers(&self.servers, &self.certs, self.tokens()?)
    }

    /// The tokens of `--token-file`, one per server.
    fn tokens(&self) -> anyhow::Result<[Option<String>; 2]> {
        match &self.token_file {
            Some(path) => Ok(read_tokens(path)?.map(Some)),
            None => Ok([None, None]),
        }
    }

    fn output(&self) -> Output {
        match self.class {
            true => Output::Class,
            false => Output::Logits,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let timeout = Duration::from_secs(args.timeout);
        let mut client = Client::connect(args.servers()?, timeout).await?;
        let info = client.info().clone();
        let pixels = client.input_len();
        let (images, labels) = match &args.input {
            Some(path) => (inputs::load(path, pixels)?, None),
            None => {
                let (_, test) = args.data.load()?;
                (test.images, Some(test.labels))
            }
        };
        let n = match args.count {
            0 => images.nrows(),
            c => c.min(images.nrows()),
        };
        let images = images.slice(ndarray::s![..n, ..]).to_owned();
        println!(
            "{} served by two servers ({} x {} x {} inputs, {} classes); {n} inputs",
            info.name, info.channels, info.height, info.width, info.classes
        );
        if let Some(seconds) = args.load {
            return load_test(&args, &images, Duration::from_secs(seconds)).await;
        }

        let mut predictions = Vec::with_capacity(n);
        let mut latencies = Vec::with_capacity(n);
        for (k, row) in images.rows().into_iter().enumerate() {
            let start = Instant::now();
            let p = client
                .predict(row.as_slice().expect("contiguous"), args.output())
                .await?;
            latencies.push(start.elapsed());
            let label = labels
                .as_ref()
                .map(|l| format!(" (label {})", l[k]))
                .unwrap_or_default();
            if n <= 20 {
                match &p {
                    Prediction::Logits(l) => println!(
                        "input {k}: class {}{label}; logits {}",
                        p.class(),
                        l.iter()
                            .map(|v| format!("{v:.3}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    Prediction::Class(c) => println!("input {k}: class {c}{label}"),
                }
            }
            predictions.push(p);
        }
        if let Some(labels) = &labels {
            let right = predictions
                .iter()
                .zip(labels)
                .filter(|(p, l)| p.class() == usize::from(**l))
                .count();
            println!(
                "accuracy: {right}/{n} = {:.2}%",
                100.0 * right as f64 / n as f64
            );
        }
        print_latency("latency per request (sequential)", &mut latencies);
        if let Some(path) = &args.reference {
            compare(path, &images, &predictions, info.fractional_bits).await?;
        }
        Ok(())
    })
}

/// Compares the secure predictions with the plaintext fixed-point ones of the same model.
async fn compare(
    path: &std::path::Path,
    images: &Array2<f64>,
    predictions: &[Prediction],
    f: u32,
) -> anyhow::Result<()> {
    let model = ModelFile::read(path)?;
    ensure!(
        model.holder == Holder::Plain,
        "{} is a model share, not a plaintext model",
        path.display()
    );
    ensure!(
        model.fixed.f == f,
        "the reference uses another fixed-point encoding"
    );
    let mut fixed = PlainFixed::new(model.fixed);
    let i = model.network.input;
    let x = images
        .clone()
        .into_shape_with_order((images.nrows(), i.channels, i.height, i.width))?
        .into_dyn();
    let x = fixed.import(&x);
    let logits = predict(&mut fixed, &model.network, &model.params, x).await?;
    let scale = (1u64 << f) as f64;
    let mut agree = 0;
    let mut worst = 0u64;
    for (p, row) in predictions.iter().zip(logits.axis_iter(Axis(0))) {
        let reference: Vec<f64> = row.iter().map(|z| z.signed() as f64 / scale).collect();
        let want = Prediction::Logits(reference.clone()).class();
        agree += usize::from(p.class() == want);
        if let Prediction::Logits(l) = p {
            for (a, b) in l.iter().zip(&reference) {
                worst = worst.max(((a - b) * scale).abs().round() as u64);
            }
        }
    }
    println!(
        "plaintext fixed-point reference: argmax agreement {agree}/{} ({:.2}%){}",
        predictions.len(),
        100.0 * agree as f64 / predictions.len().max(1) as f64,
        match predictions.first() {
            Some(Prediction::Logits(_)) => format!("; logits differ by at most {worst} units"),
            _ => String::new(),
        }
    );
    Ok(())
}

/// `--clients` clients send requests round-robin over the inputs until the time is up.
async fn load_test(args: &Args, images: &Array2<f64>, length: Duration) -> anyhow::Result<()> {
    let load = Load {
        clients: args.clients,
        rate: args.rate,
        length,
        output: args.output(),
    };
    let inputs = images.rows().into_iter().map(|r| r.to_vec()).collect();
    let timeout = Duration::from_secs(args.timeout);
    let mut report = dyad_client::load::run(&args.servers()?, timeout, inputs, load).await?;
    let offered = args.rate.map_or("as fast as answered".into(), |r| {
        format!("{r} requests/s offered")
    });
    println!(
        "load test: {} clients for {:.0} s, {offered}: {} requests answered ({:.1}/s), {} failed",
        args.clients,
        length.as_secs_f64(),
        report.latencies.len(),
        report.latencies.len() as f64 / length.as_secs_f64(),
        report.failures.len()
    );
    print_latency("latency per request under load", &mut report.latencies);
    if let Some(f) = report.failures.first() {
        anyhow::bail!(
            "{} requests failed, the first with: {f}",
            report.failures.len()
        );
    }
    Ok(())
}

/// The two servers at `addrs` (server 0's first), each presenting its `p<i>.cert.pem` from
/// `certs` (as `dyad certs` makes them) under the name `dyad serve` uses by default.
pub(crate) fn servers(
    addrs: &[String],
    certs: &std::path::Path,
    tokens: [Option<String>; 2],
) -> anyhow::Result<[Server; 2]> {
    let server = |i: usize| -> anyhow::Result<Server> {
        let cert = certs.join(format!("p{i}.cert.pem"));
        Ok(Server {
            addr: addrs[i].clone(),
            cert_pem: std::fs::read(&cert)
                .with_context(|| format!("cannot read {}", cert.display()))?,
            name: dyad_link::server_name(dyad_link::PartyId::from_index(i).expect("0 or 1")),
            token: tokens[i].clone(),
        })
    };
    Ok([server(0)?, server(1)?])
}

/// The tokens in a token file, one per server: one token (both servers know its holder by it)
/// or two (server 0's, then server 1's).
pub(crate) fn read_tokens(path: &std::path::Path) -> anyhow::Result<[String; 2]> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    match text.split_whitespace().collect::<Vec<_>>()[..] {
        [both] => Ok([both.into(), both.into()]),
        [t0, t1] => Ok([t0.into(), t1.into()]),
        _ => anyhow::bail!(
            "{} must hold one token, or two (server 0's, then server 1's)",
            path.display()
        ),
    }
}

/// Prints the median, 99th percentile and largest of `latencies`.
pub(crate) fn print_latency(what: &str, latencies: &mut [Duration]) {
    if latencies.is_empty() {
        return;
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3
    );
}
