#!/usr/bin/env python3
"""Side-by-side latency of cvm and PyTorch int8 on resnet18_v1 and resnet50_v1.

PyTorch: torchvision.models.quantization (random weights), fused, post-training
quantized with the default qconfig of the best x86 engine this PyTorch has
(x86 / fbgemm / onednn), batch 1, N threads. cvm: build/bench/cvm_bench on the
conformance models, same thread count. The two are timed alternately in the
same run (ours, theirs, ours, theirs, ...) and each figure is the minimum
over its rounds, so a busy moment of the machine hits both alike.

  python3 bench/compare_pytorch.py [--threads 2] [--rounds 5] [--build build]

Needs Debian's python3-torch and python3-torchvision (apt-get install).
Prints one line per model and a JSON summary on the last line.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def time_torch(model, x, runs):
    import torch
    best = float("inf")
    with torch.no_grad():
        for _ in range(runs):
            t = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - t)
    return best * 1e3


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


def time_cvm(bench, models_dir, model, threads, seconds):
    out = subprocess.run(
        [bench, "--models", models_dir, "--threads", str(threads),
         "--benchmark_filter=^model/%s/" % model, "--benchmark_format=json",
         "--benchmark_min_time=%g" % seconds, "--benchmark_repetitions=3",
         "--benchmark_report_aggregates_only=false"],
        check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    return min(b["real_time"] for b in runs)  # milliseconds


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--build", default=os.path.join(root, "build"))
    ap.add_argument("--models", default=os.path.join(root, "..", "shared", "conformance", "models"))
    args = ap.parse_args()

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
               "rounds": args.rounds, "models": {}}
    for cvm_name, torch_name in (("resnet18_v1", "resnet18"), ("resnet50_v1", "resnet50")):
        model, x = make_torch_model(torch_name, engine)
        ours, theirs = float("inf"), float("inf")
        for _ in range(args.rounds):
            ours = min(ours, time_cvm(bench, args.models, cvm_name, args.threads, 0.5))
            theirs = min(theirs, time_torch(model, x, 20))
        ratio = ours / theirs
        summary["models"][cvm_name] = {"cvm_ms": round(ours, 3), "pytorch_ms": round(theirs, 3),
                                       "cvm_over_pytorch": round(ratio, 3)}
        print("%-12s cvm %8.3f ms   pytorch-%s int8 %8.3f ms   cvm/pytorch %.2f"
              % (cvm_name, ours, engine, theirs, ratio), flush=True)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
