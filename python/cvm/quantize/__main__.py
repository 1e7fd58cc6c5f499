"""python3 -m cvm.quantize: quantize a trained PyTorch model into a CVM model folder.

  python3 -m cvm.quantize --model mynet.py:build --weights mynet.pt \\
      --calibration images/ --transform mnist --input-shape 1,28,28 --out out/mynet

  --model      FILE.py:FUNCTION or MODULE:FUNCTION returning the torch.nn.Module
               (or a torch.save'd whole module, FILE.pt)
  --weights    a state_dict file loaded into it (optional)
  --calibration  a folder of images (png, jpg, ...) or a .npy file: uint8 images (N, H, W[, C])
               are normalised by --transform / --mean / --std; float arrays (N, C, H, W) are
               taken as already normalised
Writes OUT/symbol.json, OUT/params.bin and OUT/model.json (input transform, scale, classes).
"""
import argparse
import importlib
import importlib.util
import json
import os
import sys

import numpy as np

from . import SCHEMES, QuantizeError, quantize
from ..preprocess import TRANSFORMS, _resize_crop, _to_array

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".gif", ".webp")


def load_model(spec, weights):
    import torch
    if spec.endswith((".pt", ".pth")) and ":" not in spec:
        model = torch.load(spec, map_location="cpu")
    else:
        if ":" not in spec:
            raise QuantizeError(f"--model {spec!r}: expected FILE.py:FUNCTION, MODULE:FUNCTION or FILE.pt")
        where, func = spec.rsplit(":", 1)
        if where.endswith(".py"):
            s = importlib.util.spec_from_file_location("_cvm_user_model", where)
            if s is None or not os.path.exists(where):
                raise QuantizeError(f"--model: no file {where}")
            mod = importlib.util.module_from_spec(s)
            sys.path.insert(0, os.path.dirname(os.path.abspath(where)))
            s.loader.exec_module(mod)
        else:
            mod = importlib.import_module(where)
        if not hasattr(mod, func):
            raise QuantizeError(f"--model: {where} has no {func}")
        model = getattr(mod, func)()
    if weights:
        state = torch.load(weights, map_location="cpu")
        model.load_state_dict(state)
    if not isinstance(model, torch.nn.Module):
        raise QuantizeError(f"--model gave a {type(model).__name__}, not a torch.nn.Module")
    return model.eval()


def input_spec(args):
    t = dict(TRANSFORMS.get(args.transform, {}))
    color = args.color or t.get("color", "rgb" if args.input_shape[0] == 3 else "gray")
    channels = 3 if color == "rgb" else 1
    mean = args.mean or t.get("mean") or [0.0] * channels
    std = args.std or t.get("std") or [1.0] * channels
    crop = list(args.input_shape[1:])
    resize = args.resize
    if resize is None:
        resize = int(np.ceil(crop[0] / t["crop_ratio"])) if "crop_ratio" in t else 0
    return {"transform": args.transform or "custom", "color": color, "resize": resize,
            "crop": crop, "mean": [float(m) for m in mean], "std": [float(s) for s in std]}


def calibration_data(path, spec, limit):
    mean = np.asarray(spec["mean"])[:, None, None]
    std = np.asarray(spec["std"])[:, None, None]

    def normalize(img):
        a = _resize_crop(_to_array(img, spec["color"]), spec["resize"], spec["crop"])
        return (a.transpose(2, 0, 1) - mean) / std

    if os.path.isdir(path):
        files = sorted(f for f in os.listdir(path) if f.lower().endswith(IMAGE_EXT))[:limit]
        if not files:
            raise QuantizeError(f"--calibration {path}: the calibration set is empty (no image files)")
        return np.stack([normalize(os.path.join(path, f)) for f in files]).astype(np.float32)
    if path.endswith(".npy"):
        a = np.load(path)[:limit]
        if a.size == 0:
            raise QuantizeError(f"--calibration {path}: the calibration set is empty")
        if np.issubdtype(a.dtype, np.floating):
            return a.astype(np.float32)
        return np.stack([normalize(img) for img in a]).astype(np.float32)
    raise QuantizeError(f"--calibration {path}: expected a folder of images or a .npy file")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m cvm.quantize",
                                description="Quantize a trained PyTorch model into a CVM model.")
    p.add_argument("--model", required=True, help="FILE.py:FUNCTION, MODULE:FUNCTION or FILE.pt")
    p.add_argument("--weights", help="a state_dict file")
    p.add_argument("--calibration", required=True, help="a folder of images or a .npy file")
    p.add_argument("--out", required=True, help="the output folder")
    p.add_argument("--input-shape", required=True,
                   type=lambda s: tuple(int(v) for v in s.split(",")), help="C,H,W (no batch)")
    p.add_argument("--batch", type=int, default=1, help="the written graph's batch (default 1)")
    p.add_argument("--transform", choices=sorted(TRANSFORMS), help="named input transform")
    p.add_argument("--color", choices=["gray", "rgb"])
    p.add_argument("--mean", type=lambda s: [float(v) for v in s.split(",")], help="per channel, 0..255 units")
    p.add_argument("--std", type=lambda s: [float(v) for v in s.split(",")], help="per channel, 0..255 units")
    p.add_argument("--resize", type=int, help="short side to resize to before the centre crop")
    p.add_argument("--input-scale", type=float, help="default: 127 / max |calibration input|")
    p.add_argument("--scheme", choices=SCHEMES, default="mse", help="activation scales")
    p.add_argument("--weight-scheme", choices=["max", "mse"], default="max")
    p.add_argument("--classes", help="a text file with one class name a line")
    p.add_argument("--limit", type=int, default=2048, help="calibration inputs used at most")
    args = p.parse_args(argv)
    try:
        import torch
        model = load_model(args.model, args.weights)
        spec = input_spec(args)
        calib = calibration_data(args.calibration, spec, args.limit)
        if tuple(calib.shape[1:]) != tuple(args.input_shape):
            raise QuantizeError(f"calibration inputs have shape {calib.shape[1:]}, "
                                f"--input-shape says {args.input_shape}")
        meta = {"cvm_model_meta": 1, "task": "classification", "input": spec}
        if args.classes:
            with open(args.classes) as f:
                meta["classes"] = [line.strip() for line in f if line.strip()]
        example = torch.from_numpy(calib[:1])
        batches = [torch.from_numpy(calib[i:i + 256]) for i in range(0, len(calib), 256)]
        q = quantize(model, example, batches, scheme=args.scheme, weight_scheme=args.weight_scheme,
                     input_scale=args.input_scale, batch=args.batch, meta=meta)
        q.save(args.out)
    except (QuantizeError, OSError) as e:
        print(f"cvm.quantize: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}/symbol.json, params.bin, model.json "
          f"(input scale {q.meta['input']['scale']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
