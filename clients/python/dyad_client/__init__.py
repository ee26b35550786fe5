"""Client of Dyad's secure inference endpoint.

An input is encoded in the servers' fixed-point format, split into two additive shares modulo
2^64 (one uniformly random, the other the difference), and each share goes to one of the two
non-colluding servers under the same fresh request id, both calls at once. Neither server alone
learns anything about the input; the client adds the two answers modulo 2^64 and decodes them.

    from dyad_client import Client
    client = Client.connect(["p0host:7400", "p1host:7401"], certs="certs/")
    classes = client.predict_class(images)      # numpy in, numpy int64 out
    logits = client.predict_logits(images)      # (n, classes) float64

A failure raises :class:`DyadError` carrying the gRPC status code and message.

A data owner uploads its dataset's shares for training with :class:`DataOwner`
(`dyad_client.owner`).
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import grpc
import numpy as np

from dyad_client import inference_pb2, inference_pb2_grpc

__all__ = [
    "Client",
    "DataOwner",
    "DyadError",
    "ModelInfo",
    "Server",
    "encode",
    "decode",
    "operand_limit",
    "share_files",
    "split",
]

#: log2 of the operand limit in fixed point (`dyad_vocabulary::fixed::OPERAND_BITS`): an input
#: may be at most 2^24 units of 2^-f in magnitude, 256.0 at f = 16. Products of two such values
#: and sums of 4096 of them stay inside the servers' truncation window [-2^61, 2^61), outside
#: which their results come out silently wrong (PROTOCOLS.md, "Accepted departures").
OPERAND_BITS = 24


class DyadError(Exception):
    """A failed call: `code` is the gRPC status (a `grpc.StatusCode`), `server` which server
    answered with it (0 or 1, or None when the two answers disagree with each other)."""

    def __init__(self, code: grpc.StatusCode, message: str, server: Optional[int] = None):
        where = "" if server is None else f"server {server}: "
        super().__init__(f"{where}{code.name}: {message}")
        self.code = code
        self.message = message
        self.server = server


@dataclass(frozen=True)
class Server:
    """One of the two servers: its client address, the certificate it presents (PEM bytes,
    self-signed: the client trusts exactly this one), the name in it, and the token the
    server knows this client by (for servers run with `--client-tokens`)."""

    address: str
    certificate: bytes
    name: str
    token: Optional[str] = None


@dataclass(frozen=True)
class ModelInfo:
    """What both servers serve (they must agree)."""

    name: str
    shape: tuple
    classes: int
    fractional_bits: int
    max_batch: int

    @property
    def input_len(self) -> int:
        c, h, w = self.shape
        return c * h * w


def operand_limit(fractional_bits: int) -> float:
    """The largest input magnitude the servers take: 2^(OPERAND_BITS - f) (256.0 at f = 16)."""
    return float(1 << OPERAND_BITS) / float(1 << fractional_bits)


def encode(x: np.ndarray, fractional_bits: int) -> np.ndarray:
    """Fixed-point encoding as the servers use it: `round(x * 2^f)` (halves away from zero)
    as a two's-complement `uint64`. A value not finite or beyond the operand limit
    (:func:`operand_limit`) raises `ValueError` naming its position, the value and the limit."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.sign(x) * np.floor(np.abs(x) * float(1 << fractional_bits) + 0.5)
        bad = ~np.isfinite(scaled) | (np.abs(scaled) > float(1 << OPERAND_BITS))
    if np.any(bad):
        at = np.unravel_index(np.flatnonzero(bad)[0], x.shape)
        at = at[0] if len(at) == 1 else tuple(int(i) for i in at)
        value = float(x[at])
        if not np.isfinite(value):
            raise ValueError(f"input value {at} is {value}, not a finite number")
        raise ValueError(
            f"input value {at} is {value!r}, beyond the fixed-point operand limit of "
            f"±{operand_limit(fractional_bits)!r} (2^{OPERAND_BITS} units of 2^-{fractional_bits}): "
            "products of such values can leave the servers' truncation window [-2^61, 2^61) "
            "and come out silently wrong"
        )
    return scaled.astype(np.int64).astype(np.uint64)


def decode(v: np.ndarray, fractional_bits: int) -> np.ndarray:
    """The inverse of :func:`encode` (ring elements read as two's complement)."""
    return np.asarray(v, dtype=np.uint64).astype(np.int64) / float(1 << fractional_bits)


def split(v: np.ndarray) -> tuple:
    """Two additive shares of `v` modulo 2^64: the first uniformly random (from the operating
    system's CSPRNG), the second `v` minus it."""
    v = np.asarray(v, dtype=np.uint64)
    first = np.frombuffer(os.urandom(8 * v.size), dtype=np.uint64).reshape(v.shape)
    return first, v - first  # uint64 arithmetic wraps modulo 2^64


def servers_in(addresses: Sequence[str], certs: Union[str, Path], tokens: Sequence) -> list:
    """The two servers at `addresses` (server 0's first), each presenting the `p<i>.cert.pem`
    of the `certs` directory (as `dyad certs` made it) for the name `dyad-p<i>`, with this
    caller's token there (`None` where it has none)."""
    certs = Path(certs)
    if len(addresses) != 2 or len(tokens) != 2:
        raise ValueError("a deployment has exactly two servers: give two addresses and two tokens")
    return [
        Server(a, (certs / f"p{i}.cert.pem").read_bytes(), f"dyad-p{i}", tokens[i])
        for i, a in enumerate(addresses)
    ]


def secure_channels(servers: Sequence[Server]) -> tuple:
    """A TLS channel to each server, trusting exactly the certificate it presents, and the
    `authorization` metadata of each (`None` without a token)."""
    if len(servers) != 2:
        raise ValueError("a deployment has exactly two servers")
    channels = [
        grpc.secure_channel(
            s.address,
            grpc.ssl_channel_credentials(root_certificates=s.certificate),
            options=[("grpc.ssl_target_name_override", s.name)],
        )
        for s in servers
    ]
    metadata = [(("authorization", f"Bearer {s.token}"),) if s.token else None for s in servers]
    return channels, metadata


class Client:
    """Both servers of one deployment."""

    def __init__(self, servers: Sequence[Server], timeout: float = 30.0):
        self.timeout = timeout
        self._channels, self._metadata = secure_channels(servers)
        self._stubs = [inference_pb2_grpc.InferenceStub(c) for c in self._channels]
        self.model = self._describe()

    @classmethod
    def connect(
        cls,
        addresses: Sequence[str],
        certs: Union[str, Path],
        timeout: float = 30.0,
        tokens: Optional[Sequence[str]] = None,
    ) -> "Client":
        """The servers at `addresses` (server 0's, then server 1's), each presenting the
        `p<i>.cert.pem` of the `certs` directory (as `dyad certs` made it) for the name
        `dyad-p<i>`, which is what `dyad serve` does by default. `tokens`: this client's
        token at server 0 and at server 1, for servers that check them."""
        tokens = list(tokens) if tokens is not None else [None, None]
        return cls(servers_in(addresses, certs, tokens), timeout)

    def close(self) -> None:
        for channel in self._channels:
            channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """The logits of each input: `x` holds one input (any shape with the model's number of
        values) or a batch (first axis); the result is `(n, classes)` floats."""
        answers = self._predict(x, inference_pb2.OUTPUT_LOGITS)
        logits = [
            np.array(a.logits_share, dtype=np.uint64) + np.array(b.logits_share, dtype=np.uint64)
            for a, b in answers
        ]
        return decode(np.stack(logits), self.model.fractional_bits)

    def predict_class(self, x: np.ndarray) -> np.ndarray:
        """The class of each input, computed under MPC: the servers reveal only the argmax."""
        answers = self._predict(x, inference_pb2.OUTPUT_CLASS)
        mask = (1 << 64) - 1
        return np.array([(a.class_share + b.class_share) & mask for a, b in answers], dtype=np.int64)

    def _describe(self) -> ModelInfo:
        infos = self._results([
            stub.Describe.future(
                inference_pb2.DescribeRequest(),
                timeout=self.timeout,
                metadata=self._metadata[i],
            )
            for i, stub in enumerate(self._stubs)
        ])
        seen = []
        for i, info in enumerate(infos):
            if info.party != i:
                raise DyadError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"the address given for server {i} is server {info.party}",
                    i,
                )
            seen.append(
                ModelInfo(
                    name=info.name,
                    shape=(info.channels, info.height, info.width),
                    classes=info.classes,
                    fractional_bits=info.fractional_bits,
                    max_batch=info.max_batch,
                )
            )
        if seen[0] != seen[1]:
            raise DyadError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"the servers serve different models: {seen[0]} and {seen[1]}",
            )
        return seen[0]

    def _predict(self, x: np.ndarray, output: int) -> list:
        batch = self._as_batch(x)
        encoded = encode(batch, self.model.fractional_bits)
        shares = split(encoded)
        pending = []
        for row in range(batch.shape[0]):
            request_id = uuid.uuid4().hex
            pending.append(
                [
                    stub.Predict.future(
                        inference_pb2.PredictRequest(
                            request_id=request_id,
                            input_share=shares[i][row].tolist(),
                            output=output,
                        ),
                        timeout=self.timeout,
                        metadata=self._metadata[i],
                    )
                    for i, stub in enumerate(self._stubs)
                ]
            )
        return [self._results(futures) for futures in pending]

    def _as_batch(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        n = self.model.input_len
        if x.size == n:
            return x.reshape(1, n)
        if x.ndim >= 1 and x.shape[0] > 0 and x.size == x.shape[0] * n:
            return x.reshape(x.shape[0], n)
        raise ValueError(
            f"{self.model.name} takes {n} values per input ({self.model.shape}); got shape {x.shape}"
        )

    @staticmethod
    def _results(futures: Sequence[Future]) -> list:
        results = []
        for i, future in enumerate(futures):
            try:
                results.append(future.result())
            except grpc.RpcError as e:
                for other in futures[i + 1:]:
                    other.cancel()
                raise DyadError(e.code(), e.details() or "", i) from None
            failure = getattr(results[-1], "failure", None)
            if failure is not None and results[-1].HasField("failure") and failure.code != 0:
                code = _STATUS.get(failure.code, grpc.StatusCode.UNKNOWN)
                raise DyadError(code, failure.message, i)
        return results


_STATUS = {s.value[0]: s for s in grpc.StatusCode}


# The data owner's side (uploads for training); after the names it uses are defined.
from dyad_client.owner import DataOwner, share_files  # noqa: E402
