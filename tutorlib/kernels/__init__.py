"""Fast CPU kernels: plain float32 numpy arrays in, arrays out (no Tensor, no autodiff).

One concept per module: ``im2col`` (patch gather/scatter), ``conv`` (im2col + GEMM convolution),
``pool`` (max/average/adaptive pooling), ``norm`` (batch normalisation), ``softmax`` (fused
softmax cross-entropy). The autodiff wrappers live in ``tutorlib/ops/nn.py``.

numba functions are compiled lazily on first call and cached on disk (``cache=True``), so
importing this package never triggers a compilation.
"""
