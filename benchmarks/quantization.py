"""Quantization end to end: accuracy, size and speed of float, int8 and int16 models.

    .venv/bin/python benchmarks/quantization.py                 # MNIST LeNet + CIFAR-10 ResNet
    .venv/bin/python benchmarks/quantization.py --only mnist --lenet-epochs 1

1. LeNet-5 on MNIST, trained briefly in float (seeded), then int8 by post-training
   calibration (``calibration_qconfig``: MinMax weights, histogram activations) -- target:
   within 0.5 point of float.
2. A small CIFAR-10 ResNet (ResNet-8: 3 stages of one basic block, 16/32/64 channels, ConvBn
   layers and ``Elemwise("FUSE_ADD_RELU")`` residual adds), trained for the benchmark, then int8
   with per-tensor and per-channel weights -- target: per-channel within 1 point. When a
   calibrated model drops more than 1 point, QAT (``ema_fakequant_*``, a short fine-tune from
   the float weights) must recover at least half of the drop.
3. For both: Cambricon fixed point (int8 and int16, ``report.fixed_point_model``), model sizes
   (bytes of the stored tensors) and the time of one pass over the test set, float path vs
   integer path (same batch size, same process, best of ``--repeat``).
4. LeNet at 4 bits (qint4 weights per channel and activations): calibration loses more, and
   QAT (``ema_lowbit_fakequant_qconfig``, a short fine-tune) must win back at least half.

Data: real MNIST and CIFAR-10 from ``$TUTORLIB_DATA`` (``make setup`` lays them out in ./data).
Nothing is tuned on the test sets: the recipes are fixed here. Results go to stdout and to
``benchmarks/results/quantization.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from functools import partial

import numpy as np

import tutorlib as tl
import tutorlib.functional as F
import tutorlib.module as M
import tutorlib.quantization as Q
from tutorlib.autodiff import GradManager
from tutorlib.data.dataset import CIFAR10, MNIST
from tutorlib.quantization import report

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "quantization.json")


# ---- models --------------------------------------------------------------------------------------
class LeNet(M.Module):
    """LeNet-5 for 28x28 digits, written to be quantizable (stubs, fused ReLUs)."""

    def __init__(self):
        super().__init__()
        self.quant, self.dequant = M.QuantStub(), M.DequantStub()
        self.conv1 = M.ConvRelu2d(1, 6, 5)
        self.conv2 = M.ConvRelu2d(6, 16, 5)
        self.pool = M.MaxPool2d(2)
        self.fc1 = M.LinearRelu(16 * 4 * 4, 120)
        self.fc2 = M.LinearRelu(120, 84)
        self.fc3 = M.Linear(84, 10)

    def forward(self, x):
        x = self.pool(self.conv2(self.pool(self.conv1(self.quant(x)))))
        return self.dequant(self.fc3(self.fc2(self.fc1(F.flatten(x, 1)))))


class BasicBlock(M.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = M.ConvBnRelu2d(cin, cout, 3, stride, 1, bias=False)
        self.conv2 = M.ConvBn2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = (M.ConvBn2d(cin, cout, 1, stride, bias=False)
                         if stride != 1 or cin != cout else None)
        self.add = M.Elemwise("FUSE_ADD_RELU")

    def forward(self, x):
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.add(self.conv2(self.conv1(x)), identity)


class ResNet8(M.Module):
    """A small CIFAR ResNet: stem, three basic blocks (16, 32, 64 channels), GAP, linear."""

    def __init__(self, widths=(16, 32, 64)):
        super().__init__()
        self.quant, self.dequant = M.QuantStub(), M.DequantStub()
        self.stem = M.ConvBnRelu2d(3, widths[0], 3, 1, 1, bias=False)
        self.layer1 = BasicBlock(widths[0], widths[0], 1)
        self.layer2 = BasicBlock(widths[0], widths[1], 2)
        self.layer3 = BasicBlock(widths[1], widths[2], 2)
        self.gap = M.AdaptiveAvgPool2d(1)
        self.fc = M.Linear(widths[2], 10)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(self.quant(x)))))
        return self.dequant(self.fc(F.flatten(self.gap(x), 1)))


# ---- data and training -----------------------------------------------------------------------------
def mnist_arrays():
    def prep(ds):
        x = ds.data.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        return ((x - 0.1307) / 0.3081).astype(np.float32), ds.targets.astype(np.int32)
    return prep(MNIST(train=True, download=False)), prep(MNIST(train=False, download=False))


def cifar_arrays():
    train, test = CIFAR10(train=True, download=False), CIFAR10(train=False, download=False)
    x = train.data.astype(np.float32) / 255.0
    mean, std = x.mean(axis=(0, 1, 2)), x.std(axis=(0, 1, 2))

    def prep(ds):
        x = (ds.data.astype(np.float32) / 255.0 - mean) / std
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2), np.float32), ds.targets.astype(np.int32)
    return prep(train), prep(test)


def train(model, x, y, epochs, lr, batch, seed, weight_decay=0.0, augment=False, steps=None,
          log=""):
    """Plain SGD with momentum and a cosine learning rate; returns the seconds taken."""
    rng = np.random.default_rng(seed)
    opt = tl.optimizer.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    gm = GradManager().attach(model.parameters())
    per_epoch = len(x) // batch
    total = steps or epochs * per_epoch
    model.train()
    start, step = time.perf_counter(), 0
    while step < total:
        order = rng.permutation(len(x))
        for i in range(per_epoch):
            if step >= total:
                break
            idx = order[i * batch:(i + 1) * batch]
            xb = x[idx]
            if augment:   # random horizontal flips and 4-pixel translations
                flip = rng.random(len(xb)) < 0.5
                xb = np.where(flip[:, None, None, None], xb[..., ::-1], xb)
                dy, dx = rng.integers(-4, 5, 2)
                xb = np.roll(xb, (dy, dx), axis=(2, 3))
            for group in opt.param_groups:
                group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * step / total))
            with gm:
                loss = F.nn.cross_entropy(model(tl.Tensor(np.ascontiguousarray(xb))),
                                          tl.Tensor(y[idx]))
                gm.backward(loss)
            opt.step().clear_grad()
            step += 1
            if log and step % 100 == 0:
                print(f"  {log} step {step}/{total} loss {float(loss.numpy()):.3f} "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
    model.eval()
    return time.perf_counter() - start


def limit(arrays, n):
    """The first ``n`` samples of each split (``--limit``: a smoke test of the script)."""
    return arrays if not n else tuple((x[:n], y[:n]) for x, y in arrays)


# ---- quantization recipes ----------------------------------------------------------------------------
def calibrate(float_model, qconfig, batches):
    """Post-training quantization: observers on, a few batches, then integer modules."""
    model = Q.copy_module(float_model)
    Q.quantize_qat(model, qconfig=qconfig)
    model.eval()
    Q.enable_observer(model)
    for b in batches:
        model(tl.Tensor(b))
    return Q.quantize(model)


def qat(float_model, qconfig, x, y, steps, lr, batch, seed, augment):
    """Quantization-aware fine-tuning from the float weights, then integer modules."""
    model = Q.copy_module(float_model)
    Q.quantize_qat(model, qconfig=qconfig)
    train(model, x, y, 1, lr, batch, seed, augment=augment, steps=steps, log="QAT")
    model.eval()
    return Q.quantize(model)


def timed_pass(model, x, repeat):
    """Best time of ``repeat`` passes over ``x`` in batches of 500 (model in eval mode)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for i in range(0, len(x), 500):
            model(tl.Tensor(x[i:i + 500]))
        best = min(best, time.perf_counter() - start)
    return best


def evaluate(name, float_model, int_models, fixed_batches, x_test, y_test, repeat):
    """Accuracy/size table and float-vs-integer timings for one task; returns a dict."""
    models = {"float32": float_model, **int_models}
    for bits in (16, 8):
        models[f"fixed{bits}"] = report.fixed_point_model(float_model, bits, fixed_batches)
    rows = report.compare(models, x_test, y_test)
    print(f"\n{name}: accuracy on {len(x_test)} test images, size of the stored tensors")
    print(report.format_rows(rows))
    fast_int = next(iter(int_models.values()))
    t_float = timed_pass(float_model, x_test, repeat)
    t_int = timed_pass(fast_int, x_test, repeat)
    print(f"{name}: one pass over the test set: float {t_float:.2f} s, int8 (integer kernels) "
          f"{t_int:.2f} s, int8/float time = {t_int / t_float:.2f}")
    return {"rows": [{"model": n, "bytes": s, "accuracy": a} for n, s, a in rows],
            "seconds_float": t_float, "seconds_int8": t_int}


def run_mnist(args, out):
    (xtr, ytr), (xte, yte) = limit(mnist_arrays(), args.limit)
    tl.random.seed(args.seed)
    model = LeNet()
    secs = train(model, xtr, ytr, args.lenet_epochs, 0.05, 64, args.seed, log="LeNet")
    print(f"LeNet: {args.lenet_epochs} epoch(s) of float training in {secs:.0f} s")
    calib = [xtr[i:i + 100] for i in range(0, min(2000, len(xtr)), 100)]
    int8 = calibrate(model, Q.calibration_qconfig, calib)
    out["mnist"] = evaluate("MNIST LeNet-5", model, {"int8 PTQ": int8}, calib, xte, yte,
                            args.repeat)
    rows = {r["model"]: r["accuracy"] for r in out["mnist"]["rows"]}
    drop = rows["float32"] - rows["int8 PTQ"]
    out["mnist"]["ptq_drop_points"] = 100 * drop
    print(f"MNIST: int8 PTQ drop {100 * drop:+.2f} points (target <= 0.5): "
          f"{'met' if drop <= 0.005 else 'NOT met'}")
    # 4 bits (qint4 weights and activations): calibration loses more, QAT wins it back
    lowbit_ptq = Q.QConfig(partial(Q.MinMaxObserver, dtype="qint4", ch_axis=0),
                           partial(Q.HistogramObserver, dtype="qint4"), None, None)
    lowbit_qat = Q.ema_lowbit_fakequant_qconfig._replace(
        weight_observer=partial(Q.MinMaxObserver, dtype="qint4", ch_axis=0))
    int4 = {"int4 PTQ": calibrate(model, lowbit_ptq, calib),
            "int4 QAT": qat(model, lowbit_qat, xtr, ytr, args.qat_steps * 2, 0.01, 64,
                            args.seed + 1, augment=False)}
    rows = report.compare({"float32": model, **int4}, xte, yte)
    print("\nMNIST LeNet-5 at 4 bits (qint4 weights per channel, qint4 activations)")
    print(report.format_rows(rows))
    acc = {name: a for name, _, a in rows}
    drop4 = acc["float32"] - acc["int4 PTQ"]
    recovered = (acc["int4 QAT"] - acc["int4 PTQ"]) / drop4 if drop4 > 0 else float("nan")
    out["mnist"]["int4"] = {"rows": [{"model": n, "bytes": s, "accuracy": a} for n, s, a in rows],
                            "ptq_drop_points": 100 * drop4, "qat_recovered_share": recovered}
    print(f"MNIST int4: PTQ drop {100 * drop4:+.2f} points; QAT "
          f"{100 * (acc['float32'] - acc['int4 QAT']):+.2f} points, recovers "
          f"{100 * recovered:.0f}% of the drop (target >= 50%)")


def run_cifar(args, out):
    (xtr, ytr), (xte, yte) = limit(cifar_arrays(), args.limit)
    tl.random.seed(args.seed)
    model = ResNet8()
    secs = train(model, xtr, ytr, args.resnet_epochs, 0.1, 128, args.seed, weight_decay=5e-4,
                 augment=True, log="ResNet-8")
    print(f"ResNet-8: {args.resnet_epochs} epoch(s) of float training in {secs:.0f} s")
    calib = [xtr[i:i + 100] for i in range(0, min(2000, len(xtr)), 100)]
    int_models = {"int8 PTQ/ch": calibrate(model, Q.calibration_per_channel_qconfig, calib),
                  "int8 PTQ/t": calibrate(model, Q.calibration_qconfig, calib)}
    float_acc = report.accuracy(model, xte, yte)
    drops = {k: float_acc - report.accuracy(m, xte, yte) for k, m in int_models.items()}
    qconfigs = {"int8 PTQ/ch": Q.ema_fakequant_per_channel_qconfig,
                "int8 PTQ/t": Q.ema_fakequant_qconfig}
    for key, drop in drops.items():
        if drop > 0.01 or args.always_qat:
            name = key.replace("PTQ", "QAT")
            int_models[name] = qat(model, qconfigs[key], xtr, ytr, args.qat_steps, 0.01, 128,
                                   args.seed + 1, augment=True)
    out["cifar"] = evaluate("CIFAR-10 ResNet-8", model, int_models, calib, xte, yte, args.repeat)
    rows = {r["model"]: r["accuracy"] for r in out["cifar"]["rows"]}
    verdicts = {}
    for key, drop in drops.items():
        verdict = f"drop {100 * drop:+.2f} points"
        qat_key = key.replace("PTQ", "QAT")
        if qat_key in rows:
            recovered = (rows[qat_key] - rows[key]) / drop if drop > 0 else 1.0
            verdict += f"; QAT: {100 * (rows['float32'] - rows[qat_key]):+.2f} points, " \
                       f"recovers {100 * recovered:.0f}% of the drop"
        verdicts[key] = verdict
        print(f"CIFAR {key}: {verdict}")
    out["cifar"]["verdicts"] = verdicts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["mnist", "cifar"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lenet-epochs", type=int, default=1)
    parser.add_argument("--resnet-epochs", type=int, default=3)
    parser.add_argument("--qat-steps", type=int, default=150)
    parser.add_argument("--always-qat", action="store_true", help="run QAT even for small drops")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="use only N samples (smoke test)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "load_average": os.getloadavg(), "args": vars(args)}
    if args.only in (None, "mnist"):
        run_mnist(args, out)
    if args.only in (None, "cifar"):
        run_cifar(args, out)
    out["seconds"] = time.perf_counter() - start
    out["load_average_end"] = os.getloadavg()
    print(f"\n{out['date']}, load average {out['load_average']} -> {out['load_average_end']}, "
          f"{out['seconds']:.0f} s in all")
    if args.limit:
        return 0
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    if args.only and os.path.exists(RESULTS):    # keep the other task's last results
        with open(RESULTS) as f:
            previous = json.load(f)
        out = {**previous, args.only: out[args.only], f"run_{args.only}": {
                   k: out[k] for k in ("date", "load_average", "load_average_end", "seconds")}}
    tmp = RESULTS + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, RESULTS)
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    sys.exit(main())
