#!/usr/bin/env python3
"""Where each zoo model spends its time: runs `cvm-run --profile` on each model folder and
sums the executor's steps by kind (the step's kernel, and for a convolution its shape class:
depthwise, 1 x 1, k x k stride s), with the GMAC/s of each convolution class.

  python3 bench/zoo_profile.py DIR [DIR...] [--threads 2] [--repeat 5] [--top 6]
"""
import argparse
import json
import os
import re
import subprocess
import sys
from collections import defaultdict


def node_info(model_dir):
    """{node name: (func, attrs, shape, macs)} of a symbol.json."""
    with open(os.path.join(model_dir, "symbol.json")) as f:
        g = json.load(f)
    shapes = g["attrs"]["shape"][1]
    op_attrs = [json.loads(a) for a in g["attrs"]["op_attrs"][1]]
    info = {}
    for i, n in enumerate(g["nodes"]):
        if n["op"] == "null":
            continue
        func = n["attrs"]["func_name"]
        macs = 0
        if func in ("conv2d", "dense"):
            w = shapes[n["inputs"][1][0]]
            out = 1
            for d in shapes[i]:
                out *= d
            depth = 1
            for d in w[1:]:
                depth *= d
            macs = out * depth
        info[n["name"]] = (func, op_attrs[i], shapes[i], macs)
    return info


def main_node(kind, names, info):
    """The node a step is named by: its first, or for a matrix-product convolution with a
    pointwise prologue (a 1 x 1 depthwise convolution first) the convolution."""
    if kind == "conv_gemm":
        for n in names:
            func, attrs, _, _ = info.get(n, ("?", {}, [], 0))
            if func == "conv2d" and int(attrs.get("groups", 1)) == 1:
                return n
    return names[0]


def classify(kind, first, info):
    func, attrs, shape, _ = info.get(first, ("?", {}, [], 0))
    if func == "conv2d":
        k = re.findall(r"\d+", attrs.get("kernel_size", ""))
        s = re.findall(r"\d+", attrs.get("strides", "(1, 1)"))
        groups = int(attrs.get("groups", 1))
        if groups > 1 and groups == int(attrs.get("channels", 0)):
            what = "depthwise %sx%s/s%s" % (k[0], k[1], s[0])
        else:
            what = "conv %sx%s/s%s%s" % (k[0], k[1], s[0], " grouped" if groups > 1 else "")
        return "%s %s" % (kind, what)
    return "%s %s" % (kind, func)


def profile(cli, model_dir, threads, repeat):
    r = subprocess.run([cli, "--model", model_dir, "--input", os.path.join(model_dir, "input.bin"),
                        "--profile", "--repeat", str(repeat), "--threads", str(threads)],
                       capture_output=True, text=True, check=True)
    info = node_info(model_dir)
    steps = []
    for line in r.stdout.splitlines():
        m = re.match(r"\s+([\d.]+)\s+([\d.]+)\s+(\S+)\s+(.*)$", line)
        if m:
            names = m.group(4).split()
            steps.append((float(m.group(1)), float(m.group(2)), m.group(3), names))
    return steps, info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                    "..", "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--top", type=int, default=6)
    args = ap.parse_args()
    cli = os.path.join(args.build, "cvm-run")
    for d in args.dirs:
        if not os.path.exists(os.path.join(d, "symbol.json")):
            continue
        steps, info = profile(cli, d, args.threads, args.repeat)
        total = sum(s[0] for s in steps) or 1.0
        by = defaultdict(lambda: [0.0, 0, 0])
        for wall, cpu, kind, names in steps:
            first = main_node(kind, names, info)
            key = classify(kind, first, info)
            by[key][0] += wall
            by[key][1] += 1
            by[key][2] += sum(info.get(n, (0, 0, 0, 0))[3] for n in names)
        print("%s: %.2f ms in %d steps" % (os.path.basename(d.rstrip("/")), total, len(steps)))
        for key, (t, count, macs) in sorted(by.items(), key=lambda kv: -kv[1][0])[:args.top]:
            rate = " %6.1f GMAC/s" % (macs / t / 1e6) if macs and t else ""
            print("  %5.1f%% %8.3f ms %4d x  %s%s" % (100 * t / total, t, count, key, rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
