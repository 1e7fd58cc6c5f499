"""The zoo's names: each a builder of the float model (random weights), its family, its
default input size and its data set (which input normalisation and class count it has).

SMALL holds one small-input variant per family (narrow or shallow where torchvision allows),
the ones the tests run at every ISA level and thread count."""
from dataclasses import dataclass
from functools import partial
from typing import Callable

from torch import nn


@dataclass(frozen=True)
class Entry:
    name: str
    family: str
    build: Callable[[], nn.Module]
    image_size: int = 224       # default input height = width
    min_size: int = 32          # smallest input the architecture accepts
    dataset: str = "imagenet"   # input normalisation (cvm.preprocess.TRANSFORMS)
    source: str = "torchvision"


def _tv(name, **kw):
    import torchvision.models as tvm
    return getattr(tvm, name)(weights=None, **kw)


def _shufflenet(name):
    from .nets import make_traceable_shufflenet
    return make_traceable_shufflenet(_tv(name))


def _own(factory, *args, **kw):
    from . import nets
    return getattr(nets, factory)(*args, **kw)


def _entries():
    e = []
    for d in (18, 34, 50, 101, 152):
        e.append(Entry(f"resnet{d}", "resnet v1", partial(_tv, f"resnet{d}")))
    for d in (18, 34, 50, 101, 152):
        e.append(Entry(f"resnet{d}_v2", "resnet v2", partial(_own, "resnet_v2", d), source="cvm.zoo"))
    for w, tag in ((1.0, "1_0"), (0.75, "0_75"), (0.5, "0_5")):
        e.append(Entry(f"mobilenet{tag}", "mobilenet v1", partial(_own, "MobileNetV1", w),
                       source="cvm.zoo"))
    e.append(Entry("mobilenet_v2", "mobilenet v2", partial(_tv, "mobilenet_v2")))
    e.append(Entry("shufflenet_v2_x1_0", "shufflenet v2", partial(_shufflenet, "shufflenet_v2_x1_0"),
                   source="torchvision (traceable block forward)"))
    for v in ("1_0", "1_1"):
        e.append(Entry(f"squeezenet{v}", "squeezenet", partial(_tv, f"squeezenet{v}"), min_size=64))
    for d in (121, 161, 169, 201):
        e.append(Entry(f"densenet{d}", "densenet", partial(_tv, f"densenet{d}")))
    for d in (11, 13, 16, 19):
        e.append(Entry(f"vgg{d}", "vgg", partial(_tv, f"vgg{d}"), min_size=224))
        e.append(Entry(f"vgg{d}_bn", "vgg bn", partial(_tv, f"vgg{d}_bn"), min_size=224))
    e.append(Entry("alexnet", "alexnet", partial(_tv, "alexnet"), min_size=224))
    e.append(Entry("inception_v3", "inception v3", partial(_tv, "inception_v3", aux_logits=False,
                                                           init_weights=True),
                   image_size=299, min_size=75))
    e.append(Entry("googlenet", "googlenet", partial(_tv, "googlenet", aux_logits=False,
                                                     init_weights=True)))
    for d in (20, 56, 110):
        e.append(Entry(f"cifar_resnet{d}", "cifar resnet", partial(_own, "CifarResNet", d),
                       image_size=32, min_size=8, dataset="cifar10", source="cvm.zoo"))
    for d, k in ((16, 4), (28, 10)):
        e.append(Entry(f"cifar_wrn{d}_{k}", "wide resnet", partial(_own, "WideResNet", d, k),
                       image_size=32, min_size=8, dataset="cifar10", source="cvm.zoo"))
    return {x.name: x for x in e}


MODELS = _entries()


# ------------------------------------------------------------------ small variants

def _small_vgg(batch_norm):
    import torchvision.models.vgg as v
    cfg = [8, "M", 16, "M", 32, 32, "M", 64, 64, "M", 64, 64, "M"]   # vgg11's layout, / 8
    m = v.VGG(v.make_layers(cfg, batch_norm=batch_norm), num_classes=10)
    m.avgpool = nn.AdaptiveAvgPool2d((2, 2))   # 64 x 64 input: 2 x 2 left, kept as is
    m.classifier = nn.Sequential(nn.Linear(64 * 4, 128), nn.ReLU(True), nn.Dropout(),
                                 nn.Linear(128, 128), nn.ReLU(True), nn.Dropout(),
                                 nn.Linear(128, 10))
    return m


def _small_alexnet():
    import torchvision.models as tvm
    m = tvm.AlexNet(num_classes=10)   # the 11 x 11 stride-4 stem and every feature layer
    m.avgpool = nn.AdaptiveAvgPool2d((1, 1))
    m.classifier = nn.Sequential(nn.Dropout(), nn.Linear(256, 256), nn.ReLU(True), nn.Dropout(),
                                 nn.Linear(256, 256), nn.ReLU(True), nn.Linear(256, 10))
    return m


def _small_densenet():
    import torchvision.models as tvm
    return tvm.DenseNet(growth_rate=8, block_config=(2, 3, 2, 2), num_init_features=16,
                        bn_size=2, num_classes=10)


def _small(name, fn, size, family):
    return Entry(name, family, fn, image_size=size, min_size=size, source="small variant")


SMALL = {x.name: x for x in [
    _small("resnet18", partial(_tv, "resnet18", num_classes=10), 64, "resnet v1"),
    _small("resnet50", partial(_tv, "resnet50", num_classes=10, width_per_group=16), 32, "resnet v1"),
    _small("resnet50_v2", lambda: _own("ResNetV2", _own_attr("PreActBottleneck"), [1, 1, 1, 1],
                                       num_classes=10, base=16), 64, "resnet v2"),
    _small("resnet18_v2", lambda: _own("ResNetV2", _own_attr("PreActBasic"), [1, 2, 1, 1],
                                       num_classes=10, base=16), 64, "resnet v2"),
    _small("mobilenet0_25", partial(_own, "MobileNetV1", 0.25, num_classes=10), 64, "mobilenet v1"),
    _small("mobilenet_v2", partial(_tv, "mobilenet_v2", width_mult=0.35, num_classes=10), 64,
           "mobilenet v2"),
    _small("shufflenet_v2_x0_5", lambda: _shufflenet_small(), 64, "shufflenet v2"),
    _small("squeezenet1_0", partial(_tv, "squeezenet1_0", num_classes=10), 64, "squeezenet"),
    _small("squeezenet1_1", partial(_tv, "squeezenet1_1", num_classes=10), 64, "squeezenet"),
    _small("densenet_small", _small_densenet, 64, "densenet"),
    _small("vgg_small", partial(_small_vgg, False), 64, "vgg"),
    _small("vgg_small_bn", partial(_small_vgg, True), 64, "vgg bn"),
    _small("alexnet_small", _small_alexnet, 64, "alexnet"),
    _small("inception_v3", partial(_tv, "inception_v3", aux_logits=False, init_weights=True,
                                   num_classes=10), 75, "inception v3"),
    _small("googlenet", partial(_tv, "googlenet", aux_logits=False, init_weights=True,
                                num_classes=10), 64, "googlenet"),
    _small("cifar_resnet20", partial(_own, "CifarResNet", 20), 32, "cifar resnet"),
    _small("cifar_wrn10_2", partial(_own, "WideResNet", 10, 2), 32, "wide resnet"),
]}


def _own_attr(name):
    from . import nets
    return getattr(nets, name)


def _shufflenet_small():
    import torchvision.models as tvm
    from .nets import make_traceable_shufflenet
    return make_traceable_shufflenet(tvm.shufflenet_v2_x0_5(weights=None, num_classes=10))
