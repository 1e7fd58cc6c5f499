"""The zoo's own architecture definitions (those torchvision does not have), written so that
torch.fx traces them: MobileNet v1 with a width multiplier, pre-activation ResNet v2, the CIFAR
ResNets (v1, 3 stages of basic blocks) and wide ResNets (pre-activation), and a ShuffleNet v2
block whose channel split and shuffle trace (torchvision's unpacks x.chunk() and x.size(),
which torch.fx cannot)."""
import torch
from torch import nn
from torchvision.models import shufflenetv2


def _conv_bn_relu(cin, cout, k, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


# ------------------------------------------------------------------ MobileNet v1

class MobileNetV1(nn.Module):
    """MobileNet v1 (Howard et al. 2017): a 3 x 3 convolution then 13 depthwise separable
    blocks; `width` multiplies every channel count (1.0, 0.75, 0.5, 0.25)."""
    # (output channels, stride) of each depthwise separable block
    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + \
             [(1024, 2), (1024, 1)]

    def __init__(self, width=1.0, num_classes=1000):
        super().__init__()
        c = max(8, int(32 * width))
        layers = [_conv_bn_relu(3, c, 3, 2)]
        for out, stride in self.BLOCKS:
            out = max(8, int(out * width))
            layers += [_conv_bn_relu(c, c, 3, stride, groups=c), _conv_bn_relu(c, out, 1)]
            c = out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


# ------------------------------------------------------------------ pre-activation ResNets

class PreActBasic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        out = planes * self.expansion
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, out, 3, 1, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = (nn.Conv2d(cin, out, 1, stride, bias=False)
                         if stride != 1 or cin != out else None)

    def forward(self, x):
        a = self.relu(self.bn1(x))
        short = self.shortcut(a) if self.shortcut is not None else x
        y = self.conv1(a)
        y = self.conv2(self.relu(self.bn2(y)))
        return y + short


class PreActBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        out = planes * self.expansion
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = (nn.Conv2d(cin, out, 1, stride, bias=False)
                         if stride != 1 or cin != out else None)

    def forward(self, x):
        a = self.relu(self.bn1(x))
        short = self.shortcut(a) if self.shortcut is not None else x
        y = self.conv1(a)
        y = self.conv2(self.relu(self.bn2(y)))
        y = self.conv3(self.relu(self.bn3(y)))
        return y + short


class ResNetV2(nn.Module):
    """ImageNet ResNet v2 (He et al., "Identity Mappings", 2016), laid out as gluon's
    resnet*_v2: 7 x 7 stem, max pool, four stages of pre-activation blocks, a final
    BatchNorm + ReLU, global average pool, fc."""

    def __init__(self, block, layers, num_classes=1000, base=64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, base, 7, 2, 3, bias=False), nn.BatchNorm2d(base),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], base
        for i, n in enumerate(layers):
            planes = base * 2 ** i
            for j in range(n):
                blocks.append(block(cin, planes, 2 if (j == 0 and i > 0) else 1))
                cin = planes * block.expansion
        self.blocks = nn.Sequential(*blocks)
        self.post = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        _kaiming(self)

    def forward(self, x):
        x = self.post(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def resnet_v2(depth, **kw):
    layers = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3],
              152: [3, 8, 36, 3]}[depth]
    return ResNetV2(PreActBasic if depth < 50 else PreActBottleneck, layers, **kw)


# ------------------------------------------------------------------ CIFAR ResNets

class CifarBasic(nn.Module):
    """v1 basic block with a 1 x 1 projection shortcut where the shape changes (gluon's
    cifar_resnet*_v1)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else None)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        short = self.down(x) if self.down is not None else x
        return self.relu(self.body(x) + short)


class CifarResNet(nn.Module):
    """CIFAR ResNet (depth 6n + 2: 20, 56, 110): 3 x 3 stem, three stages of n basic blocks
    with 16, 32, 64 channels (times `width`), global pool, fc."""

    def __init__(self, depth, num_classes=10, width=1):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError("a CIFAR ResNet has depth 6n + 2")
        n = (depth - 2) // 6
        widths = [16 * width, 32 * width, 64 * width]
        self.stem = _conv_bn_relu(3, 16 * width, 3)
        blocks, cin = [], 16 * width
        for i, w in enumerate(widths):
            for j in range(n):
                blocks.append(CifarBasic(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        _kaiming(self)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))


class WideResNet(nn.Module):
    """Wide ResNet WRN-depth-k (Zagoruyko & Komodakis 2016; depth 6n + 4): pre-activation
    basic blocks with 16k, 32k, 64k channels, final BatchNorm + ReLU, global pool, fc."""

    def __init__(self, depth, k, num_classes=10):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError("a wide ResNet has depth 6n + 4")
        n = (depth - 4) // 6
        self.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        blocks, cin = [], 16
        for i, w in enumerate([16 * k, 32 * k, 64 * k]):
            for j in range(n):
                blocks.append(PreActBasic(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.post = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        _kaiming(self)

    def forward(self, x):
        x = self.post(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def _kaiming(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


# ------------------------------------------------------------------ ShuffleNet v2

def channel_shuffle(x, groups):
    n, c, h, w = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, c, h, w)


def _shuffle_block_forward(self, x):
    """torchvision's InvertedResidual.forward with the split as slices and the shuffle on
    x.shape (the same arithmetic)."""
    if self.stride == 1:
        half = x.shape[1] // 2
        out = torch.cat((x[:, :half], self.branch2(x[:, half:])), dim=1)
    else:
        out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
    return channel_shuffle(out, 2)


class TraceableShuffleBlock(shufflenetv2.InvertedResidual):
    forward = _shuffle_block_forward


def make_traceable_shufflenet(model):
    """Rebinds every InvertedResidual of a torchvision ShuffleNetV2 to the traceable forward
    (in place; weights untouched)."""
    for m in model.modules():
        if type(m) is shufflenetv2.InvertedResidual:
            m.__class__ = TraceableShuffleBlock
    return model
