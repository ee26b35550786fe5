"""Builds the gRPC stubs of Dyad's inference and dataset services from the repository's `proto/`
with grpcio-tools, so the package never carries generated code that could drift from the protos."""

import shutil
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PROTOS = Path(__file__).resolve().parent / "../../proto/proto/dyad"
#: Each proto and the module name its stubs get in the package.
SERVICES = {"inference": "inference/v1/inference.proto", "datasets": "datasets/v1/datasets.proto"}


class BuildWithStubs(build_py):
    """`build_py`, then `<name>_pb2.py` and `<name>_pb2_grpc.py` of each service into the package."""

    def run(self):
        super().run()
        from grpc_tools import protoc  # a build requirement (pyproject.toml)

        out = Path(self.build_lib)
        for name, relative in SERVICES.items():
            proto = PROTOS / relative
            if not proto.is_file():
                raise SystemExit(f"cannot find the {name} proto at {proto}")
            with tempfile.TemporaryDirectory() as root:
                # Compiled as dyad_client/<name>.proto, the stubs import each other as
                # `dyad_client.<name>_pb2`; the proto package (and so the gRPC method names)
                # stays dyad.<name>.v1.
                (Path(root) / "dyad_client").mkdir()
                shutil.copy(proto, Path(root) / "dyad_client" / f"{name}.proto")
                code = protoc.main(
                    [
                        "grpc_tools.protoc",
                        f"-I{root}",
                        f"--python_out={out}",
                        f"--grpc_python_out={out}",
                        str(Path(root) / "dyad_client" / f"{name}.proto"),
                    ]
                )
            if code != 0:
                raise SystemExit(f"grpc_tools.protoc failed with status {code} on {name}")


setup(cmdclass={"build_py": BuildWithStubs})
