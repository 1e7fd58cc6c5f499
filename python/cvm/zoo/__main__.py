"""python3 -m cvm.zoo: build a zoo architecture as a CVM model folder, or list them.

  python3 -m cvm.zoo --list [TEXT] [--image-size S]   (the names containing TEXT)
  python3 -m cvm.zoo NAME --out DIR [--batch N] [--image-size S] [--seed K] [--scheme mse]
  python3 -m cvm.zoo --small NAME --out DIR     (a small variant of a family, see --list)
"""
import argparse
import os
import sys
import time


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m cvm.zoo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", nargs="?")
    ap.add_argument("--list", action="store_true", help="every name with GMACs and parameters")
    ap.add_argument("--small", action="store_true", help="NAME is a small test variant")
    ap.add_argument("--out", help="output folder")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--image-size", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scheme", default="mse", choices=("mse", "max", "percentile"))
    args = ap.parse_args(argv)

    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError:
        sys.exit("cvm.zoo needs PyTorch: apt-get install python3-torch python3-torchvision")
    import torch
    from . import cost
    torch.set_num_threads(os.cpu_count() or 1)
    from .export import export
    from .registry import MODELS, SMALL

    if args.list:
        print("%-20s %-14s %6s %9s %10s  %s" % ("name", "family", "size", "GMACs", "params (M)",
                                                "source"))
        for table, tag in ((MODELS, ""), (SMALL, " (--small)")):
            for e in table.values():
                if args.name and args.name not in e.name:
                    continue
                size = args.image_size or e.image_size
                if size < e.min_size:
                    print("%-20s %-14s %6d %9s %10s  %s (needs %d x %d)" % (
                        e.name, e.family, size, "-", "-", e.source, e.min_size, e.min_size))
                    continue
                torch.manual_seed(0)
                macs, params = cost.count(e.build(), size)
                print("%-20s %-14s %6d %9.3f %10.2f  %s%s" % (e.name, e.family, size, macs / 1e9,
                                                              params / 1e6, e.source, tag))
        return 0
    table = SMALL if args.small else MODELS
    if not args.name or args.name not in table:
        known = ", ".join(table)
        ap.error(f"name {args.name!r} unknown; choose one of: {known}")
    if not args.out:
        ap.error("--out DIR is needed")
    if args.batch < 1:
        ap.error("--batch must be at least 1")
    t = time.time()
    case = export(table[args.name], args.out, size=args.image_size, batch=args.batch,
                         seed=args.seed, scheme=args.scheme)
    print("%s: %d x %d, batch %d, %.3f GMACs per image, %.1f M parameters, gas %d -> %s (%.1f s)"
          % (case["model"], case["image_size"], case["image_size"], case["batch"],
             case["gmacs_per_image"], case["float_params"] / 1e6, case["gas"], args.out,
             time.time() - t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
