"""cvm.preprocess: images to a model's integer input, as model.json describes (MODEL_META).

    x = cvm.preprocess.from_meta(images, meta)                 # uint8 (N, H, W[, C]) -> int8 NCHW
    x = cvm.preprocess.transform(images, "imagenet", scale=..) # named transforms

int value = round(((pixel - mean[c]) / std[c]) * scale), half away from zero, clamped to
[-(2^(p-1) - 1), 2^(p-1) - 1] (p = 8 by default). Needs only numpy (PIL for resizing and files).
"""
import json
import math
import os

import numpy as np

TRANSFORMS = {
    "imagenet": {"color": "rgb", "mean": [123.68, 116.779, 103.939],
                 "std": [58.393, 57.12, 57.375], "crop_ratio": 0.875},
    "cifar10": {"color": "rgb", "mean": [125.307, 122.961, 113.8575],
                "std": [51.5865, 50.847, 51.255], "resize": 0},
    "mnist": {"color": "gray", "mean": [72.94], "std": [90.02], "resize": 0},
}


def load_meta(model_dir):
    with open(os.path.join(model_dir, "model.json")) as f:
        meta = json.load(f)
    if meta.get("cvm_model_meta") != 1:
        raise ValueError(f"{model_dir}/model.json: not a cvm_model_meta 1 file")
    return meta


def round_half_away(v):
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def quantize_input(normalized, scale, precision=8):
    """Normalised floats -> the integer input (int8 when precision <= 8, else int32)."""
    hi = (1 << (precision - 1)) - 1
    q = np.clip(round_half_away(np.asarray(normalized, dtype=np.float64) * scale), -hi, hi)
    return q.astype(np.int8 if precision <= 8 else np.int32)


def _to_array(image, color):
    """A path, PIL image or array -> float64 (H, W, C) with C = 1 (gray) or 3 (rgb)."""
    if isinstance(image, (str, os.PathLike)):
        from PIL import Image
        image = Image.open(image)
    if hasattr(image, "convert"):  # PIL
        image = np.asarray(image.convert("L" if color == "gray" else "RGB"))
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ValueError(f"an image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {a.shape}")
    a = a[:, :, :3]
    if color == "gray" and a.shape[2] == 3:
        a = (0.299 * a[:, :, 0] + 0.587 * a[:, :, 1] + 0.114 * a[:, :, 2])[:, :, None]
    elif color == "rgb" and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return a


def _resize_crop(a, resize, crop):
    if resize:
        from PIL import Image
        h, w = a.shape[:2]
        r = resize / min(h, w)
        nh, nw = max(1, round(h * r)), max(1, round(w * r))
        chans = [np.asarray(Image.fromarray(a[:, :, c].astype(np.float32), mode="F").resize(
            (nw, nh), Image.BILINEAR), dtype=np.float64) for c in range(a.shape[2])]
        a = np.stack(chans, axis=2)
    if crop:
        ch, cw = crop
        h, w = a.shape[:2]
        if h < ch or w < cw:
            raise ValueError(f"image {h} x {w} is smaller than the crop {ch} x {cw}")
        top, left = (h - ch) // 2, (w - cw) // 2
        a = a[top:top + ch, left:left + cw]
    return a


def from_meta(images, meta, precision=8):
    """One image (path, PIL image, (H, W[, C]) array) or a list/array (N, H, W[, C]) of them ->
    the integer input (N, C, H, W) of the model described by meta (a dict or model folder)."""
    if isinstance(meta, (str, os.PathLike)):
        meta = load_meta(meta)
    spec = meta["input"]
    color = spec.get("color", "gray")
    mean = np.asarray(spec["mean"], dtype=np.float64)
    std = np.asarray(spec["std"], dtype=np.float64)
    single = isinstance(images, (str, os.PathLike)) or hasattr(images, "convert") or (
        isinstance(images, np.ndarray) and (images.ndim == 2 or (images.ndim == 3 and images.shape[2] in (1, 3, 4) and color == "rgb")))
    items = [images] if single else list(images)
    out = []
    for img in items:
        a = _resize_crop(_to_array(img, color), spec.get("resize", 0), spec.get("crop"))
        norm = (a - mean) / std
        out.append(quantize_input(norm.transpose(2, 0, 1), spec["scale"], precision))
    return np.stack(out)


def transform(images, name, scale, crop=None, precision=8):
    """A named transform (imagenet, cifar10, mnist) followed by the input scale."""
    t = TRANSFORMS[name]
    resize = t.get("resize", 0)
    if name == "imagenet":
        crop = crop or (224, 224)
        resize = math.ceil(crop[0] / t["crop_ratio"])
    meta = {"input": {"color": t["color"], "mean": t["mean"], "std": t["std"],
                      "resize": resize, "crop": list(crop) if crop else None, "scale": scale}}
    return from_meta(images, meta, precision)
