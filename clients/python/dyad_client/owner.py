"""A data owner's side of Dyad's dataset service (`proto/dyad/datasets/v1/datasets.proto`).

The owner's examples are encoded in the servers' fixed point and split, on the owner's machine
and with the operating system's CSPRNG, into two additive shares modulo 2^64; server `i` receives
only share `i`, as the bytes of a dataset share file (the `DYADDAT1` format `dyad share` writes),
in chunks, with the SHA-256 of both shares. Neither server alone learns anything about the data;
training jobs take datasets by name (`dyad train --dataset NAME[,NAME...]`).

    from dyad_client import DataOwner
    with DataOwner.connect(["p0host:7600", "p1host:7601"], certs="certs/", tokens=[t0, t1]) as owner:
        owner.upload("clinic-a", images, labels, test_images=held_images, test_labels=held_labels)
        owner.list()          # this owner's datasets on each server
        owner.delete("clinic-a")

An upload cut midway resumes where each server stands (up to `attempts` tries per server);
a dataset becomes visible on a server only when its whole share has arrived and checked.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Sequence, Union

import grpc
import numpy as np

from dyad_client import (DyadError, datasets_pb2, datasets_pb2_grpc, encode, secure_channels,
                         servers_in, split)

#: Bytes per chunk: within gRPC's default 4 MiB message, large enough that per-message costs
#: do not show.
CHUNK_BYTES = 1 << 20

#: The share file's header (`dyad_server::dataset_share`).
MAGIC = b"DYADDAT1"

#: Codes after which another try may get further: the connection or the stream was cut.
RETRY = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED, grpc.StatusCode.UNKNOWN,
         grpc.StatusCode.CANCELLED, grpc.StatusCode.INTERNAL}


def share_files(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    shape: Sequence[int],
    classes: int,
    fractional_bits: int = 16,
) -> tuple:
    """The two servers' share files (bytes) of a training and a test set: pixels and one-hot
    labels in fixed point, each value split into two shares modulo 2^64, both files carrying
    one fresh random dataset id. Raises `ValueError` for labels outside `[0, classes)`, images
    of another size than `shape`, or values beyond the operand limit."""
    size = int(np.prod(shape))
    parts = []
    for what, images, labels in (("training", train_images, train_labels),
                                 ("test", test_images, test_labels)):
        images = np.asarray(images, dtype=np.float64)
        labels = np.asarray(labels).reshape(-1)
        if images.ndim == 0 or images.size != len(labels) * size:
            raise ValueError(
                f"{what} set: {images.shape} images for {len(labels)} labels of {size} values "
                f"({'x'.join(map(str, shape))}) each"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= classes
                            or not np.issubdtype(labels.dtype, np.integer)):
            raise ValueError(f"{what} set: labels must be integers in [0, {classes})")
        x = encode(images.reshape(len(labels), size), fractional_bits)
        onehot = np.zeros((len(labels), classes))
        onehot[np.arange(len(labels)), labels.astype(np.int64)] = 1.0
        y = encode(onehot, fractional_bits)
        parts.append((x, y, len(labels)))
    dataset_id = os.urandom(16)
    (train_x, train_y, n_train), (test_x, test_y, n_test) = parts
    halves = [split(a) for a in (train_x, train_y, test_x, test_y)]
    files = []
    for party in (0, 1):
        header = MAGIC + bytes([party, fractional_bits]) + dataset_id
        header += struct.pack("<4I", *[int(s) for s in shape], classes)
        header += struct.pack("<2Q", n_train, n_test)
        body = b"".join(h[party].astype("<u8").tobytes() for h in halves)
        files.append(header + body)
    return files[0], files[1]


class DataOwner:
    """An owner connected to both servers' dataset services."""

    def __init__(self, servers, timeout: float = 60.0, attempts: int = 5):
        if any(not s.token for s in servers):
            raise ValueError("an owner needs its token at each server")
        self.timeout = timeout
        self.attempts = attempts
        self._channels, self._metadata = secure_channels(servers)
        self._stubs = [datasets_pb2_grpc.DatasetsStub(c) for c in self._channels]

    @classmethod
    def connect(
        cls,
        addresses: Sequence[str],
        certs: Union[str, Path],
        tokens: Sequence[str],
        timeout: float = 60.0,
    ) -> "DataOwner":
        """The dataset services at `addresses` (server 0's, then server 1's), each presenting the
        `p<i>.cert.pem` of `certs` for the name `dyad-p<i>`; `tokens`: this owner's token at
        server 0 and at server 1 (or one for both)."""
        tokens = [tokens] if isinstance(tokens, str) else list(tokens)
        if len(tokens) == 1:
            tokens = tokens * 2
        return cls(servers_in(addresses, certs, tokens), timeout)

    def close(self) -> None:
        for channel in self._channels:
            channel.close()

    def __enter__(self) -> "DataOwner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def upload(
        self,
        name: str,
        images: np.ndarray,
        labels: np.ndarray,
        test_images: Optional[np.ndarray] = None,
        test_labels: Optional[np.ndarray] = None,
        shape: Sequence[int] = (1, 28, 28),
        classes: int = 10,
        fractional_bits: int = 16,
    ) -> list:
        """Splits the examples (pixels scaled to [0, 1], labels as integers) into the two
        servers' shares here and uploads share `i` to server `i` as `name`, both at once.
        Returns each server's description of the stored dataset (`DatasetInfo`)."""
        if test_images is None:
            test_images = np.zeros((0, int(np.prod(shape))))
            test_labels = np.zeros(0, dtype=np.int64)
        files = share_files(images, labels, test_images, test_labels, shape, classes,
                            fractional_bits)
        return self.upload_files(name, files)

    def upload_files(self, name: str, files: Sequence[bytes]) -> list:
        """Uploads ready share files (`files[i]` to server `i`), resuming where each stands."""
        digests = [hashlib.sha256(f).digest() for f in files]
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [
                pool.submit(self._upload_one, i, name, files[i], digests[i], digests[1 - i])
                for i in (0, 1)
            ]
            return [f.result() for f in futures]

    def list(self) -> list:
        """This owner's datasets on each server: two lists of `DatasetInfo`."""
        return [self._call(i, "List", datasets_pb2.ListRequest()).datasets for i in (0, 1)]

    def delete(self, name: str) -> None:
        """Deletes this owner's dataset `name` (or its unfinished upload) on both servers."""
        found = False
        for i in (0, 1):
            try:
                self._call(i, "Delete", datasets_pb2.DeleteRequest(name=name))
                found = True
            except DyadError as e:
                if e.code != grpc.StatusCode.NOT_FOUND:
                    raise
        if not found:
            raise DyadError(grpc.StatusCode.NOT_FOUND, f"neither server has a dataset {name!r}")

    def _call(self, i: int, method: str, request):
        try:
            return getattr(self._stubs[i], method)(
                request, metadata=self._metadata[i], timeout=self.timeout
            )
        except grpc.RpcError as e:
            raise DyadError(e.code(), e.details(), i) from None

    def _upload_one(self, i: int, name: str, data: bytes, sha256: bytes, peer_sha256: bytes):
        finish = datasets_pb2.Finish(size=len(data), sha256=sha256, peer_sha256=peer_sha256)
        last = None
        for _ in range(self.attempts):
            try:
                held = self._call(i, "Status", datasets_pb2.StatusRequest(name=name)).received
            except DyadError as e:
                if e.code == grpc.StatusCode.ALREADY_EXISTS:
                    # Done before (a resumed upload whose other half was cut): the same bytes?
                    for d in self._call(i, "List", datasets_pb2.ListRequest()).datasets:
                        if d.name == name and d.sha256 == sha256:
                            return d
                    raise
                if e.code not in RETRY:
                    raise
                last = e
                time.sleep(0.5)
                continue
            if held > len(data):
                raise DyadError(grpc.StatusCode.FAILED_PRECONDITION,
                                f"server {i} holds {held} bytes of {name!r}, more than this upload's "
                                f"{len(data)}: delete the unfinished upload first", i)
            try:
                return self._stubs[i].Upload(
                    _chunks(name, data, held, finish), metadata=self._metadata[i]
                ).dataset
            except grpc.RpcError as e:
                last = DyadError(e.code(), e.details(), i)
                if e.code() not in RETRY:
                    raise last from None
        raise last


def _chunks(name: str, data: bytes, start: int, finish):
    """The upload's chunks from `start`, the last carrying the sizes and digests."""
    view = memoryview(data)
    offsets = list(range(start, len(data), CHUNK_BYTES)) or [start]
    for k, offset in enumerate(offsets):
        end = min(offset + CHUNK_BYTES, len(data))
        chunk = datasets_pb2.UploadChunk(name=name, offset=offset, data=bytes(view[offset:end]))
        if k == len(offsets) - 1:
            chunk.finish.CopyFrom(finish)
        yield chunk
