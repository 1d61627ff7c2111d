"""Keep freed memory in the process, so big arrays are not page-faulted in again every step.

A training step allocates and frees the same big arrays (activations, gradients) every step.
glibc's ``malloc`` serves blocks of 32 MB or more (a ResNet-20 activation at batch 128 is
exactly 32 MB) with a fresh ``mmap`` and returns them to the kernel on ``free``; smaller freed
blocks at the top of the heap are also given back once more than 128 KB-32 MB is free. The
next step then touches every page again: the kernel zeroes and maps it, one page fault per
4 KB, and a pass that should be limited by memory bandwidth is limited by page faults instead
(figures in ``benchmarks/README.md``, "Measurements behind the code").

``keep_freed_memory`` raises glibc's mmap and trim thresholds (``mallopt``) so that big blocks
come from the heap and stay there once freed: the next step reuses them without faults. This is
what a caching allocator does (PyTorch's on GPUs); peak memory is unchanged, but memory freed
by the process is kept by it rather than returned to the system, and that applies to the whole
process, not only to tutorlib's arrays. So ``import tutorlib`` does not do it: a training
script that wants it asks once, before its first step (Linux with glibc only; elsewhere it is a
no-op that returns False)::

    import tutorlib as tl
    tl.keep_freed_memory()

It matters for big batches of big images (ResNet-20 at batch 128); the small models of the first
chapters allocate no 32 MB blocks. ``benchmarks/train_step.py`` calls it for tutorlib.
"""
import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3   # mallopt parameters, from glibc's <malloc.h>
THRESHOLD = 1 << 30  # 1 GiB: blocks below this come from the heap, which shrinks only past it


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory (see the module docstring); True if it agreed.

    >>> isinstance(keep_freed_memory(), bool)
    True
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD) and mallopt(M_TRIM_THRESHOLD, THRESHOLD))
