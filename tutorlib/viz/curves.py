"""Plot training curves: one panel per metric, train and validation together.

>>> fig = plot_history({"train_loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.6, 0.4],
...                     "val_acc": [0.7, 0.8, 0.9]})
>>> [ax.get_title() for ax in fig.axes]
['loss', 'acc']
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator


def plot_history(history: dict, xlabel: str = "epoch", figsize_per_panel=(4.2, 3.0)):
    """Plot ``history`` (``{"train_loss": [...], "val_acc": [...], ...}``) and return the Figure.

    Keys are grouped by what follows the first underscore (``loss``, ``acc``, ...), so train and
    validation curves of the same metric share a panel.
    """
    panels: dict[str, list[str]] = {}
    for key in history:
        split, _, metric = key.partition("_")
        panels.setdefault(metric or split, []).append(key)
    fig, axes = plt.subplots(1, len(panels), figsize=(figsize_per_panel[0] * len(panels),
                                                      figsize_per_panel[1]), squeeze=False)
    for ax, (metric, keys) in zip(axes.flat, panels.items()):
        for key in keys:
            values = list(history[key])
            ax.plot(range(1, len(values) + 1), values, marker="o", ms=3,
                    label=key.partition("_")[0])
        ax.set_title(metric)
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # epochs are whole numbers
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig
