"""Draw a recorded computation graph with matplotlib (no graphviz needed).

Tensors are drawn as rounded boxes (name and shape), ops as filled boxes; arrows follow the
data from inputs to output. Nodes are placed in columns by their depth in the graph.

>>> import tutorlib as tl
>>> from tutorlib.autodiff import GradManager, Graph
>>> w = tl.Parameter(2.0, name="w"); x = tl.Tensor(3.0, name="x")
>>> with GradManager().attach([w]) as gm:
...     g = Graph.from_tensor(w * x + 1.0)
>>> ax = draw_graph(g)
>>> len(ax.patches) >= 5
True
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

OP_COLOR = "#f4a261"
TENSOR_COLOR = "#e9f5ff"
OUTPUT_COLOR = "#b7e4c7"


def _layout(graph) -> dict[int, tuple[float, float]]:
    """Columns by depth (inputs sit just left of their first consumer); rows placed right to
    left, each node near the mean height of its consumers, so arrows rarely cross."""
    consumers: dict[int, list[int]] = {i: [] for i in range(len(graph.nodes))}
    for node in graph.nodes:
        for src in node.inputs:
            consumers[src].append(node.id)
    depth = {}
    for node in graph.nodes:                       # ops: longest path from the inputs
        if node.kind == "op":
            depth[node.id] = 1 + max((depth.get(i, 0) for i in node.inputs), default=0)
    for node in graph.nodes:                       # inputs: one column before their first use
        if node.kind != "op":
            depth[node.id] = min((depth[c] for c in consumers[node.id]), default=1) - 1
    pos: dict[int, tuple[float, float]] = {}
    for d in sorted(set(depth.values()), reverse=True):
        column = [i for i in depth if depth[i] == d]
        want = {i: (sum(pos[c][1] for c in consumers[i]) / len(consumers[i]) if consumers[i] else 0.0)
                for i in column}
        column.sort(key=lambda i: (-want[i], i))
        ys, last = [], None
        for i in column:                           # keep at least one row apart
            y = want[i] if last is None else min(want[i], last - 1.3)
            ys.append(y)
            last = y
        shift = (sum(want.values()) - sum(ys)) / len(ys)
        for i, y in zip(column, ys):
            pos[i] = (d * 2.2, y + shift)
    return pos


def _label(node) -> str:
    shape = "×".join(str(s) for s in node.shape) if node.shape else "scalar"
    return f"{node.label}\n{shape}"


def draw_graph(graph, ax=None, title: str | None = None):
    """Draw ``graph`` (a :class:`tutorlib.autodiff.Graph`) and return the matplotlib Axes."""
    pos = _layout(graph)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(xs) - min(xs) + 2.5, max(ys) - min(ys) + 1.8))
    for node in graph.nodes:
        for src in node.inputs:
            (x0, y0), (x1, y1) = pos[src], pos[node.id]
            ax.add_patch(FancyArrowPatch((x0 + 0.7, y0), (x1 - 0.7, y1), arrowstyle="-|>",
                                         mutation_scale=14, color="#555555", lw=1.2))
    for node in graph.nodes:
        x, y = pos[node.id]
        is_op = node.kind == "op"
        color = OUTPUT_COLOR if node.id == graph.output else (OP_COLOR if is_op else TENSOR_COLOR)
        ax.add_patch(FancyBboxPatch((x - 0.7, y - 0.35), 1.4, 0.7,
                                    boxstyle="round,pad=0.05,rounding_size=0.2" if not is_op
                                    else "square,pad=0.05", fc=color, ec="#333333", lw=1.2))
        ax.text(x, y, _label(node), ha="center", va="center", fontsize=9,
                fontweight="bold" if is_op else "normal", family="monospace")
    ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
