#!/usr/bin/env python3
"""cvm against PyTorch on the zoo models (bench/zoo_models.py writes them), in one run:

  python3 bench/compare_pytorch.py --zoo /tmp/zoo_bench [--threads 2] [--rounds 2]

For each model folder NAME (batch 1) and NAME_b16 (batch 16) of the zoo folder:
- cvm: build/bench/cvm_bench --models DIR: latency at batch 1, images per second at batch 16
  (16 / latency), load time; peak resident memory of `cvm-run --model NAME --repeat 3` (a
  process of its own, os.wait4's ru_maxrss);
- PyTorch: int8 (torchvision.models.quantization, where it has the architecture) and fp32 (the
  zoo's float model), each built once and saved as TorchScript (bench/torch_side.py build),
  then timed at batch 1 in a process of its own that reports its peak resident memory
  (torch_side.py serve).
Latency on both sides is the median inference of a timed run (cvm_bench's p50_ms; the
median of torch_side.py serve's runs). Rounds alternate cvm (every model) and PyTorch (every
model); each figure is its best round.
--rounds 0 only builds the PyTorch models (kept in DIR/_torch for later runs).
Prints a markdown table (bench/README.md) and a JSON summary on the last line.

  python3 bench/compare_pytorch.py --zoo /tmp/zoo_bench --paired 7 [--threads 2]

times only cvm against PyTorch int8, as pairs run back to back (see paired()).
"""
import json
import os
import subprocess
import sys

import cvm_bench_json

HERE = os.path.dirname(os.path.abspath(__file__))


def cvm_bench(bench, models_dir, threads, seconds):
    """{benchmark name: real time in ms} of one cvm_bench run, and the int8 peak."""
    res, ctx = cvm_bench_json.run(bench, models_dir, threads, seconds)
    return {k: ms for k, (ms, _) in res.items()}, float(ctx.get("int8_peak_GMAC/s", 0))


def peak_rss_mb(cmd, env=None):
    """(exit status, peak resident memory in MB) of a child process."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    return status, usage.ru_maxrss / 1024.0


def torch_step(args, env):
    r = subprocess.run([sys.executable, os.path.join(HERE, "torch_side.py")] + args, env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("torch_side.py %s failed: %s" % (" ".join(args), r.stderr[-2000:]))
    return r.stdout


def cvm_p50_ms(cli, model_dir, threads, seconds):
    """The median inference (ms) of one `cvm-run bench` run on a model folder."""
    r = subprocess.run([cli, "bench", "--model", model_dir, "--threads", str(threads),
                        "--duration", str(seconds), "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("cvm-run bench %s failed: %s" % (model_dir, r.stderr[-2000:]))
    return json.loads(r.stdout)["latency_ms"]["p50"]


def paired(zoo_dir, build_dir, threads, pairs, seconds=1.0):
    """cvm / PyTorch int8 on each zoo model torchvision quantizes, as pairs measured back to
    back (cvm's median inference, then PyTorch's): the host's speed drifts by 20-30% over
    minutes, and a pair's two figures share its phase. Prints each model's ratios, their median
    and range, and a JSON summary on the last line. Needs the TorchScript files of a run
    (DIR/_torch)."""
    from torch_side import INT8
    cli = os.path.join(build_dir, "cvm-run")
    env = dict(os.environ, PYTHONPATH=os.path.join(build_dir, "python"))
    summary = {"threads": threads, "pairs": pairs, "models": {}}
    print("| model | cvm / int8, median of %d pairs | range | cvm ms (median) | int8 ms (median) |"
          % pairs)
    print("|" + " --- |" * 5)
    for d in sorted(os.listdir(zoo_dir)):
        p = os.path.join(zoo_dir, d, "case.json")
        if not os.path.exists(p):
            continue
        with open(p) as f:
            c = json.load(f)
        if c["batch"] != 1 or c["model"] not in INT8:
            continue
        script = os.path.join(zoo_dir, "_torch", "%s_%d_int8.pt" % (c["model"], c["image_size"]))
        if not os.path.exists(script):
            raise RuntimeError("%s: no %s (run --zoo with --rounds 0 first)" % (d, script))
        ours, theirs, ratios = [], [], []
        for _ in range(pairs):
            a = cvm_p50_ms(cli, os.path.join(zoo_dir, d), threads, seconds)
            out = json.loads(torch_step(["serve", script, str(c["image_size"]), str(threads),
                                         str(seconds)], env).strip().splitlines()[-1])
            ours.append(a)
            theirs.append(out["ms"])
            ratios.append(a / out["ms"])
        med = lambda v: sorted(v)[len(v) // 2]
        summary["models"][d] = {"ratios": ratios, "cvm_ms": ours, "int8_ms": theirs}
        print("| %s | %.2f | %.2f-%.2f | %.2f | %.2f |" % (d, med(ratios), min(ratios), max(ratios),
                                                          med(ours), med(theirs)), flush=True)
    print(json.dumps(summary))


def run(zoo_dir, build_dir, threads, rounds, seconds=0.5):
    from torch_side import INT8
    bench = os.path.join(build_dir, "bench", "cvm_bench")
    cli = os.path.join(build_dir, "cvm-run")
    env = dict(os.environ, PYTHONPATH=os.path.join(build_dir, "python"))
    cases = {}
    for d in sorted(os.listdir(zoo_dir)):
        p = os.path.join(zoo_dir, d, "case.json")
        if os.path.exists(p):
            with open(p) as f:
                cases[d] = json.load(f)
    singles = [d for d, c in cases.items() if c["batch"] == 1]
    # TorchScript files are kept in DIR/_torch and reused by later runs.
    tmp = os.path.join(zoo_dir, "_torch")
    os.makedirs(tmp, exist_ok=True)
    scripts = {}
    for d in singles:
        c = cases[d]
        modes = (["int8"] if c["model"] in INT8 else []) + ["fp32"]
        for mode in modes:
            path = os.path.join(tmp, "%s_%d_%s.pt" % (c["model"], c["image_size"], mode))
            if not os.path.exists(path):
                torch_step(["build", c["model"], str(c["image_size"]), mode, path + ".tmp"], env)
                os.replace(path + ".tmp", path)
            scripts[(d, mode)] = path
        print("built PyTorch %s: %s" % (d, ", ".join(modes)), flush=True)
    if rounds == 0:
        print("PyTorch models built in %s (--rounds 0: nothing timed)" % tmp)
        return
    load_start = os.getloadavg()[0]
    ours, theirs, theirs_rss, peak = {}, {}, {}, 0.0
    for r in range(rounds):
        res, p = cvm_bench(bench, zoo_dir, threads, seconds)
        peak = max(peak, p)
        for k, t in res.items():
            ours[k] = min(ours.get(k, float("inf")), t)
        for (d, mode), path in scripts.items():
            out = json.loads(torch_step(["serve", path, str(cases[d]["image_size"]),
                                         str(threads), str(seconds * 2)], env).strip().splitlines()[-1])
            key = (d, mode)
            theirs[key] = min(theirs.get(key, float("inf")), out["ms"])
            theirs_rss[key] = max(theirs_rss.get(key, 0), out["maxrss_kb"] / 1024.0)
        print("round %d done (load average %.1f)" % (r + 1, os.getloadavg()[0]), flush=True)
    cvm_rss = {}
    for d in singles:
        status, mb = peak_rss_mb([cli, "--model", os.path.join(zoo_dir, d), "--input",
                                  os.path.join(zoo_dir, d, "input.bin"), "--repeat", "3",
                                  "--threads", str(threads)])
        cvm_rss[d] = mb if status == 0 else None
    rows, summary = [], {"threads": threads, "rounds": rounds, "int8_peak_GMAC_per_s": round(peak, 1),
                         "load_avg_start": load_start, "load_avg_end": os.getloadavg()[0],
                         "models": {}}
    for d in singles:
        c = cases[d]
        lat = ours.get("model/" + d)
        b16 = ours.get("model/%s_b16" % d)
        e = {"family": c["family"], "size": c["image_size"], "gmacs": c["gmacs_per_image"],
             "cvm_ms": lat, "cvm_b16_img_per_s": 16e3 / b16 if b16 else None,
             "cvm_load_ms": ours.get("load/" + d), "cvm_peak_mb": cvm_rss.get(d),
             "pt_int8_ms": theirs.get((d, "int8")), "pt_fp32_ms": theirs.get((d, "fp32")),
             "pt_int8_peak_mb": theirs_rss.get((d, "int8")),
             "pt_fp32_peak_mb": theirs_rss.get((d, "fp32"))}
        if lat and peak:
            e["peak_frac"] = c["gmacs_per_image"] * 1e9 / (lat / 1e3) / (peak * 1e9)
        summary["models"][d] = e
        rows.append(e | {"name": d})
    print_table(rows, summary)
    print(json.dumps(summary))


def _f(v, fmt):
    return fmt % v if v is not None else "-"


def print_table(rows, summary):
    print("| model | family | size | GMACs | cvm ms (b1) | cvm img/s (b16) | PyTorch int8 ms | "
          "cvm / int8 | PyTorch fp32 ms | fp32 / cvm | % int8 peak | cvm load ms | "
          "cvm peak MB | int8 peak MB | fp32 peak MB |")
    print("|" + " --- |" * 15)
    for e in rows:
        ratio_int8 = e["cvm_ms"] / e["pt_int8_ms"] if e["cvm_ms"] and e["pt_int8_ms"] else None
        ratio_fp32 = e["pt_fp32_ms"] / e["cvm_ms"] if e["cvm_ms"] and e["pt_fp32_ms"] else None
        print("| %s | %s | %d | %.3f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            e["name"], e["family"], e["size"], e["gmacs"], _f(e["cvm_ms"], "%.2f"),
            _f(e["cvm_b16_img_per_s"], "%.0f"), _f(e["pt_int8_ms"], "%.2f"),
            _f(ratio_int8, "%.2f"), _f(e["pt_fp32_ms"], "%.2f"), _f(ratio_fp32, "%.1f"),
            _f(100 * e["peak_frac"] if e.get("peak_frac") else None, "%.0f"),
            _f(e["cvm_load_ms"], "%.0f"), _f(e["cvm_peak_mb"], "%.0f"),
            _f(e["pt_int8_peak_mb"], "%.0f"), _f(e["pt_fp32_peak_mb"], "%.0f")))
    print("threads %d, %d rounds, int8 peak %.0f GMAC/s, load average %.1f at start, %.1f at end"
          % (summary["threads"], summary["rounds"], summary["int8_peak_GMAC_per_s"],
             summary["load_avg_start"], summary["load_avg_end"]))
