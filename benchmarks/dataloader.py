"""DataLoader throughput (samples/s) for the course's two standard input pipelines.

    python benchmarks/dataloader.py          # or: make bench

- MNIST quick start: Normalize(0.1307*255, 0.3081*255) + Pad(2) + ToMode("CHW"), batch 64;
- CIFAR-10 augmentation: RandomCrop(32, padding 4) + RandomHorizontalFlip + Normalize + ToMode.

Each runs in one process (the stacked fast path, and for reference the per-sample path that
transforms and collates sample by sample, as MegEngine does) and with 2 worker processes. The
worker rows give a whole epoch including worker start-up, and the rate after the first batch.
Uses the prepared data in $TUTORLIB_DATA when present, else random arrays of the same shapes.
Prints a table and writes benchmarks/results/dataloader.json.
"""
from __future__ import annotations

import json
import os
import platform
import time

import numpy as np

import tutorlib.data.transform as T
from tutorlib.data import ArrayDataset, Collator, DataLoader, RandomSampler
from tutorlib.data.dataset import CIFAR10, MNIST, MissingDataError

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "dataloader.json")
BATCH = 64


def load(kind):
    """(dataset, source) for "mnist" or "cifar10": the real training set if prepared, else random."""
    try:
        ds = MNIST(download=False) if kind == "mnist" else CIFAR10(download=False)
        return ds, "real"
    except MissingDataError:
        rng = np.random.default_rng(0)
        shape = (60000, 28, 28, 1) if kind == "mnist" else (50000, 32, 32, 3)
        return ArrayDataset(rng.integers(0, 256, shape, dtype=np.uint8),
                            rng.integers(0, 10, shape[0]).astype(np.int32)), "random"


def pipeline(kind):
    if kind == "mnist":
        return T.Compose([T.Normalize(0.1307 * 255, 0.3081 * 255), T.Pad(2), T.ToMode("CHW")])
    return T.Compose([T.RandomCrop(32, padding_size=4), T.RandomHorizontalFlip(),
                      T.Normalize([113.865, 122.950, 125.307], [66.705, 62.089, 62.993]),
                      T.ToMode("CHW")])


def run(loader, max_batches=None):
    """(samples per second over the run, samples per second after the first batch, samples)."""
    start = time.perf_counter()
    first = None
    samples = 0
    for i, (images, _) in enumerate(loader):
        samples += len(images)
        if first is None:
            first, first_samples = time.perf_counter(), samples
        if max_batches is not None and i + 1 == max_batches:
            break
    end = time.perf_counter()
    steady = (samples - first_samples) / (end - first) if end > first else float("nan")
    return samples / (end - start), steady, samples


def measure(kind):
    ds, source = load(kind)
    rows = []

    def loader(**kw):
        return DataLoader(ds, RandomSampler(ds, batch_size=BATCH, seed=0),
                          transform=pipeline(kind), **kw)

    best = max(run(loader())[0] for _ in range(3))
    rows.append({"pipeline": kind, "data": source, "mode": "1 process (stacked)",
                 "samples_per_s": best})
    rate, _, n = run(loader(collator=Collator()), max_batches=200)
    rows.append({"pipeline": kind, "data": source, "mode": "1 process (per sample)",
                 "samples_per_s": rate, "samples": n})
    rate, steady, n = run(loader(num_workers=2))
    rows.append({"pipeline": kind, "data": source, "mode": "2 workers (epoch incl. start)",
                 "samples_per_s": rate, "samples": n})
    rows.append({"pipeline": kind, "data": source, "mode": "2 workers (after 1st batch)",
                 "samples_per_s": steady, "samples": n})
    return rows


def main():
    rows = measure("mnist") + measure("cifar10")
    print(f"{'pipeline':<9} {'data':<7} {'mode':<30} {'samples/s':>12}")
    for r in rows:
        print(f"{r['pipeline']:<9} {r['data']:<7} {r['mode']:<30} {r['samples_per_s']:>12,.0f}")
    report = {"batch_size": BATCH, "cpu_count": os.cpu_count(), "numpy": np.__version__,
              "python": platform.python_version(), "load_average": os.getloadavg(),
              "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "results": rows}
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    tmp = RESULTS + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
    os.replace(tmp, RESULTS)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
