#!/usr/bin/env python3
"""The PyTorch side of bench/compare_pytorch.py --zoo, one subprocess per step so that each
serving process's peak resident memory is its own:

  torch_side.py build NAME SIZE int8|fp32 OUT.pt    builds the model, saves it as TorchScript
  torch_side.py serve OUT.pt SIZE THREADS SECONDS   loads it, times batch-1 inference, prints
                                                    {"ms": best, "runs": n, "maxrss_kb": peak}

int8: torchvision.models.quantization's NAME (quantize=False, random weights), modules fused,
post-training static quantization with the engine's default qconfig (onednn on Debian's torch
1.13; fbgemm or x86 when present), calibrated on the zoo's seeded random images.
fp32: the zoo's float model of NAME (the network cvm runs), BatchNorm calibrated the same way.
"""
import json
import resource
import sys
import time

INT8 = {"resnet18", "resnet50", "mobilenet_v2", "shufflenet_v2_x1_0", "googlenet", "inception_v3"}


def best_engine():
    import torch
    engines = torch.backends.quantized.supported_engines
    return next((e for e in ("x86", "fbgemm", "onednn") if e in engines), None)


def build(name, size, mode, out):
    import os
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    from cvm import zoo
    from cvm.zoo import weights
    entry = zoo.MODELS[name]
    torch.manual_seed(0)
    calib = [weights.normalize(weights.random_images(8, size, 900 + i), entry.dataset)
             for i in range(2)]
    if mode == "fp32":
        model = weights.build_float(entry, size, seed=0)
    else:
        from torchvision.models import quantization as qm
        engine = best_engine()
        torch.backends.quantized.engine = engine
        kw = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
        model = getattr(qm, name)(weights=None, quantize=False, **kw)
        weights.calibrate_batchnorm(model, size, entry.dataset, seed=0)
        model.eval()
        model.fuse_model()
        model.qconfig = torch.ao.quantization.get_default_qconfig(engine)
        torch.ao.quantization.prepare(model, inplace=True)
        with torch.no_grad():
            for x in calib:
                model(x)
        torch.ao.quantization.convert(model, inplace=True)
    x = calib[0][:1]
    with torch.no_grad():
        traced = torch.jit.trace(model, x)
        traced = torch.jit.freeze(traced.eval())
    traced.save(out)


def serve(path, size, threads, seconds):
    import torch
    torch.set_num_threads(threads)
    if "int8" in path:
        torch.backends.quantized.engine = best_engine()
    model = torch.jit.load(path).eval()
    x = torch.randn(1, 3, size, size)
    times, start = [], time.perf_counter()
    with torch.no_grad():
        for _ in range(3):   # warm up (TorchScript profiles the first runs)
            model(x)
        while len(times) < 5 or time.perf_counter() - start < seconds:
            t = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t)
    times.sort()
    # The median inference, as cvm_bench's p50_ms (and the fastest).
    print(json.dumps({"ms": times[len(times) // 2] * 1e3, "best_ms": times[0] * 1e3,
                      "runs": len(times),
                      "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "build":
        build(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif cmd == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit(__doc__)
