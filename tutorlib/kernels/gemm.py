"""One float32 matrix multiply, callable from inside numba code: ``sgemm(A, B, C, beta, ta, tb)``,
and ``sgemm_strided``, the same on matrices that start anywhere in an array with any row stride.

numba cannot call numpy's ``@`` from a compiled loop, but it can call a C function by name. numpy
ships its own OpenBLAS; this module loads that library into numba's linker (found with
``threadpoolctl``, which also knows its symbol prefix) and declares its CBLAS ``sgemm``, so a
numba loop over images can run one single-threaded GEMM per image on each of its threads without
ever holding Python's GIL (``conv_images.py``). Compiled functions that use it are cached like the
other kernels: the call is linked by symbol name, not by address.

``AVAILABLE`` is False if numpy's BLAS is not an OpenBLAS with a known CBLAS symbol (an MKL or
Accelerate build); callers then use numpy's ``@`` instead.

>>> import numpy as np
>>> A, B = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
>>> C = np.zeros((2, 4), np.float32)
>>> if AVAILABLE: sgemm(A, B, C, 0.0, False, False)
... else: C[:] = A @ B
>>> C[0]
array([3., 3., 3., 3.], dtype=float32)

``sgemm_strided`` reads and writes rows ``ld`` floats apart, so one buffer can serve as several
overlapping matrices: the rows of a padded (C, Hp, Wp) image, read from offset ``kh*Wp + kw``
with stride ``Hp*Wp``, are the image shifted by one kernel tap (``conv_shift.py``).
"""
import numpy as np  # noqa: F401  (numpy must be loaded before its OpenBLAS is looked up)
from numba import njit, types

# CBLAS symbols of numpy's OpenBLAS builds, newest first: (name, integers are 64-bit)
_SYMBOLS = (("scipy_cblas_sgemm64_", True), ("cblas_sgemm64_", True), ("cblas_sgemm", False))
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _declare():
    """numba's declaration of numpy's CBLAS sgemm, or None if there is none to be found."""
    import llvmlite.binding as llvm
    from threadpoolctl import threadpool_info

    for lib in threadpool_info():
        if lib.get("internal_api") != "openblas" or lib.get("user_api") != "blas":
            continue
        llvm.load_library_permanently(lib["filepath"])
        for name, ilp64 in _SYMBOLS:
            if llvm.address_of_symbol(name):
                i = types.int64 if ilp64 else types.int32
                return types.ExternalFunction(name, types.void(
                    types.int32, types.int32, types.int32, i, i, i, types.float32, types.voidptr,
                    i, types.voidptr, i, types.float32, types.voidptr, i))
    return None


_cblas_sgemm = _declare()
AVAILABLE = _cblas_sgemm is not None

if AVAILABLE:
    @njit(cache=True, nogil=True)
    def sgemm_strided(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc):
        """C = op(A) @ op(B) + beta * C for an (M, N) result, where each matrix starts at the
        first element of its float32 array (a view such as ``buf[offset:]``) and its rows are
        ``ld`` floats apart: A is (M, K) (stored (K, M) if ``ta``), B is (K, N) (stored (N, K) if
        ``tb``). The caller makes sure every row it names lies inside its array.
        """
        sgemm_call = _cblas_sgemm
        sgemm_call(_ROW_MAJOR, _TRANS if ta else _NO_TRANS, _TRANS if tb else _NO_TRANS, M, N, K,
                   1.0, A.ctypes, lda, B.ctypes, ldb, beta, C.ctypes, ldc)

    @njit(cache=True, nogil=True)
    def sgemm(A, B, C, beta, ta, tb):
        """C = op(A) @ op(B) + beta * C, op(X) = X.T if its flag is set; C-contiguous 2-D
        float32 arrays. Runs on the calling thread (OpenBLAS's own threads set to 1 by the caller).
        """
        M, N = C.shape
        K = A.shape[0] if ta else A.shape[1]
        sgemm_strided(ta, tb, M, N, K, A, A.shape[1], B, B.shape[1], beta, C, N)
