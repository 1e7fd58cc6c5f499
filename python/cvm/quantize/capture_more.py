"""Capture rules added for the torchvision families of the model zoo (cvm.zoo), kept apart
from capture.py's core rules:

- a BatchNorm2d that does not follow a Conv2d (DenseNet's and pre-activation ResNets'
  BatchNorm -> ReLU -> Conv2d) becomes a depthwise 1 x 1 convolution holding its affine
  transform, y[c] = x[c] * a[c] + b[c];
- max pooling with ceil_mode (SqueezeNet, GoogLeNet), which the CVM max_pool2d computes
  exactly when PyTorch keeps every window (a window left of the last starts inside the
  input): padding and the cut-off window's missing positions never win a maximum;
- basic slicing x[:, a:b] (ShuffleNet v2's split of the channels), as strided_slice.
"""
import torch

from .errors import QuantizeError


def batchnorm_as_depthwise(bn):
    """(weight (C, 1, 1, 1), bias (C,)) in float64 of the 1 x 1 depthwise convolution equal to
    the BatchNorm2d `bn` in eval mode."""
    if bn.running_mean is None or bn.running_var is None:
        raise QuantizeError("a BatchNorm2d without running statistics cannot be converted")
    c = bn.num_features
    gamma = bn.weight.detach().double() if bn.affine else torch.ones(c, dtype=torch.float64)
    beta = bn.bias.detach().double() if bn.affine else torch.zeros(c, dtype=torch.float64)
    a = gamma / torch.sqrt(bn.running_var.double() + bn.eps)
    b = beta - bn.running_mean.double() * a
    return a.view(c, 1, 1, 1), b


def ceil_pool_shape_matches(in_hw, out_hw, kernel, stride, padding):
    """True when the CVM max_pool2d with ceil_mode gives PyTorch's output size (PyTorch drops
    a last window that would start in the right padding; the CVM verifier rejects it)."""
    for d, o, k, s, p in zip(in_hw, out_hw, kernel, stride, padding):
        cvm_o = (d + 2 * p - k + s - 1) // s + 1
        if cvm_o != o or (cvm_o - 1) * s - p >= d:
            return False
    return True


def slice_spec(index, shape):
    """(begin, end) per axis of a basic slicing index (slices with step 1 or None, Ellipsis)
    of a tensor of `shape` (batch included), or None when the index is anything else."""
    if not isinstance(index, tuple):
        index = (index,)
    if sum(1 for i in index if i is Ellipsis) > 1:
        return None
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (len(shape) - len(index) + 1) + index[at + 1:]
    if len(index) > len(shape):
        return None
    index = index + (slice(None),) * (len(shape) - len(index))
    begin, end = [], []
    for sl, d in zip(index, shape):
        if not isinstance(sl, slice) or sl.step not in (None, 1):
            return None
        if any(v is not None and not isinstance(v, int) for v in (sl.start, sl.stop)):
            return None
        b, e, _ = sl.indices(d)
        if e <= b:
            return None
        begin.append(b)
        end.append(e)
    return tuple(begin), tuple(end)
