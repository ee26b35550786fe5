//! The Compose deployment (`deploy/compose/compose.yaml`) for real: the image built from the
//! binary under test, both parties in their own networks with two lanes each, Network-A trained
//! for one short epoch through party 0's relay, then served; a client on this machine asks the
//! servers through their published client ports and checks the answers against the model the
//! two servers trained (revealed from their shares). Everything runs under a project name of
//! its own, and everything it made (containers, networks, volumes, the image) is removed at the
//! end, also when the test fails.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::environment::needs;
#[path = "../../xtask/src/image/mod.rs"]
mod image;
use crate::support::*;

const COMPOSE_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/compose/compose.yaml"
);

/// The job: 256 training digits in batches of 128 (two steps), 128 held out, one epoch.
const JOB: &[(&str, &str)] = &[
    ("DYAD_TRAIN", "256"),
    ("DYAD_TEST", "128"),
    ("DYAD_EPOCHS", "1"),
    ("DYAD_BATCH", "128"),
    ("DYAD_LR_SHIFT", "2"),
    ("DYAD_PREDICT", "4"),
];

/// How long the deployment may take to train and start serving before the test gives up
/// (about three minutes on two cores; a hang must not hold CI until its own limit).
const PATIENCE: Duration = Duration::from_secs(20 * 60);

#[test]
fn compose_deployment_trains_and_serves_across_two_parties() {
    let test = "compose_deployment_trains_and_serves_across_two_parties";
    let Some(compose) = needs(test, find_compose()) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let project = format!("dyad-e2e-{}", std::process::id());
    let tag = format!("dyad-e2e:{}", std::process::id());
    let built = image::build(
        Path::new(DYAD),
        std::slice::from_ref(&tag),
        &dir.path().join("image"),
    )
    .unwrap_or_else(|e| panic!("cannot build the image: {e}"));
    eprintln!(
        "{test}: image {} ({:.1} MB), project {project}, {}",
        built.tags.join(" "),
        built.size as f64 / 1e6,
        compose.join(" ")
    );
    let deployment = Project {
        compose,
        name: project,
        image: tag,
    };

    // `up` returns once every service has started, which the dependencies order: the servers
    // after the training jobs completed, the client after the servers are healthy.
    let mut up = deployment
        .command(&["up", "-d", "--no-color"])
        .spawn()
        .expect("compose starts");
    let status = wait(&mut up, PATIENCE).unwrap_or_else(|| {
        panic!("the deployment did not train and start serving within {PATIENCE:?}")
    });
    assert!(status.success(), "compose up failed ({status})");
    let client = deployment.container("client");
    assert_eq!(exit_code(&client, PATIENCE), 0, "{}", logs(&client));

    // Both training jobs finished the same job and revealed the same accuracies.
    let trainers = [0, 1].map(|i| deployment.container(&format!("trainer-{i}")));
    let summaries = trainers.each_ref().map(|t| {
        assert_eq!(exit_code(t, Duration::ZERO), 0, "{}", logs(t));
        let log = logs(t);
        assert!(
            log.contains("trained net-a for 1 epochs of 2 steps"),
            "{log}"
        );
        log.lines()
            .filter(|l| l.contains("test accuracy"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    assert!(!summaries[0].is_empty(), "no accuracy revealed");
    assert_eq!(summaries[0], summaries[1]);
    // The demo's client predicted held-out digits through the `clients` network.
    let predicted = logs(&client);
    assert!(predicted.contains("accuracy: "), "{predicted}");

    // The model the two servers trained, revealed from their shares, against what they serve
    // through the ports published on this machine.
    for (i, trainer) in trainers.iter().enumerate() {
        let share = format!("/var/lib/dyad/train/model.p{i}.dyad");
        docker_ok(&["cp", &format!("{trainer}:{share}"), s(dir.path())]);
    }
    let model = dir.path().join("model.dyad");
    let share = |i: usize| dir.path().join(format!("model.p{i}.dyad"));
    let out = reveal_model(&share(0), &share(1), &model);
    assert!(out.status.success(), "{}", text(&out.stderr));
    docker_ok(&["cp", &format!("{client}:/client/certs"), s(dir.path())]);
    let ports = [0, 1].map(|i| {
        let server = deployment.container(&format!("server-{i}"));
        let port = docker_ok(&["port", &server, "7400/tcp"]);
        port.lines()
            .next()
            .expect("a published port")
            .trim()
            .to_owned()
    });
    let out = run(&[
        "predict",
        "--servers",
        &ports.join(","),
        "--certs",
        s(&dir.path().join("certs")),
        "--train",
        "256",
        "--test",
        "128",
        "--count",
        "4",
        "--reference",
        s(&model),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("argmax agreement 4/4"), "{stdout}");
}

/// The Compose command here: Debian's `docker-compose` 1.29, else the `docker compose` plugin;
/// either needs a Docker daemon that answers.
fn find_compose() -> Result<Vec<String>, String> {
    let answers = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !answers("docker", &["info"]) {
        return Err("no Docker daemon answers `docker info`".into());
    }
    if answers("docker-compose", &["version"]) {
        return Ok(vec!["docker-compose".into()]);
    }
    if answers("docker", &["compose", "version"]) {
        return Ok(vec!["docker".into(), "compose".into()]);
    }
    Err("neither docker-compose nor `docker compose` runs".into())
}

/// One Compose project of the test, taken down with its volumes and image when dropped.
struct Project {
    compose: Vec<String>,
    name: String,
    image: String,
}

impl Project {
    /// A Compose command on this project, with the image and the job in its environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.compose[0]);
        command
            .args(&self.compose[1..])
            .args(["-p", &self.name, "-f", COMPOSE_FILE])
            .args(args)
            .env("DYAD_IMAGE", &self.image)
            .envs(JOB.iter().copied())
            .stdin(Stdio::null());
        command
    }

    /// The id of the container of `service` (running or not).
    fn container(&self, service: &str) -> String {
        let out = docker_ok(&[
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.name),
            "--filter",
            &format!("label=com.docker.compose.service={service}"),
        ]);
        let ids: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(ids.len(), 1, "{service}: containers {ids:?}");
        ids[0].to_owned()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let out = self
                .command(&["logs", "--no-color", "--tail", "30"])
                .output();
            if let Ok(out) = out {
                eprintln!("the deployment's last log lines:\n{}", text(&out.stdout));
            }
        }
        let down = self
            .command(&["down", "--volumes", "--remove-orphans", "--timeout", "10"])
            .output();
        if !down.as_ref().is_ok_and(|o| o.status.success()) {
            eprintln!("could not take the project {} down: {down:?}", self.name);
        }
        let _ = docker(&["image", "rm", "--force", &self.image]);
    }
}

/// Waits up to `patience` for `child` to exit; kills it after.
fn wait(child: &mut Child, patience: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The exit code of `container` once it has exited, waiting up to `patience`.
fn exit_code(container: &str, patience: Duration) -> i64 {
    let deadline = Instant::now() + patience;
    loop {
        let state = docker_ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            container,
        ]);
        if let Some(code) = state.trim().strip_prefix("exited ") {
            return code.parse().expect("an exit code");
        }
        assert!(
            Instant::now() < deadline,
            "{container} is still {state}: {}",
            logs(container)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A container's output, both streams.
fn logs(container: &str) -> String {
    let out = docker(&["logs", container]);
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("docker runs")
}

/// `docker args...`, which must succeed; its standard output.
fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}
