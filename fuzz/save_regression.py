#!/usr/bin/env python3
"""Turns a fuzz input into a regression case of tests/data/regressions.

usage: fuzz/save_regression.py TARGET INPUT NAME LOAD [INFER] FINDING FIX
  TARGET  graph | params | model (the fuzz target that found it)
  INPUT   the input file (a crash-*, timeout-*, oom-* artifact)
  LOAD    the code loading must now end with (0, 1 or 2)
  INFER   for model cases that load: the code inference must end with
A model input is split at the separator lines "#CVM#" into symbol.json,
params.bin and input.bin, as fuzz/fuzz_model.cc splits it.
"""
import json
import os
import sys

SEP = b"\n#CVM#\n"


def main(argv):
    target, path, name, load = argv[1], argv[2], argv[3], int(argv[4])
    rest = argv[5:]
    infer = None
    if target == "model" and rest and rest[0].lstrip("-").isdigit():
        infer = int(rest.pop(0))
    finding, fix = rest
    data = open(path, "rb").read()
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                       "regressions", name)
    os.makedirs(out, exist_ok=True)
    files = {"symbol.json": b"", "params.bin": b"", "input.bin": b""}
    if target == "graph":
        files["symbol.json"] = data
    elif target == "params":
        files["params.bin"] = data
    else:
        parts = data.split(SEP, 2)
        for key, part in zip(["symbol.json", "params.bin", "input.bin"], parts):
            files[key] = part
    for key, content in files.items():
        with open(os.path.join(out, key), "wb") as f:
            f.write(content)
    case = {"target": target, "load": load, "finding": finding, "fix": fix}
    if infer is not None:
        case["infer"] = infer
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main(sys.argv)
