"""Runs build/bench/cvm_bench and reads its Google Benchmark JSON: the one parser of
bench/compare_pytorch.py and bench/compare_zoo.py.

  results, context = cvm_bench_json.run(bench, models_dir, threads, seconds)
  ms, entry = results["model/lenet_28"]     # its latency in ms, and its JSON entry
  float(context.get("int8_peak_GMAC/s", 0))
"""
import json
import subprocess

# Milliseconds per unit of Google Benchmark's "time_unit".
MS_PER_UNIT = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def parse(text):
    """({benchmark name: (latency in ms, its JSON entry)}, the context dict) of cvm_bench's
    --benchmark_format=json output: a model's median inference (its p50_ms counter), else
    the real time (the mean of the iterations), the least over repetitions. Names drop the
    "/real_time" suffix; of repetitions only the runs count (not their aggregates)."""
    doc = json.loads(text)
    results = {}
    for b in doc["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name = b["run_name"].split("/real_time")[0]
        ms = b["p50_ms"] if "p50_ms" in b else b["real_time"] * MS_PER_UNIT[b["time_unit"]]
        if name not in results or ms < results[name][0]:
            results[name] = (ms, b)
    return results, doc["context"]


def run(bench, models_dir, threads, seconds, pattern="^(model|load)/", repetitions=1):
    """parse() of one cvm_bench run on the model folders of models_dir: the benchmarks whose
    name matches pattern, each at least `seconds` a repetition."""
    cmd = [bench, "--models", models_dir, "--threads", str(threads),
           "--benchmark_filter=%s" % pattern, "--benchmark_format=json",
           "--benchmark_min_time=%g" % seconds]
    if repetitions > 1:
        cmd.append("--benchmark_repetitions=%d" % repetitions)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return parse(out)
