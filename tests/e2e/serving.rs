//! Secure inference as real processes: a plaintext model trained and imported by its owner,
//! an offline pair stocking served requests, both `dyad serve` servers, and clients over TLS.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dyad_client::{Client, Prediction, Server, channel, request_id, share};
use dyad_proto::inference::inference_client::InferenceClient;
use dyad_proto::inference::{Output, PredictRequest};
use tonic::Code;

use crate::deployment::Deployment;
use crate::support::*;

pub const MODEL: &str = "\
input 1 28 28
conv 3 4 stride=4
relu
flatten
dense 10
";

pub fn servers(d: &Deployment, addrs: &[String; 2]) -> [Server; 2] {
    [0, 1].map(|i| Server {
        addr: addrs[i].clone(),
        cert_pem: std::fs::read(d.certs().join(format!("p{i}.cert.pem"))).expect("cert"),
        name: format!("dyad-p{i}"),
        token: None,
    })
}

/// The model owner's part: the small model trained in plaintext and split into the servers'
/// shares. Returns the model description, the plaintext model and the shares' directory.
pub fn owner_shares(d: &Deployment) -> (PathBuf, PathBuf, PathBuf) {
    let model = d.path("small.model");
    std::fs::write(&model, MODEL).expect("model file");
    let plain = d.path("plain");
    let out = run(&[
        "train-plain",
        "--model",
        s(&model),
        "--train",
        "256",
        "--test",
        "64",
        "--batch",
        "32",
        "--lr-shift",
        "1",
        "--arithmetic",
        "float",
        "--out",
        s(&plain),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reference = plain.join("model-float.dyad");
    let shares = d.path("shares");
    let out = run(&["import", "--model", s(&reference), "--out", s(&shares)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (model, reference, shares)
}

/// `dyad predict` against the servers of `d` at `addrs` (comma-separated), on the bundled
/// digits split as the model owner split them, with `extra` options.
fn predict_command(d: &Deployment, addrs: &str, extra: &[&str]) -> Vec<String> {
    let certs = d.certs();
    let common = ["predict", "--servers", addrs, "--certs", s(&certs)];
    let split = ["--train", "256", "--test", "64"];
    common
        .iter()
        .chain(&split)
        .chain(extra)
        .map(|a| a.to_string())
        .collect()
}

/// Runs [`predict_command`] to completion.
pub fn predict(d: &Deployment, addrs: &str, extra: &[&str]) -> std::process::Output {
    let args = predict_command(d, addrs, extra);
    run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Starts [`predict_command`] (a load, say) in the background.
pub fn predict_load(d: &Deployment, addrs: &str, extra: &[&str]) -> Running {
    let args = predict_command(d, addrs, extra);
    Running::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Starts both `dyad serve` servers of `d` on the model shares in `shares`, linked over
/// `link`, answering clients at `clients`, each with the options `extra[i]` too; logs go to
/// `serve<i>.log`. Returns once both say they serve.
pub fn start_servers(
    d: &Deployment,
    shares: &Path,
    link: &str,
    clients: &[String; 2],
    extra: [&[&str]; 2],
) -> [Running; 2] {
    let servers = [0, 1].map(|i| {
        let share = shares.join(format!("model.p{i}.dyad"));
        let mut args = vec!["--model", s(&share), "--clients", &clients[i]];
        args.extend_from_slice(extra[i]);
        let log = d.path(&format!("serve{i}.log"));
        d.server_process("serve", i, link, &d.certs(), &args, &log)
    });
    for i in 0..2 {
        wait_for_log(
            &d.path(&format!("serve{i}.log")),
            "; serving",
            Duration::from_secs(120),
        );
    }
    servers
}

#[test]
fn two_servers_answer_like_the_plaintext_model_and_survive_bad_requests() {
    let d = Deployment::start();
    let (model, reference, shares) = owner_shares(&d);

    let _workers = d.stock(&["--model", s(&model), "--inferences", "60"]);

    let link = d.link_addr(0);
    let clients = [d.client_addr(0), d.client_addr(1)];
    let metrics = free_tcp_addr().to_string();
    let common = ["--pair-timeout", "2", "--stock-wait", "60"];
    let with_metrics = [&common[..], &["--metrics", metrics.as_str()]].concat();
    let serving = start_servers(&d, &shares, &link, &clients, [&with_metrics, &common]);

    // A client on 16 held-out digits, against the plaintext fixed-point model.
    let addrs = format!("{},{}", clients[0], clients[1]);
    let certs = d.certs();
    // `dyad predict` against both servers, on the held-out split of the bundled digits.
    let predict = |extra: &[&str]| {
        let mut args = vec![
            "predict",
            "--servers",
            &addrs,
            "--certs",
            s(&certs),
            "--train",
            "256",
            "--test",
            "64",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let out = predict(&["--count", "16", "--reference", s(&reference)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("argmax agreement 16/16"), "{stdout}");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let servers = servers(&d, &clients);
        let timeout = Duration::from_secs(60);
        let mut client = Client::connect(servers.clone(), timeout)
            .await
            .expect("connects");
        let input = vec![0.5; client.input_len()];
        let logits = client
            .predict(&input, Output::Logits)
            .await
            .expect("logits");
        let class = client.predict(&input, Output::Class).await.expect("class");
        assert_eq!(class, Prediction::Class(logits.class()), "{logits:?}");

        let mut raw = Vec::new();
        for (i, server) in servers.iter().enumerate() {
            raw.push(InferenceClient::new(
                channel(i, server, timeout).await.expect("channel"),
            ));
        }
        let mut rng = rand::make_rng::<rand_chacha::ChaCha20Rng>();
        let request = |id: &str, input_share: Vec<u64>, output: Output| PredictRequest {
            request_id: id.into(),
            input_share,
            output: output as i32,
        };
        // A wrong input size and a malformed id: INVALID_ARGUMENT, naming the problem.
        let err = raw[0]
            .predict(request("ok-id", vec![1, 2, 3], Output::Logits))
            .await
            .expect_err("3 values");
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("784"), "{}", err.message());
        let err = raw[0]
            .predict(request("bad id!", vec![0; 784], Output::Logits))
            .await
            .expect_err("bad id");
        assert_eq!(err.code(), Code::InvalidArgument);
        // A request only one server receives expires.
        let id = request_id(&mut rng);
        let err = raw[0]
            .predict(request(&id, vec![0; 784], Output::Logits))
            .await
            .expect_err("server 1 never hears of it");
        assert_eq!(err.code(), Code::DeadlineExceeded, "{}", err.message());
        // Both servers asked for different outputs.
        let [x0, x1] = share(&input, 16, &mut rng).expect("shares");
        let id = request_id(&mut rng);
        let (mut c0, mut c1) = (raw[0].clone(), raw[1].clone());
        let (a, b) = tokio::join!(
            c0.predict(request(&id, x0, Output::Logits)),
            c1.predict(request(&id, x1, Output::Class))
        );
        for r in [a, b] {
            let err = r.expect_err("different outputs");
            assert_eq!(err.code(), Code::InvalidArgument);
            assert!(
                err.message().contains("different outputs"),
                "{}",
                err.message()
            );
        }
        // The servers still serve, also over the streaming call.
        // (Truncation rounds at random: a rerun may differ in the last bits.)
        let again = client
            .predict(&input, Output::Logits)
            .await
            .expect("still serving");
        let (Prediction::Logits(a), Prediction::Logits(b)) = (&again, &logits) else {
            panic!("logits were asked for");
        };
        assert!(
            a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 8.0 / 65536.0),
            "{a:?} vs {b:?}"
        );
        let [x0, x1] = share(&input, 16, &mut rng).expect("shares");
        let id = request_id(&mut rng);
        let stream = |x: Vec<u64>| futures::stream::iter(vec![request(&id, x, Output::Class)]);
        let (a, b) = tokio::join!(c0.predict_stream(stream(x0)), c1.predict_stream(stream(x1)));
        let (mut a, mut b) = (
            a.expect("stream").into_inner(),
            b.expect("stream").into_inner(),
        );
        let (a, b) = (
            a.message().await.expect("answer").expect("one"),
            b.message().await.expect("answer").expect("one"),
        );
        let class_of_stream = dyad_client::reconstruct(&a, &b, Output::Class, 16).expect("pairs");
        assert_eq!(class_of_stream, class);
    });

    // A short paced load test: concurrent clients, batched evaluations, no failure.
    let out = predict(&["--load", "2", "--clients", "3", "--rate", "9", "--class"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("0 failed") && stdout.contains("p99"),
        "{stdout}"
    );

    // Server 0's metrics saw all of it: answers and refusals, their latency, batches of the
    // load test, the link, and its stock.
    let page = http_get(&metrics);
    let value = |series: &str| metric(&page, series).unwrap_or_else(|| panic!("{series}:\n{page}"));
    assert!(value("dyad_serve_requests_total{status=\"Ok\"}") >= 20.0);
    assert!(value("dyad_serve_requests_total{status=\"InvalidArgument\"}") >= 3.0);
    assert!(value("dyad_serve_requests_total{status=\"DeadlineExceeded\"}") >= 1.0);
    assert!(value("dyad_serve_request_seconds_count") >= 25.0);
    assert!(value("dyad_serve_batch_size_count") >= 1.0);
    assert!(value("dyad_serve_link_rounds_total") > 0.0);
    assert!(
        page.contains("dyad_serve_stock{stream=\"matrix-triple/"),
        "{page}"
    );

    for (i, server) in serving.into_iter().enumerate() {
        server.signal("TERM");
        let out = server.finish();
        let log = std::fs::read_to_string(d.path(&format!("serve{i}.log"))).unwrap_or_default();
        assert!(out.status.success(), "server {i}: {log}");
        assert!(log.contains("stopped cleanly"), "server {i}: {log}");
    }
}

/// `dyad serve` stops within seconds of SIGTERM whatever its peer is doing: before the other
/// server ever connects, and after the other server died mid-session (issue 13).
#[test]
fn servers_stop_on_sigterm_alone_and_after_losing_their_peer() {
    let d = Deployment::start();
    let (_, _, shares) = owner_shares(&d);
    let serve = |i: usize, link: &str, log: &str, health: &str| {
        let share = shares.join(format!("model.p{i}.dyad"));
        let clients = free_tcp_addr().to_string();
        let extra = [
            "--model",
            s(&share),
            "--clients",
            &clients,
            "--health",
            health,
        ];
        d.server_process("serve", i, link, &d.certs(), &extra, &d.path(log))
    };
    let health = [0, 1].map(|_| free_tcp_addr().to_string());
    let log = |name: &str| std::fs::read_to_string(d.path(name)).unwrap_or_default();

    // Alone: waiting for the other server to connect.
    let link = free_udp_addr().to_string();
    let mut alone = serve(0, &link, "alone.log", &health[0]);
    wait_for_log(
        &d.path("alone.log"),
        "connecting to the other server",
        Duration::from_secs(60),
    );
    // Alive, accepting clients, but not ready without the other server.
    let waiting = wait_for_http(&health[0], "/readyz", "accepting", Duration::from_secs(10));
    assert!(
        waiting.contains("503") && waiting.contains("peer: NOT READY"),
        "{waiting}"
    );
    assert!(http_get_path(&health[0], "/healthz").contains("200 OK"));
    alone.signal("TERM");
    assert!(
        alone.exits_within(Duration::from_secs(10)),
        "a server waiting for its peer ignored SIGTERM: {}",
        log("alone.log")
    );
    assert!(log("alone.log").contains("stopped before the other server connected"));

    // Paired, then the other server is killed: this one stops all the same.
    let link = free_udp_addr().to_string();
    let mut server0 = serve(0, &link, "pair0.log", &health[0]);
    let server1 = serve(1, &link, "pair1.log", &health[1]);
    for (name, health) in ["pair0.log", "pair1.log"].iter().zip(&health) {
        wait_for_log(&d.path(name), "; serving", Duration::from_secs(60));
        let ready = wait_for_http(health, "/readyz", "200 OK", Duration::from_secs(10));
        assert!(ready.contains("peer: paired"), "{ready}");
    }
    std::thread::sleep(Duration::from_millis(500));
    server1.kill();
    std::thread::sleep(Duration::from_secs(1));
    server0.signal("TERM");
    assert!(
        server0.exits_within(Duration::from_secs(10)),
        "a server whose peer died ignored SIGTERM: {}",
        log("pair0.log")
    );
}
