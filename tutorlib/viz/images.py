"""Show a grid of images (HWC or CHW, grayscale or colour) with optional titles.

>>> import numpy as np
>>> fig = show_images(np.zeros((4, 28, 28, 1), dtype=np.uint8), titles=["a", "b", "c", "d"])
>>> len(fig.axes)
4
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def _to_hwc(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
        img = img.transpose(1, 2, 0)          # CHW -> HWC
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    return img


def show_images(images, titles=None, ncols: int = 8, cmap: str = "gray", scale: float = 1.3,
                bgr: bool = False):
    """Plot ``images`` in a grid and return the Figure.

    Args:
        images: a sequence or array of images, each HWC or CHW, uint8 or float.
        titles: optional list of strings, one per image.
        ncols: images per row.
        bgr: set True for BGR colour images (as MegEngine's CIFAR10 returns) to show them in RGB.
    """
    images = list(images)
    n = len(images)
    ncols = min(ncols, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows + 0.3 * (titles is not None)),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            fig.delaxes(ax)
            continue
        img = _to_hwc(images[k])
        if bgr and img.ndim == 3:
            img = img[..., ::-1]
        if img.dtype != np.uint8 and img.ndim == 3:
            lo, hi = float(img.min()), float(img.max())
            img = (img - lo) / (hi - lo + 1e-12)
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None)
        if titles is not None:
            ax.set_title(str(titles[k]), fontsize=9)
    fig.tight_layout()
    return fig
