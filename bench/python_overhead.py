#!/usr/bin/env python3
"""The Python package's cost per call over the C++ API, side by side in one
process: cvm.Model.run(x) from Python against the C++ Model::run on the same
array (called from C++ with the GIL released), alternating in rounds; and
infer_bytes for reference. One thread, so that thread hand-offs do not blur
a difference of microseconds.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py [--json out.json]
"""

import argparse
import json
import pathlib
import statistics
import sys
import time

import numpy as np

import cvm

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "conformance" / "models"


def model_dir(name):
    for base in (SHARED, ROOT / "examples" / "models"):
        if (base / name / "symbol.json").exists():
            return base / name
    raise SystemExit("no model %s in %s or examples/models" % (name, SHARED))


def seconds_per_call(call, argument, calls):
    """Each of `calls` calls of call(argument), timed from Python."""
    seconds = []
    clock = time.perf_counter
    for _ in range(calls):
        start = clock()
        call(argument)
        seconds.append(clock() - start)
    return seconds


def measure(name, rounds, calls):
    model = cvm.Model.load(model_dir(name))
    model.threads = 1
    rng = np.random.default_rng(1)
    x = rng.integers(-127, 128, size=model.input.shape).astype(model.input.dtype)
    data = x.astype("<i4" if model.input_type_size == 4 else "i1").tobytes()
    for _ in range(3):  # storage allocated, caches warm
        model.run(x)
    native, python, infer = [], [], []
    for _ in range(rounds):
        native.append(statistics.median(model._native_run_seconds(x, calls)))
        python.append(statistics.median(seconds_per_call(model.run, x, calls)))
        infer.append(statistics.median(seconds_per_call(model.infer_bytes, data, calls)))
    best = {k: min(v) for k, v in (("native", native), ("python", python), ("infer", infer))}
    return {
        "model": name,
        "calls_per_round": calls,
        "rounds": rounds,
        "cpp_run_us": best["native"] * 1e6,
        "python_run_us": best["python"] * 1e6,
        "python_infer_bytes_us": best["infer"] * 1e6,
        "overhead_us": (best["python"] - best["native"]) * 1e6,
        "ratio": best["python"] / best["native"],
        "per_round_overhead_us": [(p - n) * 1e6 for p, n in zip(python, native)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["lenet_28", "cifar_resnet20"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()
    results = [measure(name, args.rounds, args.calls) for name in args.models]
    print("%-16s %12s %14s %12s %9s" % ("model", "C++ run us", "Python run us", "overhead us",
                                         "ratio"))
    for r in results:
        print("%-16s %12.2f %14.2f %12.2f %9.3f" % (r["model"], r["cpp_run_us"],
                                                     r["python_run_us"], r["overhead_us"],
                                                     r["ratio"]))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            {"command": " ".join(sys.argv), "cvm_version": cvm.__version__,
             "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
