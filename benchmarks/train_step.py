"""Training-step benchmark: tutorlib against PyTorch on the same models, batches and data.

    .venv/bin/python benchmarks/train_step.py            # everything (a few minutes)
    .venv/bin/python benchmarks/train_step.py --only mlp64,lenet1 --no-cold

Every (framework, workload) pair runs in a fresh subprocess with 2 threads (``torch.set_num_threads
(2)``; numba and OpenBLAS via ``NUMBA_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS``). A train step is
forward, cross-entropy, backward and an SGD-momentum update. Each worker first runs one step on a
2-sample batch (loads JIT caches, lazy initialisation), records ``ru_maxrss`` as its baseline,
then runs warm-up and timed steps on the full batch; "peak MB" is the growth of ``ru_maxrss``
over that baseline, i.e. the extra resident memory a training step needs, measured the same way
for both frameworks. The two frameworks' runs alternate ``--repeat`` times and each keeps its
best median, so a burst of load from other processes does not land on one side only.
Results: a table on stdout and ``benchmarks/results/train_step.json``.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's tutorlib, installed or not
RESULTS = os.path.join(HERE, "results", "train_step.json")
THREADS = int(os.environ.get("TRAIN_STEP_THREADS", "2"))  # workers inherit it from main()
# A machine may pin OpenBLAS to an older family of kernels (OPENBLAS_CORETYPE, set together with
# OPENBLAS_L2_SIZE) because old OpenBLAS builds miscompute on its CPU. PyTorch's oneDNN ignores
# that and picks its kernels from the CPU's instruction set, so the workers run without both
# variables: each framework then uses what its own library picks for this CPU, as on a machine
# without the pin (``--keep-openblas-pin`` keeps them; the table's header names the kernel).
OPENBLAS_PIN = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
KEEP_PIN = False  # set by --keep-openblas-pin

# name: (model, batch, input shape (C, H, W) or (features,), target ratio tutorlib / PyTorch)
WORKLOADS = {
    "mlp64": ("mlp", 64, (784,), 1.5),
    "mlp256": ("mlp", 256, (784,), 1.5),
    "lenet1": ("lenet", 64, (1, 32, 32), 1.3),
    "lenet3": ("lenet", 64, (3, 32, 32), 1.3),
    "resblock": ("resblock", 64, (64, 32, 32), 1.3),
    "resnet20": ("resnet20", 128, (3, 32, 32), 1.3),
    "lenet3_eval": ("lenet", 64, (3, 32, 32), 1.3),
    "resnet20_eval": ("resnet20", 128, (3, 32, 32), 1.3),
}
# inference workloads: eval mode, forward only, no graph (tutorlib: no GradManager recording;
# PyTorch: torch.no_grad())
INFERENCE = {"lenet3_eval", "resnet20_eval"}
DESCRIPTION = {
    "mlp": "MLP 784-256-10", "lenet": "LeNet-5", "resblock": "64-ch 3x3 residual block",
    "resnet20": "ResNet-20 (CIFAR)",
}


def data(name, batch=None):
    """The seeded batch (x float32, labels int32) shared by both frameworks."""
    import numpy as np
    _, full, shape, _ = WORKLOADS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((full,) + shape).astype(np.float32)
    y = rng.integers(0, 10, full).astype(np.int32)
    return x[:batch], y[:batch]


# --- tutorlib models (public API only) ----------------------------------------------------------

def tutorlib_model(kind, in_shape):
    import tutorlib.functional as F
    import tutorlib.module as M

    class Block(M.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv1 = M.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = M.BatchNorm2d(cout)
            self.conv2 = M.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = M.BatchNorm2d(cout)
            self.down = stride != 1 or cin != cout
            if self.down:
                self.conv_down = M.Conv2d(cin, cout, 1, stride, bias=False)
                self.bn_down = M.BatchNorm2d(cout)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + (self.bn_down(self.conv_down(x)) if self.down else x))

    class Net(M.Module):
        def __init__(self):
            super().__init__()
            if kind == "mlp":
                self.body = M.Sequential(M.Linear(784, 256), M.ReLU(), M.Linear(256, 10))
            elif kind == "lenet":
                self.body = M.Sequential(
                    M.Conv2d(in_shape[0], 6, 5), M.ReLU(), M.MaxPool2d(2),
                    M.Conv2d(6, 16, 5), M.ReLU(), M.MaxPool2d(2), M.Flatten(),
                    M.Linear(400, 120), M.ReLU(), M.Linear(120, 84), M.ReLU(), M.Linear(84, 10))
            elif kind == "resblock":
                self.body = M.Sequential(Block(64, 64), M.AdaptiveAvgPool2d(1), M.Flatten(),
                                         M.Linear(64, 10))
            else:
                layers = [M.Conv2d(3, 16, 3, 1, 1, bias=False), M.BatchNorm2d(16), M.ReLU()]
                cin = 16
                for cout, stride in ((16, 1), (32, 2), (64, 2)):
                    for i in range(3):
                        layers.append(Block(cin, cout, stride if i == 0 else 1))
                        cin = cout
                layers += [M.AdaptiveAvgPool2d(1), M.Flatten(), M.Linear(64, 10)]
                self.body = M.Sequential(*layers)

        def forward(self, x):
            return self.body(x)

    return Net()


def tutorlib_trainer(name):
    """(step(x, y), wrap(array)) closures for a tutorlib model: a training step, or for an
    inference workload a forward pass in eval mode (nothing recorded)."""
    import tutorlib as tl
    import tutorlib.functional as F
    import tutorlib.optimizer as optim
    from tutorlib.autodiff import GradManager

    tl.keep_freed_memory()  # a training script's explicit choice (tutorlib/kernels/memory.py)
    kind, _, shape, _ = WORKLOADS[name]
    model = tutorlib_model(kind, shape)
    if name in INFERENCE:
        model.eval()
        return (lambda x, y: model(x)), lambda a: tl.Tensor(a)
    model.train()
    gm = GradManager().attach(model.parameters())
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(x, y):
        with gm:
            loss = F.nn.cross_entropy(model(x), y)
            gm.backward(loss)
        opt.step()
        opt.clear_grad()
        return loss

    return step, lambda a: tl.Tensor(a)


# --- PyTorch models (the same architectures) ----------------------------------------------------

def torch_model(kind, in_shape):
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return torch.relu(out + (x if self.down is None else self.down(x)))

    if kind == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    if kind == "lenet":
        return nn.Sequential(
            nn.Conv2d(in_shape[0], 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    if kind == "resblock":
        return nn.Sequential(Block(64, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(3):
            layers.append(Block(cin, cout, stride if i == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def torch_trainer(name):
    import torch
    torch.set_num_threads(THREADS)
    kind, _, shape, _ = WORKLOADS[name]
    model = torch_model(kind, shape)

    def wrap(a):
        t = torch.from_numpy(a)
        return t.long() if t.dtype == torch.int32 else t

    if name in INFERENCE:
        model.eval()

        def infer(x, y):
            with torch.no_grad():
                return model(x)

        return infer, wrap
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.functional.cross_entropy

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step, wrap


def flops_per_step(name):
    """Multiply-add FLOPs of the conv and linear layers: 3x forward (forward, dx, dw) for a
    training step, 1x for inference."""
    import torch
    kind, batch, shape, _ = WORKLOADS[name]
    model, total = torch_model(kind, shape), [0]

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Conv2d):
            k = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
            total[0] += 2 * out.numel() * k
        elif isinstance(mod, torch.nn.Linear):
            total[0] += 2 * out.numel() * mod.in_features

    for m in model.modules():
        m.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.zeros((1,) + shape))
    return (1 if name in INFERENCE else 3) * total[0] * batch


# --- workers (run in subprocesses) -------------------------------------------------------------

def peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def worker(framework, name, min_steps, budget_s):
    import numpy as np
    step, wrap = (tutorlib_trainer if framework == "tutorlib" else torch_trainer)(name)
    x, y = data(name)
    xs, ys = wrap(x), wrap(y)
    step(wrap(x[:2].copy()), wrap(y[:2].copy()))  # JIT caches, lazy init: not part of the peak
    base = peak_rss_mb()
    for _ in range(3):
        step(xs, ys)
    times, start = [], time.perf_counter()
    while len(times) < min_steps or (time.perf_counter() - start < budget_s and len(times) < 200):
        t0 = time.perf_counter()
        loss = step(xs, ys)
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > 4 * budget_s:
            break
    out = np.asarray(loss.numpy() if framework == "tutorlib" else loss.detach().numpy())
    return {"ms": 1e3 * statistics.median(times), "steps": len(times),
            "peak_mb": peak_rss_mb() - base, "loss": float(out.mean())}


def cold_worker(framework):
    """import + build LeNet-5 + first training step, timed from before the import."""
    t0 = time.perf_counter()
    if framework == "tutorlib":
        import tutorlib  # noqa: F401
    else:
        import torch  # noqa: F401
    t_import = time.perf_counter() - t0
    step, wrap = (tutorlib_trainer if framework == "tutorlib" else torch_trainer)("lenet1")
    x, y = data("lenet1")
    step(wrap(x), wrap(y))
    return {"import_s": t_import, "total_s": time.perf_counter() - t0}


def openblas_kernel():
    """The kernel family numpy's OpenBLAS runs in this process ("Haswell", "SkylakeX", ...)."""
    from threadpoolctl import threadpool_info
    return next((i.get("architecture") for i in threadpool_info()
                 if i.get("internal_api") == "openblas"), None)


def gemm_worker():
    import numpy as np
    a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32)
    times = []
    for _ in range(12):
        t0 = time.perf_counter()
        a @ a
        times.append(time.perf_counter() - t0)
    return {"gflops": 2 * 2048 ** 3 / min(times) / 1e9, "openblas_kernel": openblas_kernel()}


# --- orchestration ------------------------------------------------------------------------------

def run(args, extra_env=None):
    n = str(THREADS)
    env = {k: v for k, v in os.environ.items() if KEEP_PIN or k not in OPENBLAS_PIN}
    env.update(TRAIN_STEP_THREADS=n, NUMBA_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n,
               OMP_NUM_THREADS=n, **(extra_env or {}))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, os.path.abspath(__file__), *args], env=env, check=False,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - t0
    return result


def main():
    global THREADS, KEEP_PIN
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", help="comma-separated workloads (default: all)")
    p.add_argument("--min-steps", type=int, default=10)
    p.add_argument("--budget", type=float, default=3.0, help="seconds of timed steps per run")
    p.add_argument("--repeat", type=int, default=2,
                   help="alternate tutorlib/torch runs this many times, keep each one's best median")
    p.add_argument("--no-cold", action="store_true", help="skip the cold-start measurements")
    p.add_argument("--threads", type=int, default=THREADS, help="threads for both frameworks (default 2)")
    p.add_argument("--out", default=RESULTS, help="where to write the JSON results")
    p.add_argument("--keep-openblas-pin", action="store_true",
                   help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the workers (see OPENBLAS_PIN)")
    p.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args()
    THREADS, KEEP_PIN = args.threads, args.keep_openblas_pin
    if args.worker:
        kind, *rest = args.worker
        if kind == "cold":
            result = cold_worker(rest[0])
        elif kind == "gemm":
            result = gemm_worker()
        else:
            result = worker(kind, rest[0], args.min_steps, args.budget)
        print(json.dumps(result))
        return

    names = args.only.split(",") if args.only else list(WORKLOADS)
    gemm = run(["--worker", "gemm"])
    peak, kernel = gemm["gflops"], gemm["openblas_kernel"]
    pin = {k: os.environ[k] for k in OPENBLAS_PIN if k in os.environ}
    rows = []
    print(f"numpy float32 GEMM peak (2048^2, {THREADS} threads): {peak:.0f} GFLOP/s; OpenBLAS kernel "
          f"{kernel}" + (f" ({'kept' if KEEP_PIN else 'dropped'} for the workers: {pin})" if pin else "")
          + "\n")
    header = (f"{'workload':<36}{'batch':>6}{'tutorlib ms':>13}{'torch ms':>10}{'ratio':>7}"
              f"{'target':>8}{'tl MB':>8}{'torch MB':>9}{'tl GFLOP/s':>11}{'%peak':>7}"
              f"{'load':>6}")
    print(header)
    print("-" * len(header))
    for name in names:
        kind, batch, shape, target = WORKLOADS[name]
        extra = ["--min-steps", str(args.min_steps), "--budget", str(args.budget)]
        runs = {"tutorlib": [], "torch": []}
        for _ in range(args.repeat):  # alternate, so a burst of load hits both frameworks
            for fw, results in runs.items():
                results.append(run(["--worker", fw, name, *extra]))
        tl_r, pt_r = (min(r, key=lambda v: v["ms"]) for r in runs.values())
        flops = flops_per_step(name)
        label = f"{DESCRIPTION[kind]} {'x'.join(map(str, shape))}"
        label += " eval" if name in INFERENCE else ""
        load = os.getloadavg()[0]  # 1-minute load average at the end of this workload's runs
        row = {"workload": name, "description": label, "batch": batch,
               "tutorlib_ms": tl_r["ms"], "torch_ms": pt_r["ms"], "ratio": tl_r["ms"] / pt_r["ms"],
               "target_ratio": target, "tutorlib_peak_mb": tl_r["peak_mb"],
               "torch_peak_mb": pt_r["peak_mb"], "gflop_per_step": flops / 1e9,
               "tutorlib_gflops": flops / tl_r["ms"] / 1e6, "torch_gflops": flops / pt_r["ms"] / 1e6,
               "steps": [tl_r["steps"], pt_r["steps"]], "loss": [tl_r["loss"], pt_r["loss"]],
               "load_1min": load}
        rows.append(row)
        print(f"{label:<36}{batch:>6}{row['tutorlib_ms']:>13.2f}{row['torch_ms']:>10.2f}"
              f"{row['ratio']:>7.2f}{target:>8.1f}{row['tutorlib_peak_mb']:>8.1f}"
              f"{row['torch_peak_mb']:>9.1f}{row['tutorlib_gflops']:>11.1f}"
              f"{100 * row['tutorlib_gflops'] / peak:>6.0f}%{load:>6.1f}", flush=True)

    cold = {}
    if not args.no_cold:
        # as installed: `make` runs the kernel warm-up, which fills numba's on-disk cache
        subprocess.run([sys.executable, "-m", "tutorlib.warmup"], check=True)
        cold["tutorlib_warm_cache"] = run(["--worker", "cold", "tutorlib"])
        with tempfile.TemporaryDirectory() as empty:  # no warm-up: the step compiles its kernels
            cold["tutorlib_empty_cache"] = run(["--worker", "cold", "tutorlib"],
                                               {"NUMBA_CACHE_DIR": empty})
        cold["torch"] = run(["--worker", "cold", "torch"])
        print("\ncold start (fresh process: import + build LeNet-5 + first step; "
              "in-process s / wall s incl. interpreter start; warm_cache = as `make` installs, "
              "empty_cache = no numba cache at all)")
        for k, v in cold.items():
            print(f"  {k:<22}{v['total_s']:>6.2f} s / {v['wall_s']:.2f} s   "
                  f"(import {v['import_s']:.2f} s)")

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                   "threads": THREADS, "gemm_peak_gflops": peak, "openblas_kernel": kernel,
                   "openblas_pin": {"variables": pin, "kept": KEEP_PIN}, "workloads": rows,
                   "cold_start": cold}, f, indent=1)
    print(f"\nwrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
