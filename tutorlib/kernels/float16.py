"""Rounding float32 to the nearest float16 value in one pass (the emulated MLU's float16 arithmetic).

``a.astype(np.float16).astype(np.float32)`` does the same in two passes through numpy's
software conversion, about 5 ns an element here: on the MLU every op rounds its inputs and its
output, which made that conversion most of an emulated training step. This loop works on the
bits of the float32 value instead (round to nearest, ties to even, as IEEE 754 and numpy do):

* normal float16 range (2^-14 <= |x| < 65520): keep the 10 high fraction bits of the 23, rounding
  on the 13 dropped ones;
* below 2^-14 (float16 subnormals): float16's step is 2^-24 there; ``(|x| + 0.5) - 0.5`` rounds
  to a multiple of it, since float32's step between 0.5 and 1 is exactly 2^-24;
* |x| >= 65520 becomes ±inf (65504 is float16's largest value); inf and NaN stay.

``tests/test_kernels_float16.py`` compares it with numpy's conversion bit for bit.
"""
import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _round_flat(x, bits, out, out_bits):
    # Conditional expressions, no branches: ReLU outputs mix zeros (the subnormal case) and
    # normal values at random, and a branch per element mispredicts half the time (40x slower).
    for i in range(x.size):
        u = np.int64(bits[i])
        a = u & 0x7FFFFFFF
        r = (a + 0xFFF + ((a >> 13) & 1)) & 0x7FFFE000      # normal: 10 fraction bits, ties to even
        r = 0x7F800000 if a >= 0x477FF000 else r            # rounds beyond 65504: inf
        r = a if a >= 0x7F800000 else r                     # inf and NaN stay
        out_bits[i] = np.uint32((u & 0x80000000) | r)
    for i in range(x.size):                                 # float16 subnormals: k * 2^-24
        v = abs(x[i])
        r = (v + np.float32(0.5)) - np.float32(0.5)
        r = -r if bits[i] & 0x80000000 else r
        out[i] = r if v < np.float32(2.0 ** -14) else out[i]


def round_to_float16(x: np.ndarray) -> np.ndarray:
    """float32 ``x`` rounded to the nearest float16 value, returned as a new float32 array.

    >>> round_to_float16(np.array([0.1, 1.0001, 70000.0, -1e-8], np.float32))
    array([ 0.09997559,  1.        ,         inf, -0.        ], dtype=float32)
    """
    if x.dtype != np.float32:
        raise TypeError(f"round_to_float16: expected a float32 array, got {x.dtype}")
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty(flat.size, np.float32)
    _round_flat(flat, flat.view(np.uint32), out, out.view(np.uint32))
    return out.reshape(x.shape)
