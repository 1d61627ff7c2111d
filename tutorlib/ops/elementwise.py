"""Elementwise primitives: each forward with its backward right beside it.

Binary ops broadcast like numpy; their backward returns broadcast-shaped gradients and
the engine sums them back to each input's shape.
"""
from __future__ import annotations

import numpy as np

from ..kernels import reference
from ..kernels.activation import relu, relu_backward
from .core import Op


def _broadcast_error(name, a, b):
    return ValueError(f"{name}: shapes {np.shape(a)} and {np.shape(b)} cannot be broadcast together")


class Binary(Op):
    """Base for binary elementwise ops: turns numpy's broadcast error into a clear one."""

    def forward(self, a, b):
        try:
            return self.compute(a, b)
        except ValueError as e:
            if "broadcast" in str(e):
                raise _broadcast_error(self.name, a, b) from None
            raise


class Add(Binary):
    """z = a + b;  dz/da = 1, dz/db = 1."""

    def compute(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Binary):
    """z = a - b;  dz/da = 1, dz/db = -1."""

    def compute(self, a, b):
        return a - b

    def backward(self, g):
        return g, -g


class Mul(Binary):
    """z = a * b;  dz/da = b, dz/db = a."""

    def compute(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        return g * self.b, g * self.a


class Div(Binary):
    """z = a / b;  dz/da = 1/b, dz/db = -a/b² = -z/b."""

    def compute(self, a, b):
        self.b = b
        self.z = np.true_divide(a, b)
        return self.z

    def backward(self, g):
        ga = g / self.b
        return ga, -ga * self.z


class Pow(Binary):
    """z = a ** b;  dz/da = b·a^(b-1), dz/db = z·ln(a) (only where a > 0)."""

    def compute(self, a, b):
        self.a, self.b = a, b
        if isinstance(b, int) and b < 0 and np.issubdtype(np.asarray(a).dtype, np.integer):
            a = np.asarray(a, dtype=np.float32)
        self.z = np.power(a, b)
        return self.z

    def backward(self, g):
        a, b, z = self.a, self.b, self.z
        ga = g * b * np.power(a, np.subtract(b, 1)) if not np.isscalar(b) or b != 0 else None
        if np.isscalar(b):
            return ga, None
        with np.errstate(divide="ignore", invalid="ignore"):
            gb = g * z * np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
        return ga, gb


class Maximum(Binary):
    """z = max(a, b); the gradient goes to the larger input (split evenly on ties)."""

    def compute(self, a, b):
        self.a, self.b = a, b
        return np.maximum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        wa = (a > b) + 0.5 * (a == b)
        return g * wa, g * (1 - wa)


class Minimum(Binary):
    """z = min(a, b); the gradient goes to the smaller input (split evenly on ties)."""

    def compute(self, a, b):
        self.a, self.b = a, b
        return np.minimum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        wa = (a < b) + 0.5 * (a == b)
        return g * wa, g * (1 - wa)


class Neg(Op):
    """y = -x;  dy/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class Exp(Op):
    """y = eˣ;  dy/dx = y."""

    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, g):
        return (g * self.y,)


class Log(Op):
    """y = ln x;  dy/dx = 1/x."""

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, g):
        return (g / self.x,)


class Log1p(Op):
    """y = ln(1 + x);  dy/dx = 1/(1 + x)."""

    def forward(self, x):
        self.x = x
        return np.log1p(x)

    def backward(self, g):
        return (g / (1 + self.x),)


class Expm1(Op):
    """y = eˣ - 1;  dy/dx = eˣ."""

    def forward(self, x):
        self.x = x
        return np.expm1(x)

    def backward(self, g):
        return (g * np.exp(self.x),)


class Sqrt(Op):
    """y = √x;  dy/dx = 1/(2y)."""

    def forward(self, x):
        self.y = np.sqrt(x)
        return self.y

    def backward(self, g):
        return (g / (2 * self.y),)


class Abs(Op):
    """y = |x|;  dy/dx = sign(x)."""

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, g):
        return (g * np.sign(self.x),)


class Sin(Op):
    """y = sin x;  dy/dx = cos x."""

    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, g):
        return (g * np.cos(self.x),)


class Cos(Op):
    """y = cos x;  dy/dx = -sin x."""

    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, g):
        return (-g * np.sin(self.x),)


class Tanh(Op):
    """y = tanh x;  dy/dx = 1 - y²."""

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, g):
        return (g * (1 - self.y * self.y),)


class Sigmoid(Op):
    """y = 1 / (1 + e⁻ˣ), computed without overflow;  dy/dx = y(1 - y)."""

    def forward(self, x):
        e = np.exp(-np.abs(x))
        self.y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.y

    def backward(self, g):
        return (g * self.y * (1 - self.y),)


class Relu(Op):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0 (equivalently: where y > 0).

    Backward reads the output it already has instead of keeping a separate mask. Outside
    ``tutorlib.kernels.use_reference()`` both run as one-pass kernels (``kernels/activation.py``):
    the maximum as a vectorised loop, the product in one pass over memory instead of numpy's two
    (build the mask, then multiply)."""

    def forward(self, x):
        self.y = np.maximum(x, 0) if reference.enabled() else relu(x)
        return self.y

    def backward(self, g):
        if reference.enabled():
            return (g * (self.y > 0),)
        return (relu_backward(g, self.y),)


class LeakyRelu(Op):
    """y = x if x > 0 else slope·x;  dy/dx = 1 or slope."""

    def __init__(self, negative_slope: float = 0.01):
        self.slope = negative_slope

    def forward(self, x):
        self.mask = x > 0
        return np.where(self.mask, x, x * self.slope)

    def backward(self, g):
        return (np.where(self.mask, g, g * self.slope),)


class Softplus(Op):
    """y = ln(1 + eˣ), stable for large |x|;  dy/dx = sigmoid(x)."""

    def forward(self, x):
        self.x = x
        return np.logaddexp(x, 0).astype(x.dtype, copy=False)

    def backward(self, g):
        return (g * Sigmoid().forward(self.x),)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise (Numerical Recipes' ``erfc`` fit, relative error < 1.2e-7).

    >>> round(float(erf(np.array(0.5))), 6)
    0.5205
    """
    x64 = np.asarray(x, dtype=np.float64)
    s = np.sign(x64)
    a = np.abs(x64)
    t = 1.0 / (1.0 + 0.5 * a)
    y = 1 - t * np.exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (
        0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (
            1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
    return (s * y).astype(np.result_type(np.asarray(x).dtype, np.float32), copy=False)


class Gelu(Op):
    """y = x·Φ(x) (exact GELU, Φ the normal CDF);  dy/dx = Φ(x) + x·φ(x)."""

    def forward(self, x):
        self.x = x
        self.cdf = 0.5 * (1 + erf(x * np.float32(1 / np.sqrt(2))))
        return x * self.cdf

    def backward(self, g):
        pdf = np.exp(-0.5 * self.x * self.x) * np.float32(1 / np.sqrt(2 * np.pi))
        return (g * (self.cdf + self.x * pdf),)


class Silu(Op):
    """y = x·sigmoid(x);  dy/dx = s + x·s(1 - s)."""

    def forward(self, x):
        self.x = x
        self.s = Sigmoid().forward(x)
        return x * self.s

    def backward(self, g):
        s = self.s
        return (g * (s + self.x * s * (1 - s)),)


class Clip(Op):
    """y = min(max(x, lower), upper);  dy/dx = 1 inside the range, 0 outside."""

    def __init__(self, lower=None, upper=None):
        self.lower, self.upper = lower, upper

    def forward(self, x):
        self.x = x
        return np.clip(x, self.lower, self.upper)

    def backward(self, g):
        inside = np.ones(self.x.shape, dtype=bool)
        if self.lower is not None:
            inside &= self.x >= self.lower
        if self.upper is not None:
            inside &= self.x <= self.upper
        return (g * inside,)


class Where(Op):
    """z = x where mask else y; the gradient is routed by the same mask."""

    def forward(self, mask, x, y):
        self.mask = np.asarray(mask, dtype=bool)
        try:
            return np.where(self.mask, x, y)
        except ValueError:
            raise ValueError(f"where: shapes of mask {np.shape(mask)}, x {np.shape(x)} and "
                             f"y {np.shape(y)} cannot be broadcast together") from None

    def backward(self, g):
        return None, np.where(self.mask, g, 0), np.where(self.mask, 0, g)


class Cast(Op):
    """y = x cast to a dtype; between float dtypes the gradient is cast back, else there is none
    (a cast to integers is piecewise constant)."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        if not (np.issubdtype(self.src, np.floating) and np.issubdtype(self.dtype, np.floating)):
            return (None,)
        return (g.astype(self.src),)


class Copy(Op):
    """y = x (a new buffer);  dy/dx = 1."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)
