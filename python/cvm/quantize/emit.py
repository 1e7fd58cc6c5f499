"""Emission: the captured IR with its scales becomes a CVM graph (symbol.json) and params.bin.

Every tensor between operators is int8 (precision 8) with one scale, except the graph's outputs,
which keep 16 bits. A convolution or dense layer takes int8 data and per-output-channel int8
weights (scale max|w_c| / 127, or the MSE choice), adds an int32 bias at the accumulator's scale
and is requantised to its output scale by `requantize`:

  acc  --[cvm_right_shift s1, precision 16 | cvm_clip 16 | nothing]-->  mid
  mid  --broadcast_mul M[c] (one int16 multiplier per channel)-->  --cvm_right_shift s2-->  out

with M[c] / 2^(s1 + s2) the channel's real ratio (15 significant bits). The pre-shift exists only
because the verifier's static precision of the accumulator plus the multiplier's may not pass
32 bits; s1 is the smallest shift for which its clip can only hit values that the final clip
saturates anyway. Residual adds rescale both sides with one multiplier each before a shared
shift; average pools are a depthwise convolution with weight 1 (or a sum for a global mean)
followed by the same requantisation.
"""
import json
import math
import struct

import numpy as np

from .errors import QuantizeError
from .storage_plan import storage_ids

MULT_PRECISION = 16          # precision of the multipliers (values up to 2^15 - 1)
MID_PRECISION = 32 - MULT_PRECISION
OUTPUT_PRECISION = 16
LIST_MAGIC = 0xF7E58D4F05049CB7
ARRAY_MAGIC = 0xDD5E40F096B4A13F


def number_precision(max_abs):
    """Bits of a signed value of magnitude up to max_abs: bit_length(max_abs + 1) + 1."""
    return int(max_abs + 1).bit_length() + 1


def value_precision(max_abs):
    """Smallest precision p with max_abs <= 2^(p-1) - 1 (the verifier's check of params)."""
    p = 1
    while (1 << (p - 1)) - 1 < max_abs:
        p += 1
    return p


def _tuple_str(t):
    t = tuple(int(v) for v in t)
    return "(" + ", ".join(map(str, t)) + ("," if len(t) == 1 else "") + ")"


class GraphWriter:
    """Builds a cvm_1.0.0 graph; computes each node's shape and precision with the verifier's
    rules, so the planner knows them while it writes."""

    def __init__(self):
        self.nodes, self.shapes, self.precisions, self.op_attrs = [], [], [], []
        self.params = {}          # name -> int numpy array
        self.param_int8 = {}      # name -> stored as int8
        self.names = set()

    def _name(self, base):
        name, k = base, 0
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def variable(self, name, shape, precision, values=None):
        name = self._name(name)
        self.nodes.append({"op": "null", "name": name, "inputs": []})
        self.shapes.append(tuple(int(s) for s in shape))
        self.precisions.append(int(precision))
        self.op_attrs.append({"precision": str(precision), "shape": _tuple_str(shape)})
        if values is not None:
            values = np.asarray(values, dtype=np.int64).reshape(shape)
            bound = (1 << (precision - 1)) - 1
            if np.abs(values).max(initial=0) > bound:
                raise QuantizeError(f"internal: parameter {name} exceeds its precision {precision}")
            self.params[name] = values
            self.param_int8[name] = precision <= 8
        return len(self.nodes) - 1

    def param(self, name, values, precision=None):
        values = np.asarray(values, dtype=np.int64)
        if precision is None:
            precision = value_precision(int(np.abs(values).max(initial=0)))
        if precision > 32:
            raise QuantizeError(f"internal: parameter {name} needs {precision} bits")
        return self.variable(name, values.shape, precision, values)

    def op(self, func, inputs, shape, precision, attrs=None, name=None):
        name = self._name(name or func)
        self.nodes.append({"op": "cvm_op", "name": name, "attrs": {
            "flatten_data": "0", "func_name": func, "num_inputs": str(len(inputs)),
            "num_outputs": "1"}, "inputs": [[i, 0, 0] for i in inputs]})
        self.shapes.append(tuple(int(s) for s in shape))
        if not 0 < precision <= 32:
            raise QuantizeError(f"internal: node {name} ({func}) would need precision {precision}")
        self.precisions.append(int(precision))
        self.op_attrs.append({k: str(v) for k, v in (attrs or {}).items()})
        return len(self.nodes) - 1

    def symbol_json(self, heads, share_storage=True):
        """The graph's text. share_storage: storage pools shared by liveness (storage_plan.py);
        False gives each node a pool of its own (storage_id = node index)."""
        n = len(self.nodes)
        if share_storage:
            ids = storage_ids(self.nodes, self.shapes, heads)
        else:
            ids = list(range(n))
        graph = {
            "nodes": self.nodes,
            "arg_nodes": [i for i, nd in enumerate(self.nodes) if nd["op"] == "null"],
            "node_row_ptr": list(range(n + 1)),
            "heads": [[h, 0, 0] for h in heads],
            "attrs": {
                "op_attrs": ["list_str", [json.dumps(a) for a in self.op_attrs]],
                "dltype": ["list_str", ["int32"] * n],
                "precision": ["list_int", self.precisions],
                "storage_id": ["list_int", ids],
                "shape": ["list_shape", [list(s) for s in self.shapes]],
            },
            "version": "cvm_1.0.0",
        }
        return json.dumps(graph, indent=1)

    def params_bin(self):
        out = bytearray()
        names = list(self.params)
        out += struct.pack("<QQQ", LIST_MAGIC, 0, len(names))
        for name in names:
            b = name.encode()
            out += struct.pack("<Q", len(b)) + b
        out += struct.pack("<Q", len(names))
        for name in names:
            a = self.params[name]
            int8 = self.param_int8[name]
            out += struct.pack("<QQiii", ARRAY_MAGIC, 0, 1, 0, a.ndim)
            out += struct.pack("<BBH", 0, 8 if int8 else 32, 1)
            out += struct.pack("<" + "q" * a.ndim, *a.shape)
            data = a.astype("<i1" if int8 else "<i4").tobytes()
            out += struct.pack("<q", len(data)) + data
        return bytes(out)


class Tensor:
    """A tensor of the integer graph: its node, the real value of one unit, and precision."""

    def __init__(self, node, scale, precision, shape):
        self.node, self.scale, self.precision, self.shape = node, scale, precision, tuple(shape)


def requantize(g, acc, ratio, out_precision, channel_axis_shape, name):
    """acc (precision acc.precision) times ratio (a float or one per channel) rounded into
    out_precision bits; channel_axis_shape is the multiplier's broadcast shape."""
    ratio = np.atleast_1d(np.asarray(ratio, dtype=np.float64))
    if np.any(ratio < 0) or not np.all(np.isfinite(ratio)):
        raise QuantizeError(f"internal: bad requantisation ratio at {name}")
    top = float(ratio.max())
    if top == 0.0:
        top = 1.0
    mmax = (1 << (MULT_PRECISION - 1)) - 1
    total = int(math.floor(math.log2(mmax / top)))   # M = ratio * 2^total <= mmax
    if total < 1:
        raise QuantizeError(f"{name}: the output scale is {1 / top:.3g} times finer than its "
                            "input's; at most 2^14 is representable")
    max_s2 = 31 - out_precision                       # the final shift keeps its clip
    mult = np.round(ratio * 2.0 ** total).astype(np.int64)
    nonzero = mult[mult > 0]
    m_min = int(nonzero.min()) if nonzero.size else 1
    mid_bound = (1 << (MID_PRECISION - 1)) - 1
    # Smallest pre-shift s1 whose clip of the middle value only hits values the final clip
    # saturates anyway: mid_bound * m_min / 2^s2 >= 2^(out_precision - 1).
    need_pre = acc.precision + MULT_PRECISION > 32
    s1 = 0
    if need_pre:
        while s1 < total and mid_bound * m_min < (1 << (out_precision - 1)) * 2 ** (total - s1):
            s1 += 1
    s1 = max(s1, total - max_s2)
    s2 = total - s1
    if s2 < 1:
        # Everything shifts before the multiplier: fold one bit back into the multiplier.
        s1, s2 = total - 1, 1
    node, prec = acc.node, acc.precision
    if s1 > 0:
        node = g.op("cvm_right_shift", [node], acc.shape, MID_PRECISION,
                    {"precision": MID_PRECISION, "shift_bit": s1}, name=f"{name}_preshift")
        prec = MID_PRECISION
    elif need_pre:
        node = g.op("cvm_clip", [node], acc.shape, MID_PRECISION,
                    {"precision": MID_PRECISION}, name=f"{name}_preclip")
        prec = MID_PRECISION
    if mult.size > 1:
        m_values = mult.reshape(channel_axis_shape)
    else:
        m_values = mult.reshape((1,))
    m_node = g.param(f"{name}_mult", m_values, MULT_PRECISION)
    node = g.op("broadcast_mul", [node, m_node], acc.shape, prec + MULT_PRECISION,
                name=f"{name}_mul")
    node = g.op("cvm_right_shift", [node], acc.shape, out_precision,
                {"precision": out_precision, "shift_bit": s2}, name=f"{name}_shift")
    return node


def quantize_weight(w, scheme):
    """Per-output-channel symmetric int8: (int weights, scale per channel)."""
    flat = w.reshape(w.shape[0], -1)
    amax = np.abs(flat).max(axis=1)
    if scheme == "mse":
        best = amax.copy()
        best_err = np.full(amax.shape, np.inf)
        for frac in np.linspace(0.5, 1.0, 26):
            t = np.where(amax > 0, amax * frac, 1.0)
            step = (t / 127.0)[:, None]
            q = np.clip(np.round(flat / step), -127, 127) * step
            err = ((q - flat) ** 2).sum(axis=1)
            better = err < best_err - 1e-18
            best = np.where(better, t, best)
            best_err = np.where(better, err, best_err)
        amax = best
    elif scheme != "max":
        raise QuantizeError(f"unknown weight scheme {scheme!r}: use 'max' or 'mse'")
    scale = np.where(amax > 0, amax / 127.0, 1.0)
    q = np.clip(np.round(flat / scale[:, None]), -127, 127).astype(np.int64)
    return q.reshape(w.shape), scale


def bias_int(b, acc_scale, name):
    q = np.round(b / acc_scale).astype(np.int64)
    if np.abs(q).max(initial=0) >= (1 << 29):
        raise QuantizeError(f"{name}: the bias is too large for the accumulator's scale")
    return q
