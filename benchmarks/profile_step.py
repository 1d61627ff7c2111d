"""Where a tutorlib training step spends its time, op by op (forward and backward).

    .venv/bin/python benchmarks/profile_step.py lenet1            # a workload of train_step.py
    .venv/bin/python benchmarks/profile_step.py resnet20 --steps 5

Runs the workload's model from ``train_step.py`` (same batch, same 2-thread setting) and times
every op's ``forward`` (as dispatched by ``Device.run``) and ``backward`` (as called by the
autodiff engine), grouped by op name and input shape. "other" is the rest of the step: Python
overhead of modules and the engine, gradient accumulation, the optimizer. The total is the
median step; per-op times are means over the timed steps.
"""
import argparse
import collections
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("NUMBA_NUM_THREADS", "2")

import train_step  # noqa: E402  (after the thread settings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(train_step.WORKLOADS))
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()

    from tutorlib.device import Device
    from tutorlib.ops.core import Op

    times = collections.defaultdict(float)

    def key(op, arrays):
        shape = "x".join(map(str, arrays[0].shape)) if arrays and hasattr(arrays[0], "shape") else ""
        return f"{op.name} {shape}"

    run = Device.run

    def timed_run(self, op, arrays):
        t = time.perf_counter()
        out = run(self, op, arrays)
        k = key(op, arrays)
        op._profile_key = k
        times[("fwd", k)] += time.perf_counter() - t
        return out

    Device.run = timed_run
    wrapped = {}
    for cls in _all_subclasses(Op):
        if "backward" in cls.__dict__:
            wrapped[cls] = cls.backward

            def timed_backward(self, g, _orig=cls.backward):
                t = time.perf_counter()
                out = _orig(self, g)
                times[("bwd", getattr(self, "_profile_key", self.name))] += time.perf_counter() - t
                return out
            cls.backward = timed_backward

    step, wrap = train_step.tutorlib_trainer(args.workload)
    x, y = train_step.data(args.workload)
    x, y = wrap(x), wrap(y)
    for _ in range(3):
        step(x, y)
    times.clear()
    steps = []
    for _ in range(args.steps):
        t = time.perf_counter()
        step(x, y)
        steps.append(time.perf_counter() - t)
    total = statistics.median(steps) * 1e3
    rows = sorted(((v * 1e3 / args.steps, d, k) for (d, k), v in times.items()), reverse=True)
    accounted = sum(r[0] for r in rows)
    print(f"{args.workload}: median step {total:.2f} ms over {args.steps} steps")
    print(f"{'ms':>8} {'%':>5}  dir  op input-shape")
    for ms, d, k in rows:
        if ms >= 0.01:
            print(f"{ms:8.2f} {100 * ms / total:5.1f}  {d}  {k}")
    print(f"{total - accounted:8.2f} {100 * (total - accounted) / total:5.1f}  other")


def _all_subclasses(cls):
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


if __name__ == "__main__":
    main()
