"""Helper of test_zoo.py, run as a subprocess with CVM_ISA set: loads each model folder given
(the level is chosen at load), runs its input.npy at 1, 2 and 3 threads and saves each output
as DIR/out_<level>_t<threads>.npy (the first head)."""
import os
import sys

import numpy as np

import cvm


def main():
    level = os.environ.get("CVM_ISA", "auto")
    for d in sys.argv[1:]:
        model = cvm.Model.load(d)
        x = np.load(os.path.join(d, "input.npy"))
        for threads in (1, 2, 3):
            model.threads = threads
            for repeat in range(2):   # the second run reuses the plan's storage
                out = model.run(x)[0]
                np.save(os.path.join(d, f"out_{level}_t{threads}_r{repeat}.npy"), out)


if __name__ == "__main__":
    main()
