"""Builds the gRPC stubs of Dyad's inference service from the repository's `proto/` with
grpcio-tools, so the package never carries generated code that could drift from the proto."""

import shutil
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PROTO = Path(__file__).resolve().parent / "../../proto/proto/dyad/inference/v1/inference.proto"


class BuildWithStubs(build_py):
    """`build_py`, then `inference_pb2.py` and `inference_pb2_grpc.py` into the package."""

    def run(self):
        super().run()
        from grpc_tools import protoc  # a build requirement (pyproject.toml)

        if not PROTO.is_file():
            raise SystemExit(f"cannot find the inference proto at {PROTO}")
        out = Path(self.build_lib)
        with tempfile.TemporaryDirectory() as root:
            # Compiled as dyad_client/inference.proto, the stubs import each other as
            # `dyad_client.inference_pb2`; the proto package (and so the gRPC method names)
            # stays dyad.inference.v1.
            (Path(root) / "dyad_client").mkdir()
            shutil.copy(PROTO, Path(root) / "dyad_client" / "inference.proto")
            code = protoc.main(
                [
                    "grpc_tools.protoc",
                    f"-I{root}",
                    f"--python_out={out}",
                    f"--grpc_python_out={out}",
                    str(Path(root) / "dyad_client" / "inference.proto"),
                ]
            )
        if code != 0:
            raise SystemExit(f"grpc_tools.protoc failed with status {code}")


setup(cmdclass={"build_py": BuildWithStubs})
