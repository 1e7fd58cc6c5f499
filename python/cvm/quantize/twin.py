"""The quantised twin: runs a written CVM graph (symbol.json + params.bin) in PyTorch with the
runtime's integer arithmetic, node by node. It reads the graph it is given, so it computes what
was written and cannot drift from it; the tests check it against the runtime byte for byte.

Values are int64 tensors holding int32 values; sums wrap modulo 2^32 as the runtime's do.
Convolutions and dense layers run in float64, exact here: |products| < 2^15 and at most 2^24
terms keep every partial sum below 2^53. The batch axis may differ from the graph's: shapes in
reshape attributes get the actual batch.
"""
import json
import struct

import numpy as np
import torch
import torch.nn.functional as F

LIST_MAGIC = 0xF7E58D4F05049CB7


def read_params(blob):
    """{name: int64 numpy array} of a params.bin blob (the layout emit.GraphWriter writes)."""
    off = 0

    def take(fmt):
        nonlocal off
        vals = struct.unpack_from(fmt, blob, off)
        off += struct.calcsize(fmt)
        return vals

    magic, _, count = take("<QQQ")
    if magic != LIST_MAGIC:
        raise ValueError("not a CVM params blob")
    names = []
    for _ in range(count):
        (n,) = take("<Q")
        names.append(blob[off:off + n].decode())
        off += n
    take("<Q")
    out = {}
    for name in names:
        _, _, _, _, ndim = take("<QQiii")
        _, bits, _ = take("<BBH")
        shape = take("<" + "q" * ndim)
        (nbytes,) = take("<q")
        dtype = "<i1" if bits == 8 else "<i4"
        out[name] = np.frombuffer(blob, dtype=dtype, count=nbytes // (bits // 8),
                                  offset=off).astype(np.int64).reshape(shape)
        off += nbytes
    return out


def _attrs_tuple(s):
    s = s.strip().strip("()[]")
    return tuple(int(v) for v in s.split(",") if v.strip())


def wrap32(v):
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _shift_right(v, s):
    return torch.div(v, 1 << s, rounding_mode="floor")


def right_shift(v, precision, s):
    """cvm_right_shift as the runtime computes it (ops/elemwise.cc)."""
    hi = (1 << (precision - 1)) - 1
    if hi == 0:
        return torch.zeros_like(v)
    if s >= 31:
        return torch.where(v < 0, -torch.ones_like(v), torch.zeros_like(v))
    r = _shift_right(_shift_right(v, s - 1) + 1, 1)
    if precision + s >= 32:
        return _shift_right(wrap32(_shift_right(v, s - 1) + 1), 1)
    return r.clamp(-hi, hi)


class Twin:
    """twin(x) -> list of int64 tensors, one per head; x: integers shaped like the graph's input
    (any batch), already clamped to the input precision (cvm.preprocess does)."""

    def __init__(self, symbol_json, params_blob):
        self.graph = json.loads(symbol_json)
        self.params = {k: torch.from_numpy(v) for k, v in read_params(params_blob).items()}
        attrs = self.graph["attrs"]
        self.op_attrs = [json.loads(a) for a in attrs["op_attrs"][1]]
        self.precision = attrs["precision"][1]
        self.shapes = attrs["shape"][1]
        self.input_precision = self.precision[0]

    def __call__(self, x):
        x = torch.as_tensor(np.asarray(x)).to(torch.int64)
        hi = (1 << (self.input_precision - 1)) - 1
        x = x.clamp(-hi, hi)
        batch = x.shape[0]
        nodes = self.graph["nodes"]
        heads = [h[0] for h in self.graph["heads"]]
        # Each value is dropped after its last reader, so memory stays a few activations.
        last_use = {h: len(nodes) for h in heads}
        for nid, node in enumerate(nodes):
            for i in node["inputs"]:
                last_use[i[0]] = max(last_use.get(i[0], -1), nid)
        vals = {}
        for nid, node in enumerate(nodes):
            if node["op"] == "null":
                vals[nid] = self.params[node["name"]] if node["name"] in self.params else x
                continue
            ins = [vals[i[0]] for i in node["inputs"]]
            vals[nid] = self._run(node["attrs"]["func_name"], self.op_attrs[nid], ins, batch)
            for i in node["inputs"]:
                if last_use[i[0]] == nid and nodes[i[0]]["op"] != "null" and i[0] in vals:
                    del vals[i[0]]
        return [vals[h] for h in heads]

    def _run(self, func, a, ins, batch):
        x = ins[0]
        if func == "conv2d":
            w = ins[1]
            y = F.conv2d(x.double(), w.double(), None, _attrs_tuple(a.get("strides", "(1, 1)")),
                         _attrs_tuple(a.get("padding", "(0, 0)")),
                         _attrs_tuple(a.get("dilation", "(1, 1)")), int(a.get("groups", 1)))
            y = y.round().to(torch.int64)
            if a.get("use_bias", "True") == "True":
                y = y + ins[2].view(1, -1, 1, 1)
            return wrap32(y)
        if func == "dense":
            y = (x.double() @ ins[1].double().t()).round().to(torch.int64)
            if a.get("use_bias", "True") == "True":
                y = y + ins[2].view(1, -1)
            return wrap32(y)
        if func == "cvm_right_shift":
            return right_shift(x, int(a["precision"]), int(a["shift_bit"]))
        if func == "cvm_clip":
            hi = (1 << (int(a["precision"]) - 1)) - 1
            return x.clamp(-hi, hi)
        if func == "clip":
            return torch.minimum(x, torch.tensor(int(a["a_max"]))).clamp(min=int(a["a_min"]))
        if func == "relu":
            return x.clamp(min=0)
        if func == "broadcast_mul":
            return wrap32(x * ins[1])
        if func in ("broadcast_add", "elemwise_add"):
            return wrap32(x + ins[1])
        if func == "max_pool2d":
            pad = _attrs_tuple(a.get("padding", "(0, 0)"))
            y = F.max_pool2d(x.double(), _attrs_tuple(a["pool_size"]),
                             _attrs_tuple(a.get("strides", "(1, 1)")), pad if len(pad) == 2 else pad * 2,
                             ceil_mode=a.get("ceil_mode", "False") == "True")
            return y.to(torch.int64)
        if func == "sum":
            axes = _attrs_tuple(a.get("axis", "()"))
            return wrap32(x.sum(dim=axes, keepdim=a.get("keepdims", "False") == "True"))
        if func == "concatenate":
            return torch.cat(ins, dim=int(a.get("axis", 1)))
        if func == "reshape":
            shape = list(_attrs_tuple(a["shape"]))
            shape[0] = batch
            return x.reshape(shape)
        if func == "strided_slice":  # begin/end on every axis, stride 1 (what lower.py writes)
            begin, end = _attrs_tuple(a["begin"]), _attrs_tuple(a["end"])
            index = (slice(None),) + tuple(slice(b, e) for b, e in zip(begin[1:], end[1:]))
            return x[index].contiguous()
        if func == "flatten":
            return x.reshape(x.shape[0], -1)
        if func == "transpose":
            return x.permute(*_attrs_tuple(a["axes"])).contiguous()
        if func == "upsampling":
            s = int(a["scale"])
            return x.repeat_interleave(s, dim=2).repeat_interleave(s, dim=3)
        raise NotImplementedError(f"the twin has no operator {func}")
