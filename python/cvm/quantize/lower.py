"""The IR with its scales becomes the integer graph (see emit.py for the arithmetic)."""
import numpy as np

from .emit import (GraphWriter, OUTPUT_PRECISION, Tensor, bias_int, number_precision,
                   quantize_weight, requantize)
from .errors import QuantizeError


def _reduce_bits(count):
    return int(count).bit_length()


def build(ir_nodes, outputs, scales, wide, batch, input_scale, weight_scheme):
    """symbol.json text and params.bin bytes.

    scales: {IR name: real value of one integer unit}; wide: IR names that keep 16 bits
    (outputs and the pass-through operators before them); input_scale: int = real * input_scale.
    """
    g = GraphWriter()
    t = {}  # IR name -> Tensor
    users = {}
    for n in ir_nodes:
        for i in n.inputs:
            users.setdefault(i, []).append(n)

    def out_precision(name):
        return OUTPUT_PRECISION if name in wide else 8

    for n in ir_nodes:
        shape = (batch,) + tuple(n.shape)
        so = scales[n.name]
        po = out_precision(n.name)
        x = t[n.inputs[0]] if n.inputs else None
        if n.kind == "input":
            if len(n.shape) < 1:
                raise QuantizeError("the input must have a batch axis and at least one more")
            node = g.variable("data", shape, 8)
            t[n.name] = Tensor(node, 1.0 / input_scale, 8, shape)
            continue
        if n.kind in ("conv", "linear"):
            w = n.attrs["weight"].numpy()
            b = n.attrs["bias"].numpy()
            wq, ws = quantize_weight(w, weight_scheme)
            acc_scale = x.scale * ws
            bq = bias_int(b, acc_scale, n.name)
            w_node = g.param(f"{n.name}_weight", wq, 8)
            b_node = g.param(f"{n.name}_bias", bq)
            k = int(np.prod(w.shape[1:]))
            prec = max(x.precision + 8 + _reduce_bits(k), g.precisions[b_node]) + 1
            if n.kind == "conv":
                if len(x.shape) != 4:
                    raise QuantizeError(f"{n.name}: a Conv2d needs 4-D input, got {x.shape}")
                attrs = {"channels": w.shape[0], "kernel_size": f"({w.shape[2]}, {w.shape[3]})",
                         "strides": "(%d, %d)" % n.attrs["stride"],
                         "padding": "(%d, %d)" % n.attrs["padding"],
                         "dilation": "(%d, %d)" % n.attrs["dilation"],
                         "groups": n.attrs["groups"], "use_bias": "True"}
                acc = g.op("conv2d", [x.node, w_node, b_node], shape, prec, attrs, name=n.name)
                mult_shape = (w.shape[0], 1, 1)
            else:
                if len(x.shape) != 2:
                    raise QuantizeError(f"{n.name}: a Linear layer's input must be 2-D (N, K) here, "
                                        f"got {x.shape}; flatten it first")
                acc = g.op("dense", [x.node, w_node, b_node], shape, prec,
                           {"units": w.shape[0], "use_bias": "True"}, name=n.name)
                mult_shape = (w.shape[0],)
            node = requantize(g, Tensor(acc, None, prec, shape), acc_scale / so, po, mult_shape, n.name)
        elif n.kind == "avg_pool":
            c = x.shape[1]
            kh, kw = n.attrs["kernel"]
            ones = g.param(f"{n.name}_ones", np.ones((c, 1, kh, kw), dtype=np.int64), 2)
            prec = x.precision + 2 + _reduce_bits(kh * kw)
            attrs = {"channels": c, "kernel_size": f"({kh}, {kw})",
                     "strides": "(%d, %d)" % n.attrs["stride"],
                     "padding": "(%d, %d)" % n.attrs["padding"], "dilation": "(1, 1)",
                     "groups": c, "use_bias": "False"}
            acc = g.op("conv2d", [x.node, ones], shape, prec, attrs, name=n.name)
            node = requantize(g, Tensor(acc, None, prec, shape), x.scale / (kh * kw * so), po,
                              None, n.name)
        elif n.kind == "mean":
            axes = n.attrs["axes"]
            count = int(np.prod([x.shape[a] for a in axes]))
            kept_right = [d for d in range(max(axes) + 1, len(x.shape))]
            if any(x.shape[d] == 1 for d in kept_right):
                raise QuantizeError(f"{n.name}: a mean with a kept axis of extent 1 after the "
                                    "reduced ones is not supported")
            prec = x.precision + _reduce_bits(count)
            acc = g.op("sum", [x.node], shape, prec,
                       {"axis": "(" + ", ".join(map(str, axes)) + ("," if len(axes) == 1 else "") + ")",
                        "keepdims": "True" if n.attrs["keepdims"] else "False"}, name=n.name)
            node = requantize(g, Tensor(acc, None, prec, shape), x.scale / (count * so), po,
                              None, n.name)
        elif n.kind == "add":
            a, b = t[n.inputs[0]], t[n.inputs[1]]
            node = _add(g, n.name, a, b, so, po, shape)
        elif n.kind == "cat":
            parts = []
            for i, name in enumerate(n.inputs):
                part = t[name]
                if abs(part.scale / so - 1) > 1e-9 or part.precision != po:
                    part = Tensor(requantize(g, part, part.scale / so, po, None, f"{n.name}_in{i}"),
                                  so, po, part.shape)
                parts.append(part.node)
            node = g.op("concatenate", parts, shape, po, {"axis": n.attrs["axis"]}, name=n.name)
        else:
            # Pass-through operators: the input already has this scale and precision.
            if abs(x.scale / so - 1) > 1e-9 or x.precision != po:
                x = Tensor(requantize(g, x, x.scale / so, po, None, f"{n.name}_in"), so, po, x.shape)
            if n.kind == "relu":
                node = g.op("relu", [x.node], shape, po, name=n.name)
            elif n.kind == "clamp":
                node = _clamp(g, n, x, so, po, shape)
            elif n.kind == "max_pool":
                attrs = {"pool_size": "(%d, %d)" % n.attrs["kernel"],
                         "strides": "(%d, %d)" % n.attrs["stride"],
                         "padding": "(%d, %d)" % n.attrs["padding"]}
                if n.attrs.get("ceil_mode"):
                    attrs["ceil_mode"] = "True"
                node = g.op("max_pool2d", [x.node], shape, po, attrs, name=n.name)
            elif n.kind == "slice":  # capture_more.py: x[:, a:b]
                begin = (0,) + tuple(n.attrs["begin"])
                end = (batch,) + tuple(n.attrs["end"])
                node = g.op("strided_slice", [x.node], shape, po,
                            {"begin": "(" + ", ".join(map(str, begin)) + ")",
                             "end": "(" + ", ".join(map(str, end)) + ")"}, name=n.name)
            elif n.kind == "reshape":
                node = g.op("reshape", [x.node], shape, po,
                            {"shape": "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"},
                            name=n.name)
            elif n.kind == "transpose":
                node = g.op("transpose", [x.node], shape, po,
                            {"axes": "(" + ", ".join(map(str, n.attrs["axes"])) + ")"}, name=n.name)
            elif n.kind == "upsample":
                node = g.op("upsampling", [x.node], shape, po, {"scale": n.attrs["scale"]},
                            name=n.name)
            else:
                raise QuantizeError(f"internal: no lowering for {n.kind}")
        t[n.name] = Tensor(node, so, po, shape)

    heads = []
    for o in outputs:
        heads.append(t[o].node)
    return g, heads, {o: t[o].scale for o in outputs}


def _add(g, name, a, b, so, po, shape):
    """(a * Ma + b * Mb) >> s with Ma / 2^s = scale_a / so (and b alike)."""
    ra, rb = a.scale / so, b.scale / so
    mmax = (1 << 15) - 1
    top = max(ra, rb)
    total = int(np.floor(np.log2(mmax / top)))
    total = min(total, 31 - po)
    if total < 1:
        raise QuantizeError(f"{name}: the sum's scale is too fine for its inputs")
    ma, mb = int(round(ra * 2 ** total)), int(round(rb * 2 ** total))
    pa = max(a.precision, b.precision)
    if pa + 16 + 1 > 32:
        raise QuantizeError(f"internal: {name} adds {pa}-bit values")
    na = g.op("broadcast_mul", [a.node, g.param(f"{name}_mult_a", [ma], 16)], shape,
              a.precision + 16, name=f"{name}_mul_a")
    nb = g.op("broadcast_mul", [b.node, g.param(f"{name}_mult_b", [mb], 16)], shape,
              b.precision + 16, name=f"{name}_mul_b")
    s = g.op("elemwise_add", [na, nb], shape, max(a.precision, b.precision) + 17, name=name)
    return g.op("cvm_right_shift", [s], shape, po, {"precision": po, "shift_bit": total},
                name=f"{name}_shift")


def _clamp(g, n, x, so, po, shape):
    hi_int = (1 << (po - 1)) - 1
    lo, hi = n.attrs["lo"], n.attrs["hi"]
    a_min = -hi_int if lo == float("-inf") else int(np.round(lo / so))
    a_max = hi_int if hi == float("inf") else int(np.round(hi / so))
    a_min, a_max = max(a_min, -hi_int), min(a_max, hi_int)
    if a_min <= -hi_int and a_max >= hi_int:
        # Neither bound cuts the integer range: a clip to the precision (an identity here).
        return g.op("cvm_clip", [x.node], shape, po, {"precision": po}, name=n.name)
    if a_min == 0 and a_max >= hi_int:
        return g.op("relu", [x.node], shape, po, name=n.name)
    # clip's precision is number_precision(max |bound|): keep it within po.
    lim = hi_int - 1
    a_min, a_max = max(a_min, -lim), min(a_max, lim)
    if a_min >= a_max:
        raise QuantizeError(f"{n.name}: clamp range [{lo}, {hi}] is empty at scale {so:.3g}")
    prec = number_precision(max(abs(a_min), abs(a_max)))
    return g.op("clip", [x.node], shape, prec, {"a_min": a_min, "a_max": a_max}, name=n.name)
