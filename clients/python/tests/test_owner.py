"""Data owners against both servers' real `dyad datasets` services (issue 31): one owner uploads
from Python with `DataOwner`, two with `dyad upload`; both servers train Network-A on the union
of the three datasets with an offline worker pair stocking the job, and the secure curve tracks
the plaintext reference on the same union."""

import csv
import gzip
import os
import socket
import struct
import subprocess

import grpc
import numpy as np
import pytest

from conftest import REPO, free_port, wait_for
from dyad_client import DataOwner, DyadError, decode, share_files

#: Each owner's part: training then test examples.
TRAIN, TEST = 128, 100
#: The job both servers run on the union (and the plaintext reference with them).
JOB = ["--model", "net-a", "--epochs", "1", "--batch", "32", "--lr-shift", "3", "--eval-every", "4"]


@pytest.fixture(scope="module")
def services(deployment):
    """Both servers' dataset services, with owners alice (Python), bob and carol (the CLI)."""
    root = deployment.dir
    tokens = {who: os.urandom(16).hex() for who in ("alice", "bob", "carol")}
    (root / "owners.txt").write_text("".join(f"{w} {t}\n" for w, t in tokens.items()))
    addresses = [free_port(socket.SOCK_STREAM) for _ in range(2)]
    processes = []
    for i in range(2):
        log = open(root / f"datasets{i}.log", "w")
        processes.append(subprocess.Popen(
            [str(deployment.binary), "datasets", "--party", str(i), "--certs", str(deployment.certs),
             "--listen", addresses[i], "--dir", str(root / f"datasets{i}"),
             "--owner-tokens", str(root / "owners.txt")],
            stdout=subprocess.DEVNULL, stderr=log, cwd=root))
    for i in range(2):
        wait_for(f"dataset service {i}",
                 lambda i=i: "dataset service on" in (root / f"datasets{i}.log").read_text())
    yield addresses, tokens
    for p in processes:
        p.terminate()
        p.wait(timeout=10)


def digits():
    """The bundled digits (pixels in [0, 1], labels), shuffled with a fixed seed."""
    with gzip.open(REPO / "data" / "mnist_5k.csv.gz", "rt") as f:
        rows = np.loadtxt(f, delimiter=",")
    rows = rows[np.random.default_rng(7).permutation(len(rows))]
    return rows[:, :784] / 255.0, rows[:, 784].astype(np.int64)


def write_csv(path, images, labels):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        for x, y in zip(images, labels):
            w.writerow([int(round(v * 255)) for v in x] + [int(y)])


def upload_cli(deployment, addresses, token, *args):
    token_file = deployment.dir / f"token-{token[:6]}"
    token_file.write_text(token)
    return subprocess.run(
        [str(deployment.binary), "upload", "--servers", ",".join(addresses),
         "--certs", str(deployment.certs), "--token-file", str(token_file), *args],
        capture_output=True, text=True, cwd=deployment.dir)


def test_share_files_split_into_uniform_halves_that_add_up_to_the_data():
    images = np.random.default_rng(1).random((50, 784))
    images[:, :300] = 0.0  # mostly zeros, like digits
    labels = np.arange(50) % 10
    f0, f1 = share_files(images, labels, images[:5], labels[:5], (1, 28, 28), 10)
    header = 8 + 2 + 16 + 16 + 16
    assert f0[:8] == b"DYADDAT1" and (f0[8], f1[8]) == (0, 1) and f0[10:26] == f1[10:26]
    assert struct.unpack("<4I2Q", f0[26:header]) == (1, 28, 28, 10, 50, 5)
    a = np.frombuffer(f0[header:], dtype="<u8")
    b = np.frombuffer(f1[header:], dtype="<u8")
    pixels = decode(a[: 50 * 784] + b[: 50 * 784], 16).reshape(50, 784)
    assert np.allclose(pixels, images, atol=2 ** -16)
    onehot = decode((a + b)[50 * 784: 50 * 794], 16).reshape(50, 10)
    assert (onehot.argmax(1) == labels).all() and onehot.sum() == 50
    # Each bit of one share's words is set half the time, within 5 standard deviations.
    n = len(a)
    for bit in range(64):
        ones = int(((a >> np.uint64(bit)) & np.uint64(1)).sum())
        assert abs(ones - n / 2) < 5 * (n / 4) ** 0.5, (bit, ones, n)
    with pytest.raises(ValueError, match="labels must be integers"):
        share_files(images, labels + 1, images[:5], labels[:5], (1, 28, 28), 10)
    with pytest.raises(ValueError, match="images for"):
        share_files(images[:, :100], labels, images[:5], labels[:5], (1, 28, 28), 10)


def test_three_owners_upload_and_both_servers_train_on_their_union(deployment, services):
    addresses, tokens = services
    images, labels = digits()
    per = TRAIN + TEST
    parts = {w: (images[k * per:(k + 1) * per], labels[k * per:(k + 1) * per])
             for k, w in enumerate(("alice", "bob", "carol"))}

    # Alice uploads from Python.
    x, y = parts["alice"]
    with DataOwner.connect(addresses, deployment.certs, tokens["alice"]) as alice:
        stored = alice.upload("alice-part", x[:TRAIN], y[:TRAIN], x[TRAIN:], y[TRAIN:])
        assert [(s.train, s.test) for s in stored] == [(TRAIN, TEST)] * 2
        assert stored[0].sha256 == stored[1].peer_sha256
        # An owner cannot read, list or delete another's datasets.
        assert [[d.name for d in l] for l in alice.list()] == [["alice-part"]] * 2

    # Bob and Carol upload with the CLI, their files in the order to train on.
    for who in ("bob", "carol"):
        x, y = parts[who]
        write_csv(deployment.dir / f"{who}.csv", x, y)
        out = upload_cli(deployment, addresses, tokens[who], "--name", f"{who}-part",
                         "--data", f"{who}.csv", "--train", str(TRAIN), "--test", str(TEST),
                         "--in-order")
        assert out.returncode == 0, out.stderr
    with DataOwner.connect(addresses, deployment.certs, tokens["bob"]) as bob:
        assert [[d.name for d in l] for l in bob.list()] == [["bob-part"]] * 2
        with pytest.raises(DyadError) as refused:
            bob.delete("alice-part")
        assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED

    # Both servers train Network-A on the union, stocked by a worker pair of its own lane.
    root = deployment.dir
    union = ["--train", str(3 * TRAIN), "--test", str(3 * TEST)]
    plan = subprocess.run([str(deployment.binary), "plan", *JOB, *union],
                          capture_output=True, text=True, check=True).stdout
    (root / "union-plan.txt").write_text(plan)
    processes = []

    def server(command, i, link, log, *extra):
        side = "--listen" if i == 0 else "--peer"
        with open(root / log, "w") as err:
            processes.append(subprocess.Popen(
                [str(deployment.binary), command, "--party", str(i), "--certs", str(deployment.certs),
                 side, link, "--store", deployment.stores[i], "--store-token",
                 str(deployment.store_tokens[i]), *extra],
                stdout=subprocess.PIPE, stderr=err, cwd=root, text=True))

    link = free_port(socket.SOCK_DGRAM)
    for i in range(2):
        server("offline", i, link, f"union-offline{i}.log", "--plan", "union-plan.txt",
               "--lane", "1", "--idle-ms", "200", "--timeout", "60")
    workers = processes[:]
    link = free_port(socket.SOCK_DGRAM)
    for i in range(2):
        server("train", i, link, f"union-train{i}.log", "--timeout", "120",
               "--dataset", "carol-part,alice-part,bob-part", "--datasets", str(root / f"datasets{i}"),
               "--out", f"union-p{i}", *JOB)
    try:
        for p in processes[2:]:
            assert p.wait(timeout=900) == 0, (root / "union-train0.log").read_text()[-3000:]
    finally:
        for p in workers:
            p.terminate()
            p.wait(timeout=10)

    # The plaintext reference on the same union: the parts in the order of their names.
    ordered = [parts[w] for w in ("alice", "bob", "carol")]
    xs = [x[:TRAIN] for x, _ in ordered] + [x[TRAIN:] for x, _ in ordered]
    ys = [y[:TRAIN] for _, y in ordered] + [y[TRAIN:] for _, y in ordered]
    write_csv(root / "union.csv", np.concatenate(xs), np.concatenate(ys))
    subprocess.run([str(deployment.binary), "train-plain", *JOB, *union, "--data", "union.csv",
                    "--in-order", "--arithmetic", "float", "--out", "union-plain"],
                   check=True, capture_output=True, cwd=root)
    secure = _curve(root / "union-p0" / "curve.csv")
    assert secure == _curve(root / "union-p1" / "curve.csv")
    plain = _curve(root / "union-plain" / "curve-float.csv")
    assert [s[1] for s in secure] == [p[1] for p in plain]
    # Within two points (6 of the 300 test examples) at every evaluation: 12 steps in, accuracy
    # still climbs steeply and the secure truncations' rounding moves a few predictions near
    # the boundary (runs so far: 0.7 and 1.3 points at the end).
    for s, p in zip(secure, plain):
        assert abs(s[2] - p[2]) <= 0.02 + 1e-9, (secure, plain)
    print(f"union of 3 owners, Network-A: secure {secure[-1][2]:.3f}, float {plain[-1][2]:.3f}")


def _curve(path):
    rows = path.read_text().splitlines()[1:]
    return [(int(r.split(",")[0]), int(r.split(",")[1]), float(r.split(",")[2])) for r in rows]
