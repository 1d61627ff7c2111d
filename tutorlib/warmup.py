"""Compile every kernel once, so that numba's on-disk cache is full before the first lesson.

    python -m tutorlib.warmup        # run by `make lab` / `make test` after installing

numba compiles a kernel the first time it is called with a new combination of argument types
and caches the machine code on disk (``cache=True``); later processes load it in milliseconds.
Without this warm-up, the first training step ever would pay for all of it (seconds, not
milliseconds: ``benchmarks/train_step.py`` measures the cold start). The warm-up trains one step of a tiny network through the public
API that touches every op with a kernel and every convolution path, so the argument types are
exactly those a real model produces.

>>> isinstance(warm_up(), float)
True
"""
import sys
import time

import numpy as np


def warm_up() -> float:
    """Run every kernel once (forward and backward, every conv path); return the seconds taken."""
    import tutorlib as tl
    import tutorlib.functional as F
    from tutorlib.autodiff import GradManager
    from tutorlib.kernels import conv, integer

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    for path in conv.PATHS:  # every algorithm, called as the Conv2d op calls it
        if path == "shift_gemm" and not conv.PARALLEL_IMAGES:
            continue  # needs numba to call numpy's BLAS
        c_in, k = (1 if path == "im2col_chw" else 4), (1 if path == "pointwise" else 3)
        stride, groups = (2 if path == "im2col_rows" else 1), (2 if path == "im2col" else 1)
        x = rng.standard_normal((2, c_in, 8, 8)).astype(np.float32)
        w = rng.standard_normal((4, c_in // groups, k, k)).astype(np.float32)
        attrs = ((stride, stride), (k // 2, k // 2), (1, 1), groups)
        y, saved = conv.conv2d_forward(x, w, np.zeros(4, np.float32), *attrs, path)
        conv.conv2d_backward(np.ones_like(y), saved, w, x.shape, *attrs, path)

    for dt in (np.int8, np.int16):  # integer inference (quantized modules, fixed point)
        q = rng.integers(-100, 100, (2, 4, 6, 6)).astype(dt)
        integer.conv2d(q, np.ascontiguousarray(q[:, :, :3, :3]), padding=1)
        integer.linear(q.reshape(2, -1), q.reshape(2, -1))

    # one step of a small CNN through the public API: the other kernels, with real op arguments
    x = tl.Tensor(rng.standard_normal((2, 1, 8, 8)).astype(np.float32))
    w = tl.Parameter(rng.standard_normal((4, 1, 3, 3)).astype(np.float32))
    with GradManager().attach([w]) as gm:
        y = F.relu(F.nn.batch_norm(F.conv2d(x, w, padding=1), training=True))
        pooled = (F.nn.max_pool2d(y, 2), F.nn.max_pool2d(y, 4), F.nn.max_pool2d(y, 3, 1, 1),
                  F.nn.avg_pool2d(y, 2),
                  F.nn.adaptive_avg_pool2d(y, 1))
        logits = F.concat([F.flatten(p, 1).mean(axis=1, keepdims=True) for p in pooled], axis=1)
        gm.backward(F.nn.cross_entropy(logits, tl.Tensor(np.array([0, 3], np.int32))))
    return time.perf_counter() - start


if __name__ == "__main__":
    seconds = warm_up()
    print(f"tutorlib kernels compiled and cached in {seconds:.1f} s", file=sys.stderr)
