"""The Python client against two real `dyad serve` processes (see conftest.py)."""

import struct

import grpc
import numpy as np
import pytest

from dyad_client import (
    Client,
    DyadError,
    Server,
    decode,
    encode,
    inference_pb2,
    operand_limit,
    split,
)


def read_plaintext_model(path):
    """The dense layers `(W, b)` of a plaintext model file (`DYADMDL1`: party, fractional bits,
    the network text, then `DYADPRM1`, the layer count and per layer a presence byte, rows,
    cols and the fixed-point W then b), decoded to floats."""
    data = memoryview(path.read_bytes())
    assert bytes(data[:8]) == b"DYADMDL1"
    f = data[9]
    (text_len,) = struct.unpack_from("<I", data, 10)
    at = 14 + text_len
    assert bytes(data[at:at + 8]) == b"DYADPRM1"
    (layers,) = struct.unpack_from("<Q", data, at + 8)
    at += 16
    dense = []
    for _ in range(layers):
        present = data[at]
        at += 1
        if not present:
            continue
        rows, cols = struct.unpack_from("<QQ", data, at)
        at += 16
        values = np.frombuffer(data, dtype="<u8", count=rows * cols + cols, offset=at)
        at += 8 * (rows * cols + cols)
        w = decode(values[: rows * cols], f).reshape(rows, cols)
        dense.append((w, decode(values[rows * cols:], f)))
    return dense


def plaintext_logits(model, x):
    """`dense 16, relu, dense 10` in floats."""
    (w1, b1), (w2, b2) = model
    return np.maximum(x @ w1 + b1, 0.0) @ w2 + b2


@pytest.fixture(scope="module")
def client(deployment):
    with Client.connect(deployment.clients, deployment.certs, timeout=60,
                        tokens=deployment.tokens) as c:
        yield c


def test_both_servers_describe_the_same_model(client):
    assert client.model.shape == (1, 28, 28)
    assert client.model.classes == 10
    assert client.model.fractional_bits == 16


def test_logits_and_classes_match_the_plaintext_model(client, deployment):
    rng = np.random.default_rng(7)
    images = rng.random((6, 1, 28, 28))
    want = plaintext_logits(read_plaintext_model(deployment.plaintext_model), images.reshape(6, -1))
    got = client.predict_logits(images)
    assert got.shape == (6, 10)
    # Fixed point with f = 16: a few units of 2^-16 per layer apart.
    assert np.max(np.abs(got - want)) < 0.01, (got, want)
    classes = client.predict_class(images)
    assert classes.dtype == np.int64 and classes.shape == (6,)
    top_two = np.sort(want, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 0.01  # no near-tie the rounding could turn
    assert np.array_equal(classes[clear], np.argmax(want, axis=1)[clear])
    # One input, in any shape with 784 values.
    assert client.predict_class(images[0].ravel()).tolist() == classes[:1].tolist()


def test_encoding_rounds_like_the_servers_and_shares_reconstruct():
    # Halves away from zero, as Rust's f64::round: 2.5 and -2.5 units become 3 and -3.
    v = encode(np.array([-1.5, 0.0, 2.25, 1e-5, 2.5 / 65536, -2.5 / 65536]), 16)
    assert v.astype(np.int64).tolist() == [-98304, 0, 147456, 1, 3, -3]
    a, b = split(v)
    assert np.array_equal(a + b, v)
    assert not np.array_equal(a, v)
    assert decode(a + b, 16).tolist() == [-1.5, 0.0, 2.25, 2**-16, 3 * 2**-16, -3 * 2**-16]
    with pytest.raises(ValueError, match="not a finite number"):
        encode(np.array([np.nan]), 16)


@pytest.mark.parametrize("f", [16, 20])
def test_a_value_just_beyond_the_operand_limit_is_refused_and_one_just_inside_encoded(f):
    # The servers' operand limit, 2^(24 - f): 256.0 at f = 16 (PROTOCOLS.md, "Accepted
    # departures"; dyad_vocabulary::fixed::OPERAND_BITS).
    limit, ulp = operand_limit(f), 2.0**-f
    assert operand_limit(16) == 256.0
    inside = np.array([[0.5, limit], [-limit, limit - ulp]])
    assert decode(encode(inside, f), f).tolist() == inside.tolist()
    beyond = np.array([[0.5, limit], [-(limit + ulp), 0.0]])
    with pytest.raises(ValueError) as refused:
        encode(beyond, f)
    text = str(refused.value)
    assert "input value (1, 0)" in text and repr(-(limit + ulp)) in text, text
    assert f"±{limit!r}" in text, text


def test_a_wrong_input_size_is_refused_before_anything_is_sent(client):
    with pytest.raises(ValueError, match="784 values"):
        client.predict_class(np.zeros(783))


def test_a_malformed_request_gets_invalid_argument(client):
    # Only one server receives it, with the wrong number of values: a status, not a crash.
    request = inference_pb2.PredictRequest(request_id="bad", input_share=[1, 2, 3])
    with pytest.raises(grpc.RpcError) as failure:
        client._stubs[0].Predict(request, timeout=30, metadata=client._metadata[0])
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_servers_given_in_the_wrong_order_raise_with_the_status(deployment):
    with pytest.raises(DyadError) as failure:
        Client.connect(list(reversed(deployment.clients)), deployment.certs, timeout=30,
                       tokens=list(reversed(deployment.tokens)))
    # Server 1 presents p1's certificate, which the client does not trust for server 0.
    assert failure.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.FAILED_PRECONDITION)
    assert failure.value.server == 0


def test_a_certificate_for_the_wrong_name_is_unavailable(deployment):
    cert = (deployment.certs / "p0.cert.pem").read_bytes()
    servers = [Server(deployment.clients[0], cert, "not-dyad"),
               Server(deployment.clients[1], (deployment.certs / "p1.cert.pem").read_bytes(), "dyad-p1")]
    with pytest.raises(DyadError) as failure:
        Client(servers, timeout=10)
    assert failure.value.code == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("tokens", [None, "swapped"])
def test_a_client_without_its_token_is_unauthenticated(deployment, tokens):
    # No token, or each server's token given to the other: both servers check their own list.
    given = None if tokens is None else list(reversed(deployment.tokens))
    with pytest.raises(DyadError) as failure:
        Client.connect(deployment.clients, deployment.certs, timeout=30, tokens=given)
    assert failure.value.code == grpc.StatusCode.UNAUTHENTICATED
