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

CALIBRATION_BATCHES = 2
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


def export(entry, out_dir, size=None, batch=1, seed=0, scheme="mse"):
    """Writes the model folder; returns its case dict."""
    import cvm
    size = size or entry.image_size
    if size < entry.min_size:
        raise ValueError(f"{entry.name} needs an input of at least {entry.min_size} x {entry.min_size}")
    model, q = quantize_entry(entry, size, batch, seed, scheme)
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
