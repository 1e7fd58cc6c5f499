"""A zoo entry becomes a CVM model folder: quantized with cvm.quantize, plus an input and the
runtime's output for it.

  DIR/symbol.json, params.bin, model.json   the model (model.json: input transform and scale)
  DIR/input.npy, input.bin                  a seeded random image batch as the int8 input
                                            (.bin: the C API's bytes)
  DIR/output.npy, output.bin                the runtime's output on it (.npy: the first head,
                                            int32; .bin: the C API's bytes)
  DIR/case.json                             name, family, sizes, GMACs, parameters, gas, seed
"""
import json
import math
import os

import numpy as np

from .. import preprocess
from ..preprocess import TRANSFORMS
from . import cost, weights

CALIBRATION_BATCHES = 1
CALIBRATION_BATCH = 8


def input_meta(entry, size):
    t = TRANSFORMS[entry.dataset]
    spec = {"color": t["color"], "mean": t["mean"], "std": t["std"]}
    if entry.dataset == "imagenet":
        spec.update(resize=math.ceil(size / t["crop_ratio"]), crop=[size, size])
    else:
        spec.update(resize=0, crop=None)
    return {"cvm_model_meta": 1, "name": entry.name, "input": spec}


def quantize_entry(entry, size, batch, seed, scheme="mse"):
    """(float model, QuantizedModel) of a zoo entry at input size `size`, graph batch `batch`."""
    from ..quantize import quantize
    model = weights.build_float(entry, size, seed)
    calib = [weights.normalize(weights.random_images(CALIBRATION_BATCH, size, seed * 1000 + 200 + i),
                               entry.dataset) for i in range(CALIBRATION_BATCHES)]
    example = calib[0][:1].repeat(batch, 1, 1, 1)
    q = quantize(model, example, calib, scheme=scheme, batch=batch, meta=input_meta(entry, size))
    return model, q


def integer_input(entry, size, batch, seed, input_scale):
    images = weights.random_images(batch, size, seed * 1000 + 300)
    return preprocess.quantize_input(weights.normalize(images, entry.dataset).numpy(), input_scale)


def with_batch(q, batch):
    """The QuantizedModel q with another graph batch, without quantizing again. Valid for the
    graphs cvm.quantize writes: every node but the parameters has the batch as its first axis,
    and the only attributes that name it are the input's and reshape's shape and
    strided_slice's end (the
    tests compare this with a model quantized at that batch directly)."""
    from ..quantize import QuantizedModel
    g = json.loads(q.symbol_json)
    shapes = g["attrs"]["shape"][1]
    attrs = g["attrs"]["op_attrs"][1]
    old = shapes[0][0]
    for i, n in enumerate(g["nodes"]):
        if n["op"] == "null" and i != 0:
            continue   # a parameter (node 0 is the input)
        if shapes[i][0] != old:
            raise ValueError(f"node {n['name']} does not have the batch first")
        shapes[i][0] = batch
        func = "input" if n["op"] == "null" else n["attrs"]["func_name"]
        if func in ("input", "reshape", "strided_slice"):
            a = json.loads(attrs[i])
            key = "end" if func == "strided_slice" else "shape"
            values = [int(v) for v in a[key].strip("()").split(",") if v.strip()]
            values[0] = batch
            a[key] = "(" + ", ".join(map(str, values)) + ("," if len(values) == 1 else "") + ")"
            attrs[i] = json.dumps(a)
    return QuantizedModel(json.dumps(g, indent=1), q.params, q.meta, q.input_scale,
                          q.output_scales)


def export(entry, out_dir, size=None, batch=1, seed=0, scheme="mse", quantized=None):
    """Writes the model folder; returns its case dict. `quantized`: (float model,
    QuantizedModel) of this entry and size already built (at any batch)."""
    size = size or entry.image_size
    if size < entry.min_size:
        raise ValueError(f"{entry.name} needs an input of at least {entry.min_size} x {entry.min_size}")
    model, q = quantized or quantize_entry(entry, size, batch, seed, scheme)
    if json.loads(q.symbol_json)["attrs"]["shape"][1][0][0] != batch:
        q = with_batch(q, batch)
    return write(entry, out_dir, model, q, size, batch, seed, scheme)


def write(entry, out_dir, model, q, size, batch, seed, scheme):
    import cvm
    macs, params = cost.count(model, size)
    q.save(out_dir)
    x = integer_input(entry, size, batch, seed, q.input_scale)
    runtime = cvm.Model(q.symbol_json.encode(), q.params)
    heads = runtime.run(x)
    np.save(os.path.join(out_dir, "input.npy"), x)
    with open(os.path.join(out_dir, "input.bin"), "wb") as f:
        f.write(np.ascontiguousarray(x).tobytes())
    np.save(os.path.join(out_dir, "output.npy"), heads[0])
    with open(os.path.join(out_dir, "output.bin"), "wb") as f:
        f.write(runtime.infer_bytes(np.ascontiguousarray(x).tobytes()))
    case = {"model": entry.name, "family": entry.family, "source": entry.source,
            "image_size": size, "batch": batch, "seed": seed, "scheme": scheme,
            "gmacs_per_image": round(macs / 1e9, 4), "float_params": params,
            "params_bin_bytes": len(q.params), "data_shape": list(x.shape),
            "input_scale": q.input_scale, "gas": int(runtime.gas),
            "output_shape": list(heads[0].shape)}
    with open(os.path.join(out_dir, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    return case
