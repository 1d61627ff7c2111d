"""The emulated MLU: per-operator mode against the fused program, measured on this CPU.

    .venv/bin/python benchmarks/mlu.py                      # batches 1, 64, 256
    .venv/bin/python benchmarks/mlu.py --batches 64 --repeat 3

LeNet-5 (``tutorlib.examples.mnist_nets.LeNet``, seeded weights) is calibrated in int8 on 256
real MNIST training images (raw 0..255 pixels, ``{'mean': [0], 'std': [1/255], 'firstconv':
True}``) and run on real MNIST test images:

* **per operator**: ``model.to(ct.mlu_device())(x)``: every op goes through ``apply`` and the
  MLU device (float16 rounding of inputs and outputs, weights quantized at every call);
* **fused**: ``ct.trace(model, x)``: one program, weights quantized once, conv+ReLU fused,
  no Tensor or Module in the loop.

Both give the same numbers bit for bit (checked here too). Reported: best-of-``--repeat``
wall time of one batch in each mode, the ratio, PyTorch's float LeNet on the CPU in the same
run (if installed) for scale, and the *simulated* MLU270 latency of both modes from the cost
model (``tutorlib.mlu.cost``; a model, not a measurement). Results go to stdout and to
``benchmarks/results/mlu.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import tutorlib as tl
import tutorlib.mlu.mlu_model as ct
from tutorlib.data.dataset import MNIST
from tutorlib.examples.mnist_nets import LeNet
from tutorlib.mlu import mlu_quantize

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "mlu.json")
SPEC = {"mean": [0], "std": [1 / 255], "firstconv": True}


def best_of(fn, repeat: int) -> float:
    fn()                                     # warm-up (numba caches, first allocations)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def torch_lenet_seconds(net, raw, repeat):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    t = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10)).eval()
    x = torch.from_numpy(raw / 255)
    with torch.no_grad():
        return best_of(lambda: t(x), repeat)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="1,64,256")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tl.random.seed(0)
    net = LeNet()
    net.eval()
    train, test = MNIST(train=True, download=False), MNIST(train=False, download=False)
    calib = train.data[:256].transpose(0, 3, 1, 2).astype(np.float32)
    q = mlu_quantize.quantize_dynamic_mlu(net, SPEC, dtype="int8", gen_quant=True)
    q(tl.Tensor(calib))
    model = mlu_quantize.quantize_dynamic_mlu(net, dtype="int8")
    model.load_state_dict(q.state_dict(), strict=False)
    model.to(ct.mlu_device())

    rows = []
    for batch in (int(b) for b in args.batches.split(",")):
        raw = test.data[:batch].transpose(0, 3, 1, 2).astype(np.float32)
        x = tl.Tensor(raw).to(ct.mlu_device())
        program = ct.trace(model, x)
        assert np.array_equal(program(x).numpy(), model(x).numpy()), "modes disagree"
        per_op = best_of(lambda x=x: model(x), args.repeat)
        fused = best_of(lambda x=x, program=program: program(x), args.repeat)
        torch_s = torch_lenet_seconds(net, raw, args.repeat)
        row = {"batch": batch, "per_op_ms": 1e3 * per_op, "fused_ms": 1e3 * fused,
               "fused_speedup": per_op / fused,
               "torch_float_ms": None if torch_s is None else 1e3 * torch_s,
               "simulated_mlu270_per_op_us": ct.profile(model, x).total_us,
               "simulated_mlu270_fused_us": program.profile().total_us}
        rows.append(row)
        torch_text = "-" if torch_s is None else f"{1e3 * torch_s:.2f} ms"
        print(f"batch {batch:>4}: per-op {row['per_op_ms']:.2f} ms, fused {row['fused_ms']:.2f} ms "
              f"(x{row['fused_speedup']:.2f}); PyTorch float {torch_text}; simulated MLU270 "
              f"{row['simulated_mlu270_per_op_us']:.1f} µs per-op vs "
              f"{row['simulated_mlu270_fused_us']:.1f} µs fused")
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS + ".tmp", "w") as f:
        json.dump({"workload": "LeNet-5 int8 inference on MNIST test images", "repeat": args.repeat,
                   "rows": rows}, f, indent=1)
    os.replace(RESULTS + ".tmp", RESULTS)


if __name__ == "__main__":
    main()
