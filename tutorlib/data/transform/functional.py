"""The image operations behind the transforms, in plain numpy.

Each works on one HWC image or on a stack of them (N, H, W, C): only the last three axes are used.
"""
from __future__ import annotations

import numpy as np

#: BGR -> grey weights (ITU-R BT.601, as OpenCV's ``COLOR_BGR2GRAY``)
GRAY_WEIGHTS_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)


def pad_sizes(size) -> tuple[int, int, int, int]:
    """MegEngine's ``size`` forms as (top, bottom, left, right).

    An int pads all four sides, a pair (bottom, right), a 4-tuple is (top, bottom, left, right).

    >>> pad_sizes(2), pad_sizes((1, 3))
    ((2, 2, 2, 2), (0, 1, 0, 3))
    """
    if isinstance(size, (int, np.integer)):
        return (int(size),) * 4
    size = tuple(int(s) for s in size)
    if len(size) == 2:
        return (0, size[0], 0, size[1])
    if len(size) == 4:
        return size
    raise ValueError(f"pad size should be an int, (bottom, right) or (top, bottom, left, right), "
                     f"got {size}")


def pad(image, size, value=0):
    """Pad the H and W axes with ``value`` (a number, or one per channel).

    A float ``value`` makes the result float32 (MegEngine's rule); otherwise the dtype is kept.

    >>> pad(np.ones((2, 2, 1), np.uint8), 1)[..., 0]
    array([[0, 0, 0, 0],
           [0, 1, 1, 0],
           [0, 1, 1, 0],
           [0, 0, 0, 0]], dtype=uint8)
    """
    top, bottom, left, right = pad_sizes(size)
    h, w, c = image.shape[-3:]
    dtype = np.float32 if np.asarray(value).dtype.kind == "f" else image.dtype
    out = np.empty(image.shape[:-3] + (top + h + bottom, left + w + right, c), dtype)
    out[...] = value
    out[..., top:top + h, left:left + w, :] = image
    return out


def _linear_taps(n_out: int, n_in: int):
    """Source pixels and weights for bilinear resizing with pixel centres aligned (as OpenCV)."""
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0, n_in - 1)
    lo = np.floor(src).astype(np.intp)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (src - lo).astype(np.float32)


def resize(image, size, interpolation="linear"):
    """Resize to ``size = (height, width)``; ``interpolation`` is "linear" or "nearest".

    Integer images are rounded back to their dtype.

    >>> resize(np.array([[0, 100]], np.uint8)[..., None], (1, 4))[..., 0]
    array([[  0,  25,  75, 100]], dtype=uint8)
    """
    th, tw = size
    h, w = image.shape[-3:-1]
    if (th, tw) == (h, w):
        return image
    if interpolation == "nearest":
        rows = np.minimum(np.arange(th) * h // th, h - 1)
        cols = np.minimum(np.arange(tw) * w // tw, w - 1)
        return image[..., rows[:, None], cols, :]
    if interpolation != "linear":
        raise ValueError(f"interpolation should be 'linear' or 'nearest', got {interpolation!r}")
    y0, y1, fy = _linear_taps(th, h)
    x0, x1, fx = _linear_taps(tw, w)
    src = image.astype(np.promote_types(image.dtype, np.float32))
    fy, fx = fy[:, None, None], fx[:, None]
    rows = src[..., y0, :, :] * (1 - fy) + src[..., y1, :, :] * fy
    out = rows[..., x0, :] * (1 - fx) + rows[..., x1, :] * fx
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(image.dtype)
    return out.astype(image.dtype)


def to_gray(image):
    """Grey level of a BGR image as float32 with one channel (a 1-channel image is returned as is).

    >>> to_gray(np.array([[[255, 0, 0]]], np.uint8))   # pure blue
    array([[[29.07]]], dtype=float32)
    """
    if image.shape[-1] == 1:
        return image.astype(np.float32)
    return (image.astype(np.float32) @ GRAY_WEIGHTS_BGR)[..., None]


def hue_rotation(angle: float):
    """3x3 matrix rotating colours by ``angle`` radians around the grey axis (1, 1, 1).

    Grey stays grey, saturation and brightness are kept, and the hue turns: the numpy stand-in
    for OpenCV's HSV hue shift.

    >>> bool(np.allclose(hue_rotation(0.7) @ np.ones(3), np.ones(3)))
    True
    """
    k = np.full(3, 1 / np.sqrt(3))
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    rotation = np.cos(angle) * np.eye(3) + np.sin(angle) * cross
    return (rotation + (1 - np.cos(angle)) * np.outer(k, k)).astype(np.float32)
