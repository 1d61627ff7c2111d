"""Time each convolution path (forward and backward) on the conv shapes of the benchmark models.

    .venv/bin/python benchmarks/conv_paths.py

For every layer shape of LeNet-5, the residual block and ResNet-20 (batch as in
``train_step.py``), prints the best-of-N milliseconds of ``conv2d_forward`` and
``conv2d_backward`` for every path that can compute it, the path ``choose_path`` picks (for both
passes) marked ``*``. This is the measurement behind the path rules in ``tutorlib/kernels/conv.py``.
"""
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from tutorlib.kernels import conv  # noqa: E402

# (name, N, C, H, O, K, stride, pad)
SHAPES = [
    ("lenet conv1", 64, 1, 32, 6, 5, 1, 0),
    ("lenet3 conv1", 64, 3, 32, 6, 5, 1, 0),
    ("lenet conv2", 64, 6, 14, 16, 5, 1, 0),
    ("resblock", 64, 64, 32, 64, 3, 1, 1),
    ("resnet20 stem", 128, 3, 32, 16, 3, 1, 1),
    ("resnet20 16ch", 128, 16, 32, 16, 3, 1, 1),
    ("resnet20 32ch", 128, 32, 16, 32, 3, 1, 1),
    ("resnet20 64ch", 128, 64, 8, 64, 3, 1, 1),
    ("resnet20 16->32 s2", 128, 16, 32, 32, 3, 2, 1),
    ("resnet20 32->64 s2", 128, 32, 16, 64, 3, 2, 1),
    ("resnet20 1x1 16->32 s2", 128, 16, 32, 32, 1, 2, 0),
]


def best(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1e3


def applicable(C, K, stride, pad):
    paths = ["im2col", "im2col_rows", "im2col_chw"] + (["shift_gemm"] if conv.PARALLEL_IMAGES else [])
    if stride == 1:
        paths.append("row_shift")
        if K == 1 and pad == 0:
            paths.append("pointwise")
    return paths


def main():
    rng = np.random.default_rng(0)
    print(f"{'layer':20} {'path':12} {'fwd ms':>8} {'bwd ms':>8}")
    for name, N, C, H, O, K, s, p in SHAPES:
        x = rng.standard_normal((N, C, H, H)).astype(np.float32)
        w = rng.standard_normal((O, C, K, K)).astype(np.float32)
        args = ((s, s), (p, p), (1, 1), 1)
        chosen = conv.choose_path(w.shape, *args)
        y, _ = conv.conv2d_forward(x, w, None, *args)
        g = rng.standard_normal(y.shape).astype(np.float32)
        for path in applicable(C, K, s, p):
            repeat = 3 if N * C * H * H * O > 1e8 else 10
            # the lambdas run at once, inside this iteration (B023 guards against later calls)
            f = best(lambda: conv.conv2d_forward(x, w, None, *args, path), repeat)  # noqa: B023
            b = best(lambda: conv.conv2d_backward(g, x, w, x.shape, *args, path,  # noqa: B023
                                                  need_gx=C > 3), repeat)  # noqa: B023
            mark = "*" if path == chosen else ""
            print(f"{name:20} {path:11} {mark:1} {f:8.2f} {b:8.2f}")


if __name__ == "__main__":
    main()
