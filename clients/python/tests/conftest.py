"""A real two-server deployment from the `dyad` binary, started once for the test session:
certificates, both stockpiles, an offline worker pair stocking served requests, a small model
trained in plaintext by its owner and split into the servers' shares, and both `dyad serve`."""

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

#: A small dense network on the bundled digits' shape: its plaintext forward pass is a few
#: lines of numpy (see test_client.py).
MODEL = "input 1 28 28\nflatten\ndense 16\nrelu\ndense 10\n"


def dyad_binary() -> Path:
    """`DYAD_BIN`, else the debug build under `$CARGO_TARGET_DIR` or the repository's `target/`."""
    if "DYAD_BIN" in os.environ:
        return Path(os.environ["DYAD_BIN"])
    for root in [os.environ.get("CARGO_TARGET_DIR"), REPO / "target"]:
        if root and (Path(root) / "debug" / "dyad").is_file():
            return Path(root) / "debug" / "dyad"
    found = shutil.which("dyad")
    if found:
        return Path(found)
    pytest.exit("no dyad binary: build it (`cargo build -p dyad`) or set DYAD_BIN", 2)


def free_port(kind) -> str:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def wait_for(what: str, ready, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout} s")
        time.sleep(0.2)


@dataclass
class Deployment:
    dir: Path
    certs: Path
    clients: list
    plaintext_model: Path
    binary: Path
    #: This client's token at server 0 and at server 1 (each server keeps its own list).
    tokens: list
    #: Each server's stockpile address and the file holding its token.
    stores: list
    store_tokens: list


@pytest.fixture(scope="session")
def deployment(tmp_path_factory):
    binary = dyad_binary()
    root = tmp_path_factory.mktemp("dyad")
    processes = []

    def run(*args):
        out = subprocess.run([str(binary), *args], capture_output=True, text=True, cwd=root)
        if out.returncode != 0:
            raise RuntimeError(f"dyad {' '.join(args)} failed:\n{out.stderr}")
        return out.stdout

    def start(log: str, *args):
        with open(root / log, "w") as err:
            processes.append(
                subprocess.Popen([str(binary), *args], stdout=subprocess.DEVNULL, stderr=err, cwd=root)
            )

    def log_says(log: str, text: str) -> bool:
        for p in processes:
            if p.poll() not in (None, 0):
                raise RuntimeError(f"a dyad process exited with {p.returncode}; see {root}")
        return text in (root / log).read_text()

    try:
        certs = root / "certs"
        run("certs", "--out", str(certs))
        stores = [free_port(socket.SOCK_STREAM) for _ in range(2)]
        tokens = [root / f"store{i}" / "token" for i in range(2)]
        for i in range(2):
            start(f"store{i}.log", "store", "--party", str(i), "--data", str(root / f"store{i}"),
                  "--listen", stores[i])
        for token in tokens:
            wait_for(str(token), token.is_file)

        # The model owner: a plaintext model, split into the two servers' shares.
        (root / "small.model").write_text(MODEL)
        run("train-plain", "--model", "small.model", "--train", "256", "--test", "64",
            "--batch", "32", "--lr-shift", "1", "--arithmetic", "float", "--out", "plain")
        run("import", "--model", "plain/model-float.dyad", "--out", "shares")

        def server(command: str, i: int, link: str, *extra):
            side = "--listen" if i == 0 else "--peer"
            start(f"{command}{i}.log", command, "--party", str(i), "--certs", str(certs), side, link,
                  "--store", stores[i], "--store-token", str(tokens[i]), *extra)

        (root / "plan.txt").write_text(run("plan", "--model", "small.model", "--inferences", "64"))
        link = free_port(socket.SOCK_DGRAM)
        for i in range(2):
            server("offline", i, link, "--plan", "plan.txt", "--idle-ms", "200", "--timeout", "60")

        clients = [free_port(socket.SOCK_STREAM) for _ in range(2)]
        client_tokens = [os.urandom(16).hex() for _ in range(2)]
        for i, token in enumerate(client_tokens):
            (root / f"clients{i}.txt").write_text(f"# who may ask server {i}\npytest {token}\n")
        link = free_port(socket.SOCK_DGRAM)
        for i in range(2):
            server("serve", i, link, "--model", f"shares/model.p{i}.dyad", "--clients", clients[i],
                   "--stock-wait", "60", "--client-tokens", f"clients{i}.txt")
        for i in range(2):
            wait_for(f"server {i}", lambda i=i: log_says(f"serve{i}.log", "; serving"))

        yield Deployment(root, certs, clients, root / "plain" / "model-float.dyad", binary,
                         client_tokens, stores, tokens)
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
