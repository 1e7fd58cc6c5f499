"""cvm.quantize: a trained float PyTorch model becomes a CVM model (symbol.json + params.bin,
plus model.json with the input transform and class names).

    from cvm.quantize import quantize
    q = quantize(model, example_input, calibration_batches, input_scale=62.79,
                 meta={"classes": [...], "input": {...}})
    q.save("out_dir")        # symbol.json, params.bin, model.json
    q.twin(x_int8)           # the exact integer outputs, computed in PyTorch

The scheme (see README, "Quantizer"): int8 data, per-output-channel int8 weights, int32 biases,
requantisation by a per-channel 16-bit multiplier and cvm_right_shift, activation scales from
calibration ('mse' by default, or 'max' / 'percentile'), graph outputs kept at 16 bits.
"""
import json
import os

import numpy as np

from .errors import QuantizeError

__all__ = ["quantize", "QuantizeError", "QuantizedModel", "SCHEMES"]

SCHEMES = ("mse", "max", "percentile")


class QuantizedModel:
    """The written model: symbol_json (str), params (bytes), meta (dict or None), the input
    scale (integer input = round(float input * input_scale)) and the float scale of each
    output (real = integer * scale)."""

    def __init__(self, symbol_json, params, meta, input_scale, output_scales):
        self.symbol_json, self.params, self.meta = symbol_json, params, meta
        self.input_scale = input_scale
        self.output_scales = output_scales
        self._twin = None

    @property
    def twin(self):
        if self._twin is None:
            from .twin import Twin
            self._twin = Twin(self.symbol_json, self.params)
        return self._twin

    def save(self, out_dir):
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "symbol.json"), "w") as f:
            f.write(self.symbol_json)
        with open(os.path.join(out_dir, "params.bin"), "wb") as f:
            f.write(self.params)
        if self.meta is not None:
            with open(os.path.join(out_dir, "model.json"), "w") as f:
                json.dump(self.meta, f, indent=2)
                f.write("\n")
        return out_dir


def quantize(model, example_input, calibration, *, scheme="mse", weight_scheme="max",
             input_scale=None, batch=None, meta=None, calibration_limit=2048, seed=0,
             share_storage=True):
    """Quantize `model` (a float torch.nn.Module in eval mode).

    example_input: a float tensor (N, ...) of the model's input shape; N is the written
      graph's batch unless `batch` is given.
    calibration: an iterable of float input batches (N, ...) or (inputs, labels) pairs, the
      model's float input space (after normalisation); at most calibration_limit inputs used.
    scheme: activation scales: 'mse' (least squared error), 'max' or 'percentile' (99.99%).
    weight_scheme: per-channel weight scales: 'max' or 'mse'.
    input_scale: integer input = round(float input * input_scale), clamped to [-127, 127];
      default 127 / max |calibration input|.
    meta: model.json content (cvm_model_meta format); its input.scale is set to input_scale.
    share_storage: intermediate values share storage pools by liveness (storage_plan.py), as the
      reference's compiler plans them; False gives every node a pool of its own (the model's
      storage then holds every intermediate value at once).
    """
    import torch
    from . import calibrate, capture, lower

    if scheme not in SCHEMES:
        raise QuantizeError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    if not isinstance(example_input, torch.Tensor):
        example_input = torch.as_tensor(np.asarray(example_input))
    example_input = example_input.float()
    gm, ir, outputs = capture.capture(model, example_input)
    stats, seen = calibrate.collect(gm, ir, calibration, tuple(example_input.shape),
                                    limit=calibration_limit, seed=seed)
    users = {}
    for n in ir:
        for i in n.inputs:
            users.setdefault(i, []).append(n)
    group_of = calibrate.groups(ir)
    by_name = {n.name: n for n in ir}

    # Outputs (and pass-through operators that lead only to them) keep 16 bits.
    wide = set()
    for n in reversed(ir):
        if n.name in outputs or (users.get(n.name) and all(
                u.name in wide and u.kind in calibrate.PASS_THROUGH - {"cat"}
                for u in users[n.name])):
            if n.kind != "input":
                wide.add(n.name)
    input_node = ir[0]
    if input_scale is None:
        amax = stats[input_node.value][0]
        input_scale = 127.0 / amax if amax > 0 else 1.0
    input_scale = float(input_scale)

    members = {}
    for n in ir:
        members.setdefault(group_of[n.name], []).append(n)
    scales = {}
    for gid, ms in members.items():
        if any(m.kind == "input" for m in ms):
            s = 1.0 / input_scale
        else:
            levels = 32767 if all(m.name in wide for m in ms) else 127
            sample = np.concatenate([calibrate.effective_sample(m, users.get(m.name), stats)
                                     for m in ms])
            group_scheme = "max" if levels > 127 else scheme
            s = calibrate.choose_amax(sample, group_scheme, levels) / levels
        for m in ms:
            scales[m.name] = s
    if any(m.name in wide for m in members[group_of[input_node.name]]):
        wide -= {m.name for m in members[group_of[input_node.name]]}

    n_batch = int(batch or example_input.shape[0])
    g, heads, out_scales = lower.build(ir, outputs, scales, wide, n_batch, input_scale,
                                       weight_scheme)
    if meta is not None:
        meta = json.loads(json.dumps(meta))
        meta.setdefault("cvm_model_meta", 1)
        meta.setdefault("input", {})["scale"] = round(input_scale, 6)
    return QuantizedModel(g.symbol_json(heads, share_storage), g.params_bin(), meta, input_scale,
                          [out_scales[o] for o in outputs])
