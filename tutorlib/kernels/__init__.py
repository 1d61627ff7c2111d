"""Fast CPU kernels: plain float32 numpy arrays in, arrays out (no Tensor, no autodiff).

One concept per module: ``conv`` (convolution: picks an algorithm per shape), with the
algorithms' loops in ``im2col`` (patch gather/scatter, channels-last and channels-first) and
``rowshift`` (kernel-width taps and shifted sums); ``pool``
(max/average/adaptive pooling), ``norm`` (batch normalisation), ``softmax`` (fused softmax
cross-entropy), ``activation`` (one-pass ReLU backward), ``float16`` (one-pass rounding to
float16, the emulated MLU's arithmetic); ``blas`` (how GEMMs use the threads)
and ``memory`` (keeping freed memory for the next step). The autodiff wrappers live in
``tutorlib/ops/nn.py`` and ``tutorlib/ops/elementwise.py``.

numba functions are compiled lazily on first call and cached on disk (``cache=True``), so
importing this package never triggers a compilation.

Threads (``blas.py``): the numba loops are serial (``parallel=False``): with numba's OpenMP
layer, its thread pool and OpenBLAS's spin-wait against each other (many times slower
steps: see "Measurements behind the code" in ``benchmarks/README.md``), and serial loops keep the kernels fork-safe (GNU OpenMP is not). Parallelism comes from two places
instead: a small GEMM (``linear``, small convolutions) runs on 1 OpenBLAS thread, because a
threaded one costs more in hand-off than it saves and is very slow on a busy machine; a big
convolution splits its batch into chunks that run on Python threads (as many as OpenBLAS's
configured count), each doing its own im2col, single-threaded GEMM and layout copies -- the
loops release the GIL, and no thread pool is left spinning between the GEMMs and the loops.

``reference`` holds the same ops as plain, commented loops (the tests check every fast path
against them); ``use_reference()`` runs a whole model on them, for reading and debugging.
"""
from .reference import use_reference

__all__ = ["use_reference"]
