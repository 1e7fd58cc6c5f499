"""Multiply-accumulates and parameter counts of a float model at one input size."""
import torch
from torch import nn


def count(model, size, channels=3):
    """(MACs of one image, parameter count): convolutions and linear layers (output elements
    times reduction length), as bench/model_bench.cc counts them on the CVM graph."""
    macs = [0]

    def on_conv(m, inp, out):
        k = (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        macs[0] += out[0].numel() * k

    def on_linear(m, inp, out):
        macs[0] += out[0].numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(on_conv))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(on_linear))
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, channels, size, size))
    finally:
        for h in hooks:
            h.remove()
    params = sum(p.numel() for p in model.parameters())
    return macs[0], params
