"""Elementwise functions (``F.add``, ``F.exp``, ``F.relu``, comparisons, ...).

Each differentiable function applies one primitive op from :mod:`tutorlib.ops.elementwise`.
Comparisons and logical functions return ``bool`` tensors and are not differentiable.

>>> import tutorlib.functional as F
>>> from tutorlib import Tensor
>>> F.add(Tensor([1.0, 2.0]), 3)
Tensor([4. 5.], device=cpu0)
>>> F.maximum(Tensor([1, 5]), Tensor([3, 2]))
Tensor([3 5], dtype=int32, device=cpu0)
"""
from __future__ import annotations

import numpy as np

from ..device import CPU
from ..dtype import canonical
from ..ops import elementwise as ew
from ..ops.core import apply
from ..tensor import Tensor

__all__ = [
    "add", "sub", "mul", "div", "floor_div", "mod", "pow", "neg", "abs", "exp", "expm1", "log",
    "log1p", "sqrt", "square", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "leaky_relu",
    "gelu", "silu", "softplus", "maximum", "minimum", "clip", "where", "round", "floor", "ceil",
    "sign", "erf", "logaddexp", "equal", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf",
]


def add(x, y) -> Tensor:
    """x + y, broadcasting.

    >>> add(Tensor([[1.0], [2.0]]), Tensor([10.0, 20.0]))
    Tensor([[11. 21.]
     [12. 22.]], device=cpu0)
    """
    return apply(ew.Add(), x, y)


def sub(x, y) -> Tensor:
    """x - y, broadcasting.

    >>> sub(Tensor([3.0, 5.0]), 1)
    Tensor([2. 4.], device=cpu0)
    """
    return apply(ew.Sub(), x, y)


def mul(x, y) -> Tensor:
    """x * y, broadcasting.

    >>> mul(Tensor([1.0, 2.0]), Tensor([[1.0], [3.0]]))
    Tensor([[1. 2.]
     [3. 6.]], device=cpu0)
    """
    return apply(ew.Mul(), x, y)


def div(x, y) -> Tensor:
    """x / y (true division: integers give float32).

    >>> div(Tensor([1, 2]), 2)
    Tensor([0.5 1. ], device=cpu0)
    """
    return apply(ew.Div(), x, y)


def pow(x, y) -> Tensor:
    """x ** y.

    >>> pow(Tensor([2.0, 3.0]), 2)
    Tensor([4. 9.], device=cpu0)
    """
    return apply(ew.Pow(), x, y)


def maximum(x, y) -> Tensor:
    """Elementwise maximum.

    >>> maximum(Tensor([1.0, 5.0]), 3.0)
    Tensor([3. 5.], device=cpu0)
    """
    return apply(ew.Maximum(), x, y)


def minimum(x, y) -> Tensor:
    """Elementwise minimum.

    >>> minimum(Tensor([1.0, 5.0]), 3.0)
    Tensor([1. 3.], device=cpu0)
    """
    return apply(ew.Minimum(), x, y)


def neg(x) -> Tensor:
    """-x.

    >>> neg(Tensor([1.0, -2.0]))
    Tensor([-1.  2.], device=cpu0)
    """
    return apply(ew.Neg(), x)


def abs(x) -> Tensor:
    """|x|.

    >>> abs(Tensor([-1.5, 2.0]))
    Tensor([1.5 2. ], device=cpu0)
    """
    return apply(ew.Abs(), x)


def exp(x) -> Tensor:
    """eˣ.

    >>> exp(Tensor([0.0, 1.0]))
    Tensor([1.     2.7183], device=cpu0)
    """
    return apply(ew.Exp(), x)


def expm1(x) -> Tensor:
    """eˣ - 1, accurate near 0.

    >>> expm1(Tensor([0.0, 1.0]))
    Tensor([0.     1.7183], device=cpu0)
    """
    return apply(ew.Expm1(), x)


def log(x) -> Tensor:
    """Natural logarithm.

    >>> log(Tensor([1.0, 2.7182817]))
    Tensor([0. 1.], device=cpu0)
    """
    return apply(ew.Log(), x)


def log1p(x) -> Tensor:
    """ln(1 + x), accurate near 0.

    >>> log1p(Tensor([0.0, 1.0]))
    Tensor([0.     0.6931], device=cpu0)
    """
    return apply(ew.Log1p(), x)


def sqrt(x) -> Tensor:
    """Square root.

    >>> sqrt(Tensor([4.0, 9.0]))
    Tensor([2. 3.], device=cpu0)
    """
    return apply(ew.Sqrt(), x)


def square(x) -> Tensor:
    """x².

    >>> square(Tensor([-3.0, 2.0]))
    Tensor([9. 4.], device=cpu0)
    """
    return apply(ew.Mul(), x, x)


def sin(x) -> Tensor:
    """Sine.

    >>> sin(Tensor([0.0, 1.5707964]))
    Tensor([0. 1.], device=cpu0)
    """
    return apply(ew.Sin(), x)


def cos(x) -> Tensor:
    """Cosine.

    >>> cos(Tensor([0.0, 3.1415927]))
    Tensor([ 1. -1.], device=cpu0)
    """
    return apply(ew.Cos(), x)


def tan(x) -> Tensor:
    """Tangent (sin / cos).

    >>> tan(Tensor([0.0, 0.7853982]))
    Tensor([0. 1.], device=cpu0)
    """
    return div(sin(x), cos(x))


def tanh(x) -> Tensor:
    """Hyperbolic tangent (``F.tanh``; MegEngine has no ``F.nn.tanh``).

    >>> tanh(Tensor([0.0, 1.0]))
    Tensor([0.     0.7616], device=cpu0)
    """
    return apply(ew.Tanh(), x)


def sigmoid(x) -> Tensor:
    """1 / (1 + e⁻ˣ), without overflow for large |x|.

    >>> sigmoid(Tensor([0.0, 100.0, -100.0]))
    Tensor([0.5 1.  0. ], device=cpu0)
    """
    return apply(ew.Sigmoid(), x)


def relu(x) -> Tensor:
    """max(x, 0).

    >>> relu(Tensor([-1.0, 0.0, 2.0]))
    Tensor([0. 0. 2.], device=cpu0)
    """
    return apply(ew.Relu(), x)


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else ``negative_slope``·x.

    >>> leaky_relu(Tensor([-2.0, 3.0]), 0.1)
    Tensor([-0.2  3. ], device=cpu0)
    """
    return apply(ew.LeakyRelu(negative_slope), x)


def gelu(x) -> Tensor:
    """Exact GELU: x·Φ(x) with Φ the standard normal CDF.

    >>> gelu(Tensor([0.0, 1.0]))
    Tensor([0.     0.8413], device=cpu0)
    """
    return apply(ew.Gelu(), x)


def silu(x) -> Tensor:
    """x·sigmoid(x) (also called swish).

    >>> silu(Tensor([0.0, 1.0]))
    Tensor([0.     0.7311], device=cpu0)
    """
    return apply(ew.Silu(), x)


def softplus(x) -> Tensor:
    """ln(1 + eˣ), computed stably.

    >>> softplus(Tensor([0.0, 100.0]))
    Tensor([  0.6931 100.    ], device=cpu0)
    """
    return apply(ew.Softplus(), x)


def logaddexp(x, y) -> Tensor:
    """ln(eˣ + eʸ), computed stably as max + log1p(exp(-|x - y|)).

    >>> logaddexp(Tensor([0.0, 1000.0]), Tensor([0.0, 1000.0]))
    Tensor([   0.6931 1000.6932], device=cpu0)
    """
    m = maximum(x, y)
    return add(m, log1p(exp(neg(abs(sub(x, y))))))


def clip(x, lower=None, upper=None) -> Tensor:
    """Limit values to ``[lower, upper]`` (at least one bound is required).

    >>> clip(Tensor([-2.0, 0.5, 3.0]), 0, 1)
    Tensor([0.  0.5 1. ], device=cpu0)
    """
    if lower is None and upper is None:
        raise ValueError("clip: give at least one of lower and upper")
    return apply(ew.Clip(lower, upper), x)


def where(mask, x, y) -> Tensor:
    """Pick ``x`` where ``mask`` is true, else ``y``.

    >>> where(Tensor([True, False]), Tensor([1.0, 2.0]), Tensor([9.0, 9.0]))
    Tensor([1. 9.], device=cpu0)
    """
    return apply(ew.Where(), mask, x, y)


def _constant_op(fn, x, dtype=None) -> Tensor:
    """Apply a non-differentiable numpy function (rounding, comparisons, logic)."""
    data = x._data if isinstance(x, Tensor) else np.asarray(x)
    device = x.device if isinstance(x, Tensor) else None
    out = np.asarray(fn(data))
    return Tensor._wrap(out if dtype is None else out.astype(dtype), device or CPU)


def _binary_constant(fn, name, x, y) -> Tensor:
    a, b = (v._data if isinstance(v, Tensor) else
            v if isinstance(v, (bool, int, float)) else canonical(np.asarray(v), name) for v in (x, y))
    device = x.device if isinstance(x, Tensor) else (y.device if isinstance(y, Tensor) else CPU)
    try:
        return Tensor._wrap(np.asarray(fn(a, b)), device)
    except ValueError:
        raise ValueError(f"{name}: shapes {np.shape(a)} and {np.shape(b)} cannot be broadcast "
                         f"together") from None


def round(x) -> Tensor:
    """Round to the nearest integer (halves to even); no gradient.

    >>> round(Tensor([0.5, 1.5, 2.7]))
    Tensor([0. 2. 3.], device=cpu0)
    """
    return _constant_op(np.round, x)


def floor(x) -> Tensor:
    """Round down; no gradient.

    >>> floor(Tensor([-1.5, 1.5]))
    Tensor([-2.  1.], device=cpu0)
    """
    return _constant_op(np.floor, x)


def ceil(x) -> Tensor:
    """Round up; no gradient.

    >>> ceil(Tensor([-1.5, 1.5]))
    Tensor([-1.  2.], device=cpu0)
    """
    return _constant_op(np.ceil, x)


def sign(x) -> Tensor:
    """-1, 0 or 1; no gradient.

    >>> sign(Tensor([-2.0, 0.0, 3.0]))
    Tensor([-1.  0.  1.], device=cpu0)
    """
    return _constant_op(np.sign, x)


def erf(x) -> Tensor:
    """The error function (no gradient; ``gelu`` has its own).

    >>> erf(Tensor([0.0, 1.0]))
    Tensor([-0.      0.8427], device=cpu0)
    """
    return _constant_op(ew.erf, x)


def floor_div(x, y) -> Tensor:
    """x // y; no gradient.

    >>> floor_div(Tensor([7, -7]), 2)
    Tensor([ 3 -4], dtype=int32, device=cpu0)
    """
    return _binary_constant(np.floor_divide, "floor_div", x, y)


def mod(x, y) -> Tensor:
    """x % y; no gradient.

    >>> mod(Tensor([7, -7]), 3)
    Tensor([1 2], dtype=int32, device=cpu0)
    """
    return _binary_constant(np.mod, "mod", x, y)


def equal(x, y) -> Tensor:
    """x == y, as a bool tensor.

    >>> (Tensor([1, 2, 3]) == 2)
    Tensor([False  True False], dtype=bool, device=cpu0)
    """
    return _binary_constant(np.equal, "equal", x, y)


def not_equal(x, y) -> Tensor:
    """x != y, as a bool tensor.

    >>> not_equal(Tensor([1, 2]), 2)
    Tensor([ True False], dtype=bool, device=cpu0)
    """
    return _binary_constant(np.not_equal, "not_equal", x, y)


def less(x, y) -> Tensor:
    """x < y, as a bool tensor.

    >>> less(Tensor([1, 2]), 2)
    Tensor([ True False], dtype=bool, device=cpu0)
    """
    return _binary_constant(np.less, "less", x, y)


def less_equal(x, y) -> Tensor:
    """x <= y, as a bool tensor.

    >>> less_equal(Tensor([1, 2, 3]), 2)
    Tensor([ True  True False], dtype=bool, device=cpu0)
    """
    return _binary_constant(np.less_equal, "less_equal", x, y)


def greater(x, y) -> Tensor:
    """x > y, as a bool tensor.

    >>> greater(Tensor([1, 2, 3]), 2)
    Tensor([False False  True], dtype=bool, device=cpu0)
    """
    return _binary_constant(np.greater, "greater", x, y)


def greater_equal(x, y) -> Tensor:
    """x >= y, as a bool tensor.

    >>> greater_equal(Tensor([1, 2, 3]), 2)
    Tensor([False  True  True], dtype=bool, device=cpu0)
    """
    return _binary_constant(np.greater_equal, "greater_equal", x, y)


def logical_and(x, y) -> Tensor:
    """Elementwise AND of bool tensors.

    >>> logical_and(Tensor([True, True]), Tensor([True, False]))
    Tensor([ True False], dtype=bool, device=cpu0)
    """
    return _binary_constant(np.logical_and, "logical_and", x, y)


def logical_or(x, y) -> Tensor:
    """Elementwise OR of bool tensors.

    >>> logical_or(Tensor([True, False]), Tensor([False, False]))
    Tensor([ True False], dtype=bool, device=cpu0)
    """
    return _binary_constant(np.logical_or, "logical_or", x, y)


def logical_xor(x, y) -> Tensor:
    """Elementwise XOR of bool tensors.

    >>> logical_xor(Tensor([True, True]), Tensor([True, False]))
    Tensor([False  True], dtype=bool, device=cpu0)
    """
    return _binary_constant(np.logical_xor, "logical_xor", x, y)


def logical_not(x) -> Tensor:
    """Elementwise NOT of a bool tensor.

    >>> logical_not(Tensor([True, False]))
    Tensor([False  True], dtype=bool, device=cpu0)
    """
    return _constant_op(np.logical_not, x)


def isnan(x) -> Tensor:
    """True where x is NaN.

    >>> isnan(Tensor([1.0, float('nan')]))
    Tensor([False  True], dtype=bool, device=cpu0)
    """
    return _constant_op(np.isnan, x)


def isinf(x) -> Tensor:
    """True where x is ±inf.

    >>> isinf(Tensor([1.0, float('inf')]))
    Tensor([False  True], dtype=bool, device=cpu0)
    """
    return _constant_op(np.isinf, x)
