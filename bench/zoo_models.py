#!/usr/bin/env python3
"""Writes the zoo models that bench/compare_pytorch.py --zoo times: for each name, ROOT/NAME
(batch 1) and ROOT/NAME_b16 (batch 16, for throughput), each a model folder of cvm.zoo
(symbol.json, params.bin, input.bin, output.bin, case.json).

  PYTHONPATH=build/python /usr/bin/python3 bench/zoo_models.py --out /tmp/zoo_bench \\
      [--names resnet50,vgg16] [--image-size 224] [--batches 1,16]

Default names: one row per family of the model tables (resnet18 and resnet50, which PyTorch
int8 also has), at each architecture's default size (224; inception_v3 299; cifar 32).
A folder that already holds case.json with the same name, size and batch is kept.
"""
import argparse
import json
import os
import sys
import time

DEFAULT = ("resnet18,resnet50,resnet50_v2,mobilenet1_0,mobilenet_v2,shufflenet_v2_x1_0,"
           "squeezenet1_0,squeezenet1_1,densenet121,vgg16,vgg16_bn,alexnet,inception_v3,"
           "googlenet,cifar_resnet20,cifar_wrn16_4")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--names", default=DEFAULT)
    ap.add_argument("--image-size", type=int, default=None,
                    help="input size of the ImageNet models (default: each one's own)")
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import torch
    from cvm import zoo
    torch.set_num_threads(os.cpu_count() or 1)
    batches = [int(b) for b in args.batches.split(",")]
    for name in args.names.split(","):
        entry = zoo.MODELS[name]
        size = entry.image_size
        if args.image_size and entry.dataset == "imagenet":
            size = max(args.image_size, entry.min_size)
        built = None   # quantized once, written at each batch (cvm.zoo.export.with_batch)
        for b in batches:
            d = os.path.join(args.out, name if b == 1 else f"{name}_b{b}")
            case_path = os.path.join(d, "case.json")
            if os.path.exists(case_path):
                with open(case_path) as f:
                    c = json.load(f)
                if (c.get("model"), c.get("image_size"), c.get("batch")) == (name, size, b):
                    print(f"{d}: kept", flush=True)
                    continue
            t = time.time()
            if built is None:
                built = zoo.quantize_entry(entry, size, b, args.seed)
            case = zoo.export(entry, d, size=size, batch=b, seed=args.seed, quantized=built)
            print("%s: %d x %d batch %d, %.3f GMACs/image, %.1f s" % (
                d, size, size, b, case["gmacs_per_image"], time.time() - t), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
