#!/usr/bin/python3
"""The quantizer's accuracy table on Fashion-MNIST: for each committed float network, quantize it
(cvm.quantize, calibration on training images), then on the 10,000 test images: float top-1 and
top-5, quantized (the twin) top-1 and top-5, CVM top-1 (the runtime, through the cvm binding),
whether the runtime's outputs equal the twin's, CVM latency at batch 1 and images per second at
batch 64. Prints markdown and writes OUT.md and OUT.json.

  PYTHONPATH=build/python /usr/bin/python3 tools/quantizer_table.py [--out FILE] [NAME ...]
      [--example examples/models/fashion_mnist --example-model NAME]

--example also writes that model's folder for `make run`: symbol.json, params.bin, model.json,
input.bin / output.bin (the first test image, the runtime's output bytes) and ten test images
(images/*.png and the int8 inputs images/*.npy).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

import cvm
from cvm import fashion_mnist as fm
from cvm.preprocess import quantize_input
from cvm.quantize import quantize

# The largest pixel maps to 127; rounded as model.json stores it, so that the PNG through
# cvm.preprocess and the .npy inputs agree.
INPUT_SCALE = round(127 * fm.STD / (255 - fm.MEAN), 4)


def meta():
    return {"cvm_model_meta": 1, "task": "classification", "classes": fm.CLASSES,
            "input": {"transform": "mnist", "color": "gray", "resize": 0, "crop": [28, 28],
                      "mean": [fm.MEAN], "std": [fm.STD], "scale": round(INPUT_SCALE, 6)}}


def topk(logits, labels, k):
    idx = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return float((idx == labels[:, None]).any(axis=1).mean())


def time_runs(fn, repeat, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def evaluate(name, test_x_float, test_x_int, labels, calib, scheme, example_dir=None):
    model = fm.build(name)
    with torch.no_grad():
        fl = torch.cat([model(test_x_float[i:i + 1000]) for i in range(0, len(labels), 1000)]).numpy()
    q1 = quantize(model, test_x_float[:1], calib, scheme=scheme, input_scale=INPUT_SCALE, meta=meta())
    q64 = quantize(model, test_x_float[:64], calib, scheme=scheme, input_scale=INPUT_SCALE, batch=64)
    tw = torch.cat([q1.twin(test_x_int[i:i + 1000])[0] for i in range(0, len(labels), 1000)]).numpy()
    m64 = cvm.Model(q64.symbol_json.encode(), q64.params)
    rt = m64.run_batch(test_x_int)[0]
    m1 = cvm.Model(q1.symbol_json.encode(), q1.params)
    x1 = test_x_int[:1]
    lat1 = time_runs(lambda: m1.run(x1), 200)
    x64 = test_x_int[:64]
    lat64 = time_runs(lambda: m64.run(x64), 30)
    if example_dir:
        q1.save(example_dir)
        write_example(example_dir, m1, test_x_int, labels)
    return {
        "model": name,
        "float_params": int(sum(p.numel() for p in model.parameters())),
        "params_bytes": len(q1.params),
        "float_top1": topk(fl, labels, 1), "float_top5": topk(fl, labels, 5),
        "quant_top1": topk(tw, labels, 1), "quant_top5": topk(tw, labels, 5),
        "cvm_top1": topk(rt.astype(np.int64), labels, 1),
        "cvm_equals_twin": bool(np.array_equal(rt.astype(np.int64), tw)),
        "latency_ms_batch1": lat1 * 1e3,
        "images_per_s_batch64": 64 / lat64,
        "scheme": scheme,
        "gas": m1.gas,
    }


def markdown(rows):
    head = ("| model | params (float / CVM bytes) | float top-1 / top-5 | quantized top-1 / top-5 "
            "| CVM top-1 | loss (points) | CVM = twin | latency batch 1 | images/s batch 64 |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
    lines = []
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['float_params']:,} / {r['params_bytes']:,} "
            f"| {100 * r['float_top1']:.2f}% / {100 * r['float_top5']:.2f}% "
            f"| {100 * r['quant_top1']:.2f}% / {100 * r['quant_top5']:.2f}% "
            f"| {100 * r['cvm_top1']:.2f}% | {100 * (r['float_top1'] - r['cvm_top1']):+.2f} "
            f"| {'yes' if r['cvm_equals_twin'] else 'NO'} | {r['latency_ms_batch1']:.3f} ms "
            f"| {r['images_per_s_batch64']:,.0f} |")
    return head + "\n".join(lines) + "\n"


def write_example(example_dir, model, test_x_int, labels):
    """Ten test images (the first ten of the test set) as PNG and as the model's int8 input;
    input.bin / output.bin: the first image and the runtime's output in the C API's bytes."""
    from PIL import Image
    test_images, _ = fm.load("test")
    first = test_x_int[:1].tobytes()
    with open(os.path.join(example_dir, "input.bin"), "wb") as f:
        f.write(first)
    with open(os.path.join(example_dir, "output.bin"), "wb") as f:
        f.write(model.infer_bytes(first))
    img_dir = os.path.join(example_dir, "images")
    os.makedirs(img_dir, exist_ok=True)
    for i in range(10):
        label = fm.CLASSES[labels[i]].lower().replace("/", "_").replace(" ", "_").replace("-", "_")
        base = os.path.join(img_dir, f"test_{i:04d}_{label}")
        Image.fromarray(test_images[i], mode="L").save(base + ".png")
        np.save(base + ".npy", test_x_int[i:i + 1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("names", nargs="*", default=list(fm.MODELS))
    p.add_argument("--out", default="quantizer_table", help="writes OUT.md and OUT.json")
    p.add_argument("--scheme", default="mse", choices=["mse", "max", "percentile"])
    p.add_argument("--calibration", type=int, default=1024, help="training images used")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--example", help="write the example folder of --example-model here")
    p.add_argument("--example-model", default="cifar_resnet20")
    p.add_argument("--example-only", action="store_true", help="write the example, no table")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    train_images, _ = fm.load("train")
    test_images, labels = fm.load("test")
    test_x_float = fm.normalize(test_images)
    test_x_int = quantize_input(test_x_float.numpy(), INPUT_SCALE)
    calib_x = fm.normalize(train_images[:args.calibration])
    calib = [calib_x[i:i + 256] for i in range(0, len(calib_x), 256)]
    if args.example_only:
        if not args.example:
            sys.exit("--example-only needs --example DIR")
        q = quantize(fm.build(args.example_model), test_x_float[:1], calib, scheme=args.scheme,
                     input_scale=INPUT_SCALE, meta=meta())
        q.save(args.example)
        write_example(args.example, cvm.Model(q.symbol_json.encode(), q.params), test_x_int, labels)
        return
    rows = []
    for name in args.names:
        ex = args.example if args.example and name == args.example_model else None
        r = evaluate(name, test_x_float, test_x_int, labels, calib, args.scheme, ex)
        print(json.dumps(r), file=sys.stderr, flush=True)
        rows.append(r)
    md = markdown(rows)
    print(md)
    with open(args.out + ".md", "w") as f:
        f.write(md)
    with open(args.out + ".json", "w") as f:
        json.dump({"machine": os.uname().machine, "cores": os.cpu_count(), "rows": rows}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
