#!/usr/bin/python3
"""Trains the five Fashion-MNIST networks of python/cvm/fashion_mnist.py, seeded and on the CPU,
and writes their float weights (state_dict) to python/cvm/weights/fashion_mnist/NAME.pt
(rebuild, or copy them to build/python/cvm/weights, for the table and tests).

  PYTHONPATH=build/python /usr/bin/python3 tools/train_fashion_mnist.py [NAME ...] [--steps N]

Deterministic for a given torch build and thread count (--threads, default 2).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
from torch import nn

from cvm import fashion_mnist as fm

SOURCE_WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python", "cvm",
                                  "weights", "fashion_mnist")

# Training steps (batches of 128) and peak learning rate per network: each trains in about
# 3 to 6 minutes on 2 cores shared with other work.
SCHEDULE = {
    "lenet": (900, 3e-3),
    "cifar_resnet20": (800, 6e-3),
    "mobilenet": (350, 6e-3),
    "squeezenet": (700, 5e-3),
    "shufflenet": (500, 6e-3),
}


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def train(name, steps, lr, seed, out_dir, batch=128):
    torch.manual_seed(seed)
    np.random.seed(seed)
    images, labels = fm.load("train")
    x, y = fm.normalize(images), torch.from_numpy(labels)
    test_images, test_labels = fm.load("test")
    tx, ty = fm.normalize(test_images), torch.from_numpy(test_labels)
    model = fm.MODELS[name]()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    per_epoch = len(x) // batch
    epochs = (steps + per_epoch - 1) // per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    start = time.time()
    done = 0
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, per_epoch * batch, batch):
            if done == steps:
                break
            done += 1
            idx = order[i:i + batch]
            xb = x[idx]
            # Horizontal flip of half the batch (clothes are left-right symmetric).
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            opt.zero_grad()
            loss = loss_fn(model(xb), y[idx])
            loss.backward()
            opt.step()
            sched.step()
        acc = evaluate(model, tx, ty)
        print(f"{name} epoch {epoch + 1}/{epochs}: loss {loss.item():.3f} "
              f"test top-1 {100 * acc:.2f}% ({time.time() - start:.0f} s)", flush=True)
    os.makedirs(out_dir, exist_ok=True)
    model.eval()
    torch.save(model.state_dict(), os.path.join(out_dir, name + ".pt"))
    return acc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("names", nargs="*", default=list(fm.MODELS), help="networks to train")
    p.add_argument("--steps", type=int, default=0, help="override the per-network steps")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=SOURCE_WEIGHTS_DIR, help="default: the source tree's")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    for name in args.names:
        if name not in fm.MODELS:
            sys.exit(f"unknown network {name}; known: {', '.join(fm.MODELS)}")
        steps, lr = SCHEDULE[name]
        train(name, args.steps or steps, lr, args.seed, args.out)


if __name__ == "__main__":
    main()
