"""Makes the ONNX fixtures of the importer's tests, once, with PyTorch (CI does not need it).

    python server/tests/onnx/make_fixtures.py     # with torch 2.x and onnx installed

Writes, next to this script:

* `resnet_mini.onnx` (and `resnet_mini_bn.onnx`, the same model with its BatchNormalization
  nodes kept): a small residual network written the ordinary PyTorch way (a Conv + BN + ReLU
  stem, an identity block, a stride-2 block with a 1x1-convolution shortcut, global average
  pooling, a linear head, a final softmax), BatchNorm statistics randomised so that folding
  them matters; `resnet_mini.json` holds inputs and PyTorch's logits for them.
* `resnet20_digits.onnx`: a ResNet-20-style network (three stages of three residual blocks,
  16/32/64 channels, stride-2 stage entries with 1x1 shortcuts, BatchNorm, global average
  pooling) for 1x28x28 inputs, trained for two epochs on 4,000 of the bundled digits
  (`data/mnist_5k.csv.gz`, sorted by label: every fifth row, from the fifth, is held out), and `resnet20_rgb.onnx`, the same
  architecture for 3x32x32 inputs with random weights and BatchNorm statistics.
* `stem_opset{11,13,18}.onnx`: one small network exported at three opsets, with what the
  others lack: a BatchNorm on the input (nothing to fold into), an ImageNet-style stem's 3x3
  max pooling with stride 2 and padding 1, a pre-activation residual block (BatchNorm after
  the pooling, read also by the sum), 2x2 average pooling and a final LogSoftmax;
  `stem.json` holds inputs and PyTorch's logits for them.
"""
import gzip
import json
import os

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, channels, widths, blocks, classes=10, softmax=False):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(channels, widths[0], 3, 1, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        )
        layers, cin = [], widths[0]
        for stage, width in enumerate(widths):
            for b in range(blocks):
                layers.append(Block(cin, width, 2 if stage > 0 and b == 0 else 1))
                cin = width
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(cin, classes)
        self.softmax = softmax

    def forward(self, x):
        y = self.pool(self.layers(self.stem(x)))
        y = self.head(torch.flatten(y, 1))
        return torch.softmax(y, 1) if self.softmax else y


def randomise_batch_norm(model, generator):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)


class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm2d(1)
        self.conv = nn.Conv2d(1, 4, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.pre = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, 1, 1)
        self.avg = nn.AvgPool2d(2)
        self.head = nn.Linear(4 * 3 * 3, 10)

    def forward(self, x):
        y = self.pool(torch.relu(self.bn(self.conv(self.norm(x)))))
        y = y + self.conv2(torch.relu(self.pre(y)))
        return torch.log_softmax(self.head(torch.flatten(self.avg(y), 1)), 1)


def stems(generator):
    stem = Stem()
    randomise_batch_norm(stem, generator)
    stem.eval()
    x = torch.rand(6, 1, 12, 12, generator=generator) * 2 - 1
    with torch.no_grad():
        logits = stem(x)
        logits = logits - logits.mean(1, keepdim=True)
    for opset in (11, 13, 18):
        export(stem, (1, 12, 12), f"stem_opset{opset}.onnx", opset_version=opset)
    with open(os.path.join(HERE, "stem.json"), "w") as f:
        json.dump({"inputs": x.flatten().tolist(), "logits": logits.flatten().tolist()}, f)


def export(model, shape, name, opset_version=13, **options):
    model.eval()
    path = os.path.join(HERE, name)
    torch.onnx.export(
        model,
        torch.zeros(1, *shape),
        path,
        opset_version=opset_version,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        **options,
    )
    import onnx

    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    print(name, os.path.getsize(path), "bytes:", ", ".join(ops))


def digits():
    with gzip.open(os.path.join(ROOT, "data", "mnist_5k.csv.gz"), "rt") as f:
        rows = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x = torch.from_numpy(rows[:, :784] / 255.0).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(rows[:, 784]).long()


def main():
    torch.manual_seed(7)
    generator = torch.Generator().manual_seed(7)

    mini = ResNet(1, [4, 8], 1, softmax=True)
    randomise_batch_norm(mini, generator)
    mini.eval()
    x = torch.rand(6, 1, 8, 8, generator=generator)
    with torch.no_grad():
        logits = torch.log(mini(x))  # the softmax's input up to a constant per row
        logits = logits - logits.mean(1, keepdim=True)
    export(mini, (1, 8, 8), "resnet_mini.onnx")
    export(
        mini,
        (1, 8, 8),
        "resnet_mini_bn.onnx",
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=False,
    )
    with open(os.path.join(HERE, "resnet_mini.json"), "w") as f:
        json.dump({"inputs": x.flatten().tolist(), "logits": logits.flatten().tolist()}, f)

    x, y = digits()
    held = torch.arange(len(y)) % 5 == 4
    (x_train, y_train), (x_test, y_test) = (x[~held], y[~held]), (x[held], y[held])
    net = ResNet(1, [16, 32, 64], 3)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    net.train()
    for _ in range(2):
        order = torch.randperm(len(y_train), generator=generator)
        for start in range(0, len(order), 64):
            batch = order[start : start + 64]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(net(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
    net.eval()
    with torch.no_grad():
        held_out = (net(x_test).argmax(1) == y_test).float().mean().item()
    print(f"resnet20_digits: {held_out:.3f} of the 1,000 held-out digits right (PyTorch, float)")
    export(net, (1, 28, 28), "resnet20_digits.onnx")

    rgb = ResNet(3, [16, 32, 64], 3)
    randomise_batch_norm(rgb, generator)
    export(rgb, (3, 32, 32), "resnet20_rgb.onnx")

    stems(torch.Generator().manual_seed(11))


if __name__ == "__main__":
    main()
