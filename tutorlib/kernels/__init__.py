"""Fast CPU kernels: plain float32 numpy arrays in, arrays out (no Tensor, no autodiff).

One concept per module: ``conv`` (convolution: picks an algorithm per shape), with the
algorithms' loops in ``im2col`` (patch gather/scatter, channels-last and channels-first),
``rowshift`` (kernel-width taps and shifted sums), ``conv_images`` (channels-first patches as
one parallel loop over images) and ``conv_shift`` (one GEMM per kernel tap, parallel likewise);
``gemm`` (numpy's BLAS matrix multiply, callable from numba code); ``pool``
(max/average/adaptive pooling), ``norm`` (batch normalisation), ``softmax`` (fused softmax
cross-entropy), ``activation`` (ReLU in one pass), ``float16`` (one-pass rounding to float16,
the emulated MLU's arithmetic); ``blas`` (how GEMMs use the threads) and ``memory`` (keeping freed memory for the next step). The autodiff wrappers live in
``tutorlib/ops/nn.py`` and ``tutorlib/ops/elementwise.py``.

numba functions are compiled lazily on first call and cached on disk (``cache=True``), so
importing this package never triggers a compilation.

Threads (``blas.py``): the thread budget is OpenBLAS's configured count. A small GEMM
(``linear``, small convolutions) runs on 1 OpenBLAS thread, because a threaded one costs more in
hand-off than it saves and is very slow on a busy machine. A big convolution (most of a
CNN's time) is one numba ``parallel=True`` loop over images (``conv_images``, ``conv_shift``) with
OpenBLAS set to 1 thread around it, so numba's threads never run next to a spinning OpenBLAS
pool (which once made a ResNet-20 step 9x slower: ``benchmarks/README.md``). The other
convolution paths split their batch into chunks on Python threads, each doing its own im2col,
single-threaded GEMM and layout copies (the loops release the GIL). Every other loop is serial.
Since numba's threads are OpenMP's, a process must not ``fork`` after a convolution and then
use them: tutorlib's own worker processes are spawned (``data/_workers.py``).

``reference`` holds the same ops as plain, commented loops (the tests check every fast path
against them); ``use_reference()`` runs a whole model on them, for reading and debugging.
"""
from .reference import use_reference

__all__ = ["use_reference"]
