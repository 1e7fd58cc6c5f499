#!/usr/bin/env python3
"""Side-by-side latency of cvm and PyTorch int8 on resnet18_v1 and resnet50_v1, and
cvm's latency on every conformance model against the reference runtime's figures.

PyTorch: torchvision.models.quantization (random weights), fused, post-training
quantized with the default qconfig of the best x86 engine this PyTorch has
(x86 / fbgemm / onednn), batch 1, N threads. cvm: build/bench/cvm_bench on the
conformance models, same thread count. Each round's figure is the median
inference on both sides (cvm_bench's p50_ms, the median of 20 PyTorch runs).
The two are timed alternately in the same run (ours, theirs, ours, theirs,
...) and each figure is the minimum over its rounds, so a busy moment of the
machine hits both alike.

  python3 bench/compare_pytorch.py [--threads 2] [--rounds 5] [--build build]
  python3 bench/compare_pytorch.py --zoo DIR [--threads 2] [--rounds 2]   (bench/compare_zoo.py:
      every zoo model against PyTorch int8 where torchvision has it, and fp32, with memory)
  python3 bench/compare_pytorch.py --zoo DIR --paired 7   (cvm / int8 as pairs back to back)

Needs Debian's python3-torch and python3-torchvision (apt-get install).
Prints one line per model, each round's figures with the round's cache-line round trip
between two threads (the host's placement of the virtual CPUs, bench/README.md), and a
JSON summary on the last line. The reference
runtime's latencies are the figures of issue 5 (same machine class, batch 1 but
cifar_resnet20_b8), not measured here. peak_frac: MACs of one resnet50_v1
inference per second over the int8 peak cvm_bench measures at start.
"""
import argparse
import json
import os
import sys
import time

import cvm_bench_json


def time_torch(model, x, runs):
    """The median of `runs` inferences in ms (as cvm_bench's p50_ms)."""
    import torch
    times = []
    with torch.no_grad():
        for _ in range(runs):
            t = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2] * 1e3


def make_torch_model(name, engine):
    import torch
    from torchvision.models import quantization as qm
    torch.backends.quantized.engine = engine
    m = getattr(qm, name)(weights=None, quantize=False).eval()
    m.fuse_model()
    m.qconfig = torch.ao.quantization.get_default_qconfig(engine)
    torch.ao.quantization.prepare(m, inplace=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        m(x)  # calibration
    torch.ao.quantization.convert(m, inplace=True)
    with torch.no_grad():
        for _ in range(3):
            m(x)
    return m, x


REFERENCE_MS = {"resnet50_v1": 237, "resnet18_v1": 107, "mobilenet1_0": 51,
                "squeezenet1_0": 52, "cifar_resnet20": 2.75, "cifar_resnet20_b8": 21.9,
                "detector_256": 5.0, "lenet_28": 0.067}
REFERENCE_LOAD_MS = {"resnet50_v1": 87}


def run_cvm(bench, models_dir, threads, pattern, seconds):
    """{benchmark name: (min real time in ms, its JSON entry)} over 3 repetitions, the int8
    peak and the cache-line round trip between two threads."""
    res, ctx = cvm_bench_json.run(bench, models_dir, threads, seconds, pattern, repetitions=3)
    return res, float(ctx.get("int8_peak_GMAC/s", 0)), float(ctx.get("core_round_trip_ns", 0))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--build", default=os.path.join(root, "build"))
    ap.add_argument("--models", default=os.path.join(root, "..", "shared", "conformance", "models"))
    ap.add_argument("--zoo", help="a folder of zoo models (bench/zoo_models.py): cvm against "
                                  "PyTorch int8 and fp32 on each, with peak memory "
                                  "(bench/compare_zoo.py)")
    ap.add_argument("--paired", type=int, default=0,
                    help="with --zoo: only cvm against PyTorch int8, as this many pairs of "
                         "runs back to back per model (the ratio's two sides in one phase "
                         "of the host's speed)")
    args = ap.parse_args()
    if args.zoo:
        sys.path.insert(0, here)
        import compare_zoo
        if args.paired > 0:
            compare_zoo.paired(args.zoo, args.build, args.threads, args.paired)
            return
        compare_zoo.run(args.zoo, args.build, args.threads, max(0, args.rounds))
        return

    try:
        import torch
        import torchvision  # noqa: F401
    except ImportError:
        sys.exit("PyTorch not found: apt-get install python3-torch python3-torchvision "
                 "(and run this script with /usr/bin/python3)")
    torch.set_num_threads(args.threads)
    engines = torch.backends.quantized.supported_engines
    engine = next((e for e in ("x86", "fbgemm", "onednn") if e in engines), None)
    if engine is None:
        sys.exit("no x86 quantized engine in this PyTorch: %s" % engines)
    bench = os.path.join(args.build, "bench", "cvm_bench")

    summary = {"threads": args.threads, "torch": torch.__version__, "engine": engine,
               "rounds": args.rounds, "load_avg_start": os.getloadavg()[0], "models": {}}
    torch_models = {"resnet18_v1": "resnet18", "resnet50_v1": "resnet50"}
    built = {k: make_torch_model(v, engine) for k, v in torch_models.items()}
    ours, theirs, info, peak, trips = {}, {}, {}, 0.0, []
    per_round = {}  # model: each round's figure (cvm, then PyTorch's)
    for _ in range(args.rounds):
        res, p, trip = run_cvm(bench, args.models, args.threads, "^(model|load)/", 0.3)
        peak = max(peak, p)
        if trip:
            trips.append(trip)
        for name, (t, b) in res.items():
            per_round.setdefault(name, []).append(t)
            if t < ours.get(name, float("inf")):
                ours[name] = t
                info[name] = b
        for k, (m, x) in built.items():
            t = time_torch(m, x, 20)
            per_round.setdefault("pytorch/" + k, []).append(t)
            theirs[k] = min(theirs.get(k, float("inf")), t)
    print("threads %d, load average %.2f at start, %.2f at end; int8 peak %.0f GMAC/s"
          % (args.threads, summary["load_avg_start"], os.getloadavg()[0], peak / 1.0))
    print("%-18s %10s %10s %9s %12s %9s" % ("model", "cvm ms", "ref ms", "ref/cvm",
                                           "pytorch ms", "cvm/pt"))
    for model in sorted(REFERENCE_MS):
        key = "model/" + model
        if key not in ours:
            continue
        entry = {"cvm_ms": round(ours[key], 4), "reference_ms": REFERENCE_MS[model],
                 "speedup_over_reference": round(REFERENCE_MS[model] / ours[key], 1)}
        line = "%-18s %10.3f %10.3f %9.1f" % (model, ours[key], REFERENCE_MS[model],
                                             REFERENCE_MS[model] / ours[key])
        if model in theirs:
            entry["pytorch_ms"] = round(theirs[model], 3)
            entry["cvm_over_pytorch"] = round(ours[key] / theirs[model], 3)
            line += " %12.3f %9.2f" % (theirs[model], ours[key] / theirs[model])
        gmacs = info[key].get("GMAC/s")
        if gmacs:
            entry["GMAC_per_s"] = round(gmacs / 1e9 if gmacs > 1e6 else gmacs, 1)
            if peak:
                entry["peak_frac"] = round(entry["GMAC_per_s"] / peak, 3)
        if "load/" + model in ours:
            entry["load_ms"] = round(ours["load/" + model], 2)
        summary["models"][model] = entry
        print(line)
    r50 = summary["models"].get("resnet50_v1", {})
    if "peak_frac" in r50:
        print("resnet50_v1: %.0f GMAC/s, %.0f%% of the int8 peak; load %.1f ms (reference %d ms)"
              % (r50["GMAC_per_s"], 100 * r50["peak_frac"], r50.get("load_ms", 0),
                 REFERENCE_LOAD_MS["resnet50_v1"]))
    summary["int8_peak_GMAC_per_s"] = round(peak, 1)
    if trips:
        # Where the host put the virtual CPUs in each round (bench/README.md).
        print("cache-line round trip between two threads, per round: %s ns"
              % ", ".join("%.0f" % t for t in trips))
        summary["core_round_trip_ns"] = [round(t) for t in trips]
    # Each round's figures: the state of a round shows in all of them alike.
    print("per round (ms):")
    for name in sorted(per_round):
        if name.startswith("load/"):
            continue
        print("  %-28s %s" % (name, "  ".join("%8.3f" % t for t in per_round[name])))
    summary["per_round_ms"] = {k: [round(t, 4) for t in v] for k, v in per_round.items()}
    summary["load_avg_end"] = os.getloadavg()[0]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
