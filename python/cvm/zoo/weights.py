"""Seeded random weights and BatchNorm statistics calibrated on seeded random images (no
pretrained weights can be fetched here)."""
import numpy as np
import torch
from torch import nn

from ..preprocess import TRANSFORMS


def random_images(count, size, seed, channels=3):
    """uint8 images (count, size, size, channels): blocks of 8 x 8 pixels of one random colour
    plus pixel noise, so that convolutions see both flat areas and edges."""
    rng = np.random.default_rng(seed)
    cells = -(-size // 8)
    base = rng.integers(0, 256, (count, cells, cells, channels)).astype(np.float64)
    base = base.repeat(8, axis=1).repeat(8, axis=2)[:, :size, :size]
    noisy = base + rng.normal(0, 24, base.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def normalize(images, dataset):
    """uint8 (N, H, W, C) -> float32 NCHW tensor, (pixel - mean) / std of the data set."""
    t = TRANSFORMS[dataset]
    mean = np.asarray(t["mean"], dtype=np.float64)
    std = np.asarray(t["std"], dtype=np.float64)
    x = (images.astype(np.float64) - mean) / std
    return torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32))


def calibrate_batchnorm(model, size, dataset, seed, batches=2, batch=8):
    """Sets every BatchNorm's running mean and variance to the average of its batch statistics
    over `batches` seeded random batches (train mode, cumulative average), then eval mode."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    model.eval()
    if not bns:
        return model
    for m in bns:
        m.reset_running_stats()
        m.momentum = None   # cumulative moving average: the plain mean over the batches
    model.train()
    with torch.no_grad():
        for i in range(batches):
            model(normalize(random_images(batch, size, seed * 1000 + 100 + i), dataset))
    return model.eval()


def build_float(entry, size, seed):
    """The float model of a zoo entry: seeded initial weights (the architecture's own
    initialisation) with calibrated BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = entry.build()
    return calibrate_batchnorm(model, size, entry.dataset, seed)
