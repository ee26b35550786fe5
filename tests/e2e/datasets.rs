//! Data owners and the dataset services (issue 31) as real processes: both servers'
//! `dyad datasets`, owners' `dyad upload`s, and both servers' `dyad train` on the union of the
//! owners' datasets against the plaintext reference on the same union; an upload cut by a full
//! disk and a killed service, resumed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dyad_server::datasets::{Dataset, bundled};

use crate::deployment::Deployment;
use crate::environment::{self, Tmpfs};
use crate::support::*;
use crate::training::curve;

const ALICE: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const BOB: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";

/// Each owner's part of the digits: 128 training and 32 test examples.
const TRAIN_PART: usize = 128;
const TEST_PART: usize = 32;

/// Both servers' dataset services.
struct Services {
    processes: Vec<Running>,
    addrs: [String; 2],
    dirs: [PathBuf; 2],
}

impl Services {
    /// Starts both, storing in `dirs`.
    fn start(d: &Deployment, dirs: [PathBuf; 2]) -> Services {
        let tokens = d.path("owners.txt");
        std::fs::write(&tokens, format!("alice {ALICE}\nbob {BOB}\n")).expect("owner list");
        let addrs = [0, 1].map(|_| free_tcp_addr().to_string());
        let processes = (0..2).map(|i| service(d, i, &addrs[i], &dirs[i])).collect();
        Services {
            processes,
            addrs,
            dirs,
        }
    }
}

/// `dyad datasets` for `party`, waited for.
fn service(d: &Deployment, party: usize, addr: &str, dir: &Path) -> Running {
    let log = d.path(&format!("datasets{party}.log"));
    let _ = std::fs::remove_file(&log);
    let party_text = party.to_string();
    let tokens = d.path("owners.txt");
    let running = Running::spawn_logged(
        &[
            "datasets",
            "--party",
            &party_text,
            "--certs",
            s(&d.certs()),
            "--listen",
            addr,
            "--dir",
            s(dir),
            "--owner-tokens",
            s(&tokens),
        ],
        &log,
    );
    wait_for_log(&log, "dataset service on", Duration::from_secs(30));
    running
}

/// `dyad upload` as the owner holding `token`, with `extra` arguments.
fn upload(
    d: &Deployment,
    services: &Services,
    token: &str,
    extra: &[&str],
) -> std::process::Output {
    let token_file = d.path(&format!("token-{}", &token[..2]));
    std::fs::write(&token_file, token).expect("token file");
    let servers = services.addrs.join(",");
    let certs = d.certs();
    let mut args = vec![
        "upload",
        "--servers",
        &servers,
        "--certs",
        s(&certs),
        "--token-file",
        s(&token_file),
    ];
    args.extend_from_slice(extra);
    let mut command = dyad();
    command.current_dir(d.path(""));
    command.args(&args).output().expect("dyad upload runs")
}

/// The bundled digits shuffled, as CSV lines (784 pixel values 0..=255, then the label).
fn digits_csv(rows: std::ops::Range<usize>) -> String {
    let all = bundled().expect("digits");
    let (shuffled, _) = all.split(all.len(), 0, 7).expect("shuffled");
    csv_lines(&shuffled, rows)
}

fn csv_lines(data: &Dataset, rows: std::ops::Range<usize>) -> String {
    rows.map(|r| {
        let pixels: Vec<String> = data
            .images
            .row(r)
            .iter()
            .map(|v| ((v * 255.0).round() as u8).to_string())
            .collect();
        format!("{},{}\n", pixels.join(","), data.labels[r])
    })
    .collect()
}

/// An owner's part: `TRAIN_PART` training then `TEST_PART` test examples from `first` on.
fn part(first: usize) -> (String, String) {
    let per = TRAIN_PART + TEST_PART;
    let lines = digits_csv(first..first + per);
    let mut train = String::new();
    let mut test = String::new();
    for (k, line) in lines.lines().enumerate() {
        let out = if k < TRAIN_PART {
            &mut train
        } else {
            &mut test
        };
        out.push_str(line);
        out.push('\n');
    }
    (train, test)
}

#[test]
fn owners_upload_their_parts_and_both_servers_train_on_the_union() {
    let d = Deployment::start();
    let services = Services::start(&d, [d.path("datasets-p0"), d.path("datasets-p1")]);
    // Alice and Bob hold disjoint parts of the digits and upload them as CSV files.
    let parts = [part(0), part(TRAIN_PART + TEST_PART)];
    for ((train, test), (name, token)) in
        parts.iter().zip([("alice-part", ALICE), ("bob-part", BOB)])
    {
        let file = d.path(&format!("{name}.csv"));
        std::fs::write(&file, format!("{train}{test}")).expect("csv");
        let out = upload(
            &d,
            &services,
            token,
            &[
                "--name",
                name,
                "--data",
                s(&file),
                "--train",
                &TRAIN_PART.to_string(),
                "--test",
                &TEST_PART.to_string(),
                "--in-order",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("MB/s per server"),
            "{}",
            text(&out.stdout)
        );
    }
    // Each owner lists only its own; Bob cannot delete Alice's.
    let out = upload(&d, &services, BOB, &["--list"]);
    let listed = text(&out.stdout);
    assert!(
        listed.contains("bob-part") && !listed.contains("alice-part"),
        "{listed}"
    );
    let out = upload(&d, &services, BOB, &["--name", "alice-part", "--delete"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("another owner's"),
        "{}",
        text(&out.stderr)
    );

    // Both servers train on the union, each from its own store.
    let model = d.path("small.model");
    std::fs::write(&model, crate::training::MODEL).expect("model");
    let union_train = (2 * TRAIN_PART).to_string();
    let union_test = (2 * TEST_PART).to_string();
    // The plan counts the union's examples from the store.
    let mut plan = vec![
        "--model",
        s(&model),
        "--dataset",
        "alice-part,bob-part",
        "--datasets",
        s(&services.dirs[0]),
    ];
    plan.extend_from_slice(crate::training::JOB);
    let _workers = d.stock(&plan);
    let link = free_udp_addr().to_string();
    let trainer = |party: usize, names: &str, log: &str| {
        let out = d.path(&format!("union-p{party}"));
        let mut args = vec![
            "--timeout",
            "60",
            "--dataset",
            names,
            "--datasets",
            s(&services.dirs[party]),
            "--model",
            s(&model),
            "--out",
            s(&out),
        ];
        args.extend_from_slice(crate::training::JOB);
        d.server_process("train", party, &link, &d.certs(), &args, &d.path(log))
    };
    // Servers naming different datasets refuse to start, and say so.
    let t0 = trainer(0, "alice-part,bob-part", "refused0.log");
    let t1 = trainer(1, "alice-part", "refused1.log");
    for (t, log) in [(t0, "refused0.log"), (t1, "refused1.log")] {
        let out = t.finish();
        let log = std::fs::read_to_string(d.path(log)).unwrap_or_default();
        assert!(
            !out.status.success() && log.contains("refusing to start") && log.contains("bob-part"),
            "{log}"
        );
    }
    let t0 = trainer(0, "bob-part,alice-part", "union0.log");
    let t1 = trainer(1, "alice-part,bob-part", "union1.log");
    crate::training::finish_ok(&d, t0, "union0.log");
    crate::training::finish_ok(&d, t1, "union1.log");
    let secure = curve(&d.path("union-p0/curve.csv"));
    assert_eq!(secure, curve(&d.path("union-p1/curve.csv")));

    // The plaintext reference on the same union: the parts in the order of their names,
    // training examples first.
    let union = d.path("union.csv");
    let text_of = |k: usize, test: bool| if test { &parts[k].1 } else { &parts[k].0 };
    let joined = [
        text_of(0, false),
        text_of(1, false),
        text_of(0, true),
        text_of(1, true),
    ]
    .map(String::as_str)
    .concat();
    std::fs::write(&union, joined).expect("union csv");
    let plain_out = d.path("union-plain");
    let mut args = vec![
        "train-plain",
        "--model",
        s(&model),
        "--data",
        s(&union),
        "--train",
        &union_train,
        "--test",
        &union_test,
        "--in-order",
        "--arithmetic",
        "float",
        "--out",
        s(&plain_out),
    ];
    args.extend_from_slice(crate::training::JOB);
    let out = run(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let float = curve(&plain_out.join("curve-float.csv"));
    assert_eq!(float.len(), secure.len(), "{float:?} vs {secure:?}");
    for (secure, float) in secure.iter().zip(&float) {
        assert_eq!(secure.1, float.1, "evaluated at other steps");
        assert!(
            (secure.2 - float.2).abs() <= 4.0 / 64.0,
            "{secure:?} vs {float:?}"
        );
    }
    d.stop(services.processes);
}

/// Server 0's datasets on a 2 MiB tmpfs: an upload of 2.8 MB per server fills it; server 0
/// says RESOURCE_EXHAUSTED and keeps what arrived, server 1 completes, nothing is visible at
/// server 0. With room again and server 0's service killed and restarted, the same command
/// resumes with the same shares (kept on the owner's machine) and completes.
#[test]
fn an_upload_cut_by_a_full_disk_and_a_killed_service_resumes() {
    let Some(tmpfs) = environment::needs(
        "an_upload_cut_by_a_full_disk_and_a_killed_service_resumes",
        Tmpfs::mount(2),
    ) else {
        return;
    };
    let d = Deployment::start();
    let mut services = Services::start(&d, [tmpfs.root().to_owned(), d.path("datasets-p1")]);
    let file = d.path("big.csv");
    std::fs::write(&file, digits_csv(0..440)).expect("csv");
    let args = [
        "--name",
        "big",
        "--data",
        s(&file),
        "--train",
        "400",
        "--test",
        "40",
    ];
    let out = upload(&d, &services, ALICE, &args);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("server 0") && stderr.contains("resume later"),
        "{stderr}"
    );
    let part = tmpfs.join("incoming/big/share.part");
    let held = std::fs::metadata(&part).expect("kept").len();
    assert!(held > 0, "nothing kept");
    assert!(!tmpfs.join("datasets/big").exists(), "half visible");

    tmpfs.resize(16);
    let killed = services.processes.remove(0);
    killed.kill();
    services
        .processes
        .insert(0, service(&d, 0, &services.addrs[0], &services.dirs[0]));
    let out = upload(&d, &services, ALICE, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("resuming with the shares"),
        "{}",
        text(&out.stderr)
    );
    let out = upload(&d, &services, ALICE, &["--list"]);
    let listed = text(&out.stdout);
    assert_eq!(listed.matches("big ").count(), 2, "{listed}");
    assert!(
        !d.path(".dyad-upload/big").exists(),
        "the owner's copies are removed"
    );
    d.stop(services.processes);
}
