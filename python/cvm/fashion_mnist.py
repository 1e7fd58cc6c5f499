"""Fashion-MNIST: the data set reader and five small networks of the model tables' families
(LeNet, cifar_resnet20, MobileNet, SqueezeNet, ShuffleNet) adapted to 28 x 28 x 1.

Used by tools/train_fashion_mnist.py (training), tools/quantizer_table.py (the accuracy
table) and the quantizer tests. Importing this module imports torch.
"""
import gzip
import os
import struct

import numpy as np
import torch
from torch import nn

DATA_DIR = "/usr/share/datasets/fashion-mnist"  # Debian package dataset-fashion-mnist
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Normalisation in 0..255 pixel units (the training set's mean and standard deviation).
MEAN = 72.94
STD = 90.02


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim < 1 or ndim > 3:
        raise ValueError(f"{path}: not an idx file of unsigned bytes (magic {magic:#x})")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {body.size} bytes of data, header says {dims}")
    return body.reshape(dims)


def load(split, data_dir=DATA_DIR):
    """(images uint8 (N, 28, 28), labels int64 (N,)) of split "train" or "test"."""
    prefix = {"train": "train", "test": "t10k"}[split]
    images = _read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = _read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    return images, labels.astype(np.int64)


def normalize(images):
    """uint8 (N, 28, 28) -> float32 tensor (N, 1, 28, 28), as the models were trained."""
    x = torch.from_numpy(np.asarray(images, dtype=np.float32))
    return ((x - MEAN) / STD).unsqueeze(1)


# ---------------------------------------------------------------- the networks

def conv_bn(cin, cout, k, stride=1, groups=1, relu=True, relu6=False):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if relu6:
        layers.append(nn.ReLU6(inplace=True))
    elif relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class LeNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv_bn(cin, cout, 3, stride)
        self.conv2 = conv_bn(cout, cout, 3, relu=False)
        self.shortcut = (nn.Identity() if stride == 1 and cin == cout
                         else conv_bn(cin, cout, 1, stride, relu=False))
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


class CifarResNet20(nn.Module):
    """cifar_resnet20's shape (3 stages of 3 basic blocks) with 8/16/32 channels."""

    def __init__(self, num_classes=10, widths=(8, 16, 32), blocks=3):
        super().__init__()
        self.stem = conv_bn(1, widths[0], 3, 2)  # 28 -> 14: the CPU training budget
        layers, cin = [], widths[0]
        for i, w in enumerate(widths):
            for b in range(blocks):
                layers.append(BasicBlock(cin, w, 2 if (b == 0 and i > 0) else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.pool(self.layers(self.stem(x)))
        return self.fc(torch.flatten(x, 1))


class MobileNet(nn.Module):
    """MobileNet v1's depthwise-separable blocks (ReLU6)."""

    def __init__(self, num_classes=10):
        super().__init__()
        cfg = [(16, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1)]
        layers = [conv_bn(1, 16, 3, 2, relu6=True)]  # 28 -> 14
        for cin, cout, stride in cfg:
            layers += [conv_bn(cin, cin, 3, stride, groups=cin, relu6=True),
                       conv_bn(cin, cout, 1, relu6=True)]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.1)
        self.fc = nn.Linear(128, num_classes)

    def forward(self, x):
        x = self.pool(self.features(x)).flatten(1)
        return self.fc(self.dropout(x))


class Fire(nn.Module):
    def __init__(self, cin, squeeze, expand):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(cin, squeeze, 1), nn.ReLU())
        self.expand1 = nn.Sequential(nn.Conv2d(squeeze, expand, 1), nn.ReLU())
        self.expand3 = nn.Sequential(nn.Conv2d(squeeze, expand, 3, padding=1), nn.ReLU())

    def forward(self, x):
        s = self.squeeze(x)
        return torch.cat([self.expand1(s), self.expand3(s)], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet 1.0's fire modules and classifier (a 1 x 1 convolution, then the mean)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),  # 28 -> 14
            Fire(32, 8, 32), Fire(64, 8, 32),
            nn.MaxPool2d(2),
            Fire(64, 16, 64), Fire(128, 16, 64))
        self.classifier = nn.Sequential(
            nn.Dropout(0.2), nn.Conv2d(128, num_classes, 1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


def channel_shuffle(x, groups):
    # Sizes through x.size(i): torch.fx cannot unpack a traced shape.
    n, c, h, w = x.size(0), x.size(1), x.size(2), x.size(3)
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, c, h, w)


class ShuffleUnit(nn.Module):
    """ShuffleNet v1's unit: group 1x1, channel shuffle, depthwise 3x3, group 1x1; a residual
    add (stride 1) or a concatenation with an average-pooled shortcut (stride 2)."""

    def __init__(self, cin, cout, stride, groups):
        super().__init__()
        self.stride, self.groups = stride, groups
        branch_out = cout - cin if stride == 2 else cout
        mid = cout // 4
        self.compress = conv_bn(cin, mid, 1, groups=groups)
        self.depthwise = conv_bn(mid, mid, 3, stride, groups=mid, relu=False)
        self.expand = conv_bn(mid, branch_out, 1, groups=groups, relu=False)
        self.shortcut = nn.AvgPool2d(3, 2, 1) if stride == 2 else None
        self.relu = nn.ReLU()

    def forward(self, x):
        y = channel_shuffle(self.compress(x), self.groups)
        y = self.expand(self.depthwise(y))
        if self.stride == 2:
            return self.relu(torch.cat([self.shortcut(x), y], 1))
        return self.relu(x + y)


class ShuffleNet(nn.Module):
    def __init__(self, num_classes=10, groups=2):
        super().__init__()
        self.stem = conv_bn(1, 24, 3, 2)  # 28 -> 14
        self.units = nn.Sequential(
            ShuffleUnit(24, 48, 2, groups), ShuffleUnit(48, 48, 1, groups),
            ShuffleUnit(48, 96, 2, groups), ShuffleUnit(96, 96, 1, groups),
            ShuffleUnit(96, 96, 1, groups))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(96, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.units(self.stem(x))), 1))


MODELS = {
    "lenet": LeNet,
    "cifar_resnet20": CifarResNet20,
    "mobilenet": MobileNet,
    "squeezenet": SqueezeNet,
    "shufflenet": ShuffleNet,
}

# The committed float weights (state_dict files), shipped with the package.
WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights", "fashion_mnist")


def build(name, weights_dir=None):
    """The network `name` with its committed trained weights (eval mode)."""
    model = MODELS[name]()
    path = os.path.join(weights_dir or os.environ.get("CVM_FASHION_WEIGHTS", WEIGHTS_DIR),
                        name + ".pt")
    model.load_state_dict(torch.load(path, map_location="cpu"))
    return model.eval()
