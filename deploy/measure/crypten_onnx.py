"""CrypTen (the peer) serving an ONNX model: the online latency of one image, median of runs.

    GLOO_SOCKET_IFNAME=lo VENV/bin/python deploy/measure/crypten_onnx.py MODEL.onnx C H W [RUNS]

VENV from ../shared/peers/crypten/setup.sh. Two processes on loopback (gloo), CrypTen's trusted
dealer for its correlated randomness (CrypTen's default; its dealer's time is inside the
figure, as CrypTen generates it on the fly), the model encrypted by party 0 and the image by
party 1, as Dyad serves a model owner's model to a client.
"""
import statistics
import sys
import time

import crypten
import crypten.communicator as comm
import torch
from crypten.mpc import run_multiprocess

PATH, C, H, W = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
RUNS = int(sys.argv[5]) if len(sys.argv) > 5 else 5


@run_multiprocess(world_size=2)
def serve():
    crypten.cfg.communicator.verbose = True  # count bytes and rounds
    with open(PATH, "rb") as f:
        model = crypten.nn.from_onnx(f)
    model.encrypt(src=0)
    model.eval()
    image = torch.rand(1, C, H, W, generator=torch.Generator().manual_seed(1))
    times, sent, rounds = [], [], []
    for _ in range(RUNS + 1):
        comm.get().reset_communication_stats()
        start = time.perf_counter()
        x = crypten.cryptensor(image, src=1)
        logits = model(x)
        logits.argmax(dim=1).get_plain_text()
        times.append(time.perf_counter() - start)
        stats = comm.get().get_communication_stats()
        sent.append(stats["bytes"])
        rounds.append(stats["rounds"])
    if comm.get().get_rank() == 0:
        print(
            f"crypten {PATH}: median {statistics.median(times[1:]) * 1000:.1f} ms per image over "
            f"{RUNS} runs, {sent[-1] / 1e6:.2f} MB sent by party 0, {rounds[-1]} rounds"
        )


if __name__ == "__main__":
    crypten.init()
    serve()
