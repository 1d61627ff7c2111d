"""Fast CPU kernels: plain float32 numpy arrays in, arrays out (no Tensor, no autodiff).

One concept per module: ``im2col`` (patch gather/scatter), ``conv`` (im2col + GEMM convolution),
``pool`` (max/average/adaptive pooling), ``norm`` (batch normalisation), ``softmax`` (fused
softmax cross-entropy). The autodiff wrappers live in ``tutorlib/ops/nn.py``.

numba functions are compiled lazily on first call and cached on disk (``cache=True``), so
importing this package never triggers a compilation.

Threads: the only parallelism is OpenBLAS's, inside the GEMMs (conv, linear), which is where the
arithmetic is. The numba loops are deliberately serial (``parallel=False``). A training step
alternates GEMMs and these loops hundreds of times, and with numba's default OpenMP layer the two
thread pools spin-wait against each other: measured on a 2-core machine, a ResNet-20 step took
18 s with ``parallel=True`` kernels against 2.0 s serial (2.2 s with ``OMP_WAIT_POLICY=PASSIVE``,
1.7 s with ``NUMBA_THREADING_LAYER=workqueue``), and a conv forward pass alternating a parallel
im2col with the GEMM was 3x slower than its parts even on an idle machine. Serial loops also
keep the kernels fork-safe (GNU OpenMP is not).
"""
