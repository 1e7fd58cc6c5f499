"""cvm.zoo: the architectures of the CVM model tables as CVM models, with seeded random weights
(no pretrained weights here), calibrated BatchNorm statistics, quantized by cvm.quantize.

    python3 -m cvm.zoo --list
    python3 -m cvm.zoo resnet50 --out models/resnet50 [--batch 16] [--image-size 224] [--seed 0]

    from cvm import zoo
    zoo.MODELS["resnet50"]            # its Entry (family, builder, default size, data set)
    zoo.export(zoo.MODELS["resnet50"], "out/resnet50", size=224, batch=1)
    model, q = zoo.quantize_entry(zoo.SMALL["densenet_small"], 64, batch=1, seed=0)

Needs Debian's python3-torch and python3-torchvision.
"""
from .registry import MODELS, SMALL, Entry
from .export import export, quantize_entry, integer_input

__all__ = ["MODELS", "SMALL", "Entry", "export", "quantize_entry", "integer_input"]
