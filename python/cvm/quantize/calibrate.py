"""Calibration: run the float model on the calibration batches, keep a sample of every captured
tensor, and choose one scale per group of tensors that must share it.

Scale sharing: operators that move int8 values without arithmetic (relu, clamp, max pool,
reshape, transpose, upsampling, concatenation) need the same scale on their inputs and output,
so those tensors form one group (union-find); a group's scale is chosen from the samples of all
its members. A tensor whose only user is a relu contributes only its non-negative part (its
negative values are cut anyway), so a convolution followed by a relu gets the relu's range.
"""
import numpy as np
import torch
import torch.fx

from .errors import QuantizeError

SAMPLE_PER_TENSOR = 1 << 18
PASS_THROUGH = {"relu", "clamp", "max_pool", "reshape", "transpose", "upsample", "cat",
                "slice"}


class _Collector(torch.fx.Interpreter):
    def __init__(self, gm, wanted):
        super().__init__(gm)
        self.wanted = wanted
        self.batch_values = {}

    def run_node(self, n):
        out = super().run_node(n)
        if n.name in self.wanted:
            self.batch_values[n.name] = out
        return out


def _batches(calibration, example_shape, limit):
    """Float tensors (N, *example_shape[1:]) from the calibration iterable, checked."""
    if calibration is None:
        raise QuantizeError("the calibration set is empty (None given); pass an iterable of "
                            f"input batches shaped (N, {', '.join(map(str, example_shape[1:]))})")
    if isinstance(calibration, (torch.Tensor, np.ndarray)):
        calibration = [calibration]
    count = 0
    for i, item in enumerate(calibration):
        if isinstance(item, (tuple, list)):  # (inputs, labels) pairs of a DataLoader
            if not item:
                raise QuantizeError(f"calibration item {i} is empty")
            item = item[0]
        x = torch.as_tensor(np.asarray(item) if not isinstance(item, torch.Tensor) else item)
        if x.dim() == len(example_shape) - 1:
            x = x.unsqueeze(0)
        if tuple(x.shape[1:]) != tuple(example_shape[1:]) or x.shape[0] == 0:
            raise QuantizeError(
                f"calibration batch {i} has shape {tuple(x.shape)}; expected (N, "
                f"{', '.join(map(str, example_shape[1:]))}) like the example input "
                f"{tuple(example_shape)}, N >= 1")
        if not torch.is_floating_point(x):
            x = x.float()
        if not torch.isfinite(x).all():
            raise QuantizeError(f"calibration batch {i} holds NaN or infinite values")
        yield x.float()
        count += x.shape[0]
        if limit and count >= limit:
            return
    if count == 0:
        raise QuantizeError("the calibration set is empty: at least one input is needed to "
                            "choose the activation scales")


def collect(gm, nodes, calibration, example_shape, limit=0, seed=0):
    """{fx value name: (abs max, positive max, sample of values as float32 numpy)}"""
    wanted = {n.value for n in nodes}
    gen = np.random.default_rng(seed)
    chunks = {w: [] for w in wanted}
    amax = {w: 0.0 for w in wanted}
    pmax = {w: 0.0 for w in wanted}
    seen = 0
    with torch.no_grad():
        for x in _batches(calibration, example_shape, limit):
            col = _Collector(gm, wanted)
            col.run(x)
            seen += x.shape[0]
            for w in wanted:
                v = col.batch_values[w].detach().float().reshape(-1).numpy()
                amax[w] = max(amax[w], float(np.abs(v).max()) if v.size else 0.0)
                pmax[w] = max(pmax[w], float(v.max()) if v.size else 0.0)
                keep = min(v.size, SAMPLE_PER_TENSOR // 4)
                chunks[w].append(v[gen.choice(v.size, keep, replace=False)] if keep < v.size else v)
    stats = {}
    for w in wanted:
        sample = np.concatenate(chunks[w])
        if sample.size > SAMPLE_PER_TENSOR:
            sample = sample[gen.choice(sample.size, SAMPLE_PER_TENSOR, replace=False)]
        stats[w] = (amax[w], pmax[w], sample)
    return stats, seen


class _UnionFind:
    def __init__(self):
        self.parent = {}

    def find(self, a):
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def groups(nodes):
    """{IR name: group id}: tensors tied by pass-through operators share a group."""
    uf = _UnionFind()
    for n in nodes:
        uf.find(n.name)
        if n.kind in PASS_THROUGH:
            for i in n.inputs:
                uf.union(i, n.name)
    return {n.name: uf.find(n.name) for n in nodes}


def choose_amax(values, scheme, levels):
    """The clipping threshold of `values` for a symmetric grid of +-levels steps."""
    a = np.abs(values.astype(np.float64))
    top = float(a.max()) if a.size else 0.0
    if top == 0.0:
        return 1.0
    if scheme == "max":
        return top
    if scheme == "percentile":
        return max(float(np.percentile(a, 99.99)), top / 8)
    if scheme == "mse":
        best, best_err = top, None
        v = values.astype(np.float64)
        for frac in np.linspace(0.3, 1.0, 50):
            t = top * frac
            step = t / levels
            q = np.clip(np.round(v / step), -levels, levels) * step
            err = float(np.mean((q - v) ** 2))
            if best_err is None or err < best_err - 1e-15:
                best, best_err = t, err
        return best
    raise QuantizeError(f"unknown activation scheme {scheme!r}: use 'max', 'percentile' or 'mse'")


def effective_sample(node, users, stats):
    """The values a tensor holds as the integer graph stores them: a tensor used only by relu
    (or a clamp at 0) keeps its non-negative part."""
    amax, pmax, sample = stats[node.value]
    if users and all(u.kind == "relu" or (u.kind == "clamp" and u.attrs["lo"] >= 0)
                     for u in users):
        return np.maximum(sample, 0)
    return sample
