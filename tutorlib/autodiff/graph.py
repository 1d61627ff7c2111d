"""The recorded computation graph and reverse-mode differentiation over it.

While a :class:`~tutorlib.autodiff.GradManager` records, every op whose inputs are
*tracked* (attached tensors, or results of recorded ops) leaves a :class:`Node` on its
output: the op (which remembers what its backward needs) and the input tensors.
:func:`backward` walks the nodes from the output back to the inputs in reverse
topological order, applying the chain rule one op at a time.

The same nodes are what :class:`Graph` exposes for inspection and drawing.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

recording: list = []   # the GradManagers that are recording right now


class Node:
    """One recorded op: ``out = op(*inputs)``.

    ``parents`` are the inputs' nodes *at record time*: an in-place operator (``y += 1``,
    ``y[i] = v``) later gives the same Python object a new node, but ops recorded before
    it must still differentiate through the old one.
    """

    __slots__ = ("op", "inputs", "parents", "out", "__weakref__")

    def __init__(self, op, inputs: tuple, out):
        self.op = op
        self.inputs = inputs
        self.parents = tuple(getattr(x, "_node", None) for x in inputs)
        self.out = weakref.ref(out)

    def rebind(self, tensor) -> None:
        """Make ``tensor`` the output of this node (in-place operators keep the Python object)."""
        self.out = weakref.ref(tensor)


def record(op, inputs: tuple, out) -> None:
    """Attach a new node to ``out`` and add it to every recording GradManager's tape."""
    node = Node(op, inputs, out)
    out._node = node
    for gm in recording:
        gm._tape.append(node)


def _topological_order(roots) -> list:
    """Nodes reachable from ``roots``, each after all nodes that produce its inputs."""
    order, seen = [], set()
    stack = [(node, False) for node in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in node.parents:
            if parent is not None and id(parent) not in seen:
                stack.append((parent, False))
    return order


def backward(ys, dys, wanted: dict) -> dict:
    """Reverse-mode autodiff: return ``{id(tensor): gradient array}`` for the ``wanted`` tensors.

    Args:
        ys: output tensors; ``dys``: the gradients flowing into them (arrays).
        wanted: ``{id(tensor): tensor}`` for the tensors whose gradients are requested.
    """
    node_grads: dict = {}        # id(node) -> grad of that node's output
    found: dict = {}             # id(wanted tensor) -> grad

    def deposit(x, node, g):
        if node is not None:
            key = id(node)
            node_grads[key] = g if key not in node_grads else node_grads[key] + g
        elif id(x) in wanted:
            found[id(x)] = g if id(x) not in found else found[id(x)] + g

    for y, dy in zip(ys, dys):
        deposit(y, y._node, dy)
    roots = [y._node for y in ys if y._node is not None]
    for node in reversed(_topological_order(roots)):
        g = node_grads.pop(id(node), None)
        if g is None:
            continue
        out = node.out()
        if out is not None and id(out) in wanted:
            found[id(out)] = g if id(out) not in found else found[id(out)] + g
        node.op.needs_input_grad = tuple(
            hasattr(x, "_node") and (parent is not None or id(x) in wanted)
            for x, parent in zip(node.inputs, node.parents))
        grads = node.op.backward(g)
        if not isinstance(grads, tuple):
            grads = (grads,)
        for x, parent, gx in zip(node.inputs, node.parents, grads):
            if gx is None or not hasattr(x, "_node"):
                continue
            if parent is None and id(x) not in wanted:
                continue
            gx = np.asarray(gx)
            if gx.shape != x.shape:
                gx = unbroadcast(gx, x.shape)
            if gx.dtype != x.dtype and np.issubdtype(x.dtype, np.floating):
                gx = gx.astype(x.dtype)
            deposit(x, parent, gx)
    return found


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving ``shape``.

    >>> unbroadcast(np.ones((2, 3)), (3,))
    array([2., 2., 2.])
    >>> unbroadcast(np.ones((2, 3)), (2, 1)).shape
    (2, 1)
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return grad.sum(axis=axes).reshape(shape)


@dataclass
class GraphNode:
    """A drawable view of one recorded op or one input tensor."""

    id: int
    kind: str                       # "op" or "tensor"
    label: str                      # op name, or tensor name
    shape: tuple
    dtype: str
    inputs: list = field(default_factory=list)   # ids of the nodes feeding this one


@dataclass
class Graph:
    """The recorded graph behind a tensor, as plain data: op names, shapes and edges.

    Build it while recording (before ``backward`` releases the graph):

    >>> import tutorlib as tl
    >>> from tutorlib.autodiff import GradManager
    >>> w = tl.Parameter(3.0, name="w"); x = tl.Tensor(2.0, name="x")
    >>> gm = GradManager().attach([w])
    >>> with gm:
    ...     y = w * x + 1.0
    ...     g = Graph.from_tensor(y)
    ...     gm.backward(y)
    >>> [n.label for n in g.nodes]
    ['w', 'x', 'mul', '1', 'add']
    """

    nodes: list
    output: int

    @classmethod
    def from_tensor(cls, y) -> "Graph":
        """The graph of recorded ops that produced ``y``, inputs first."""
        if y._node is None:
            raise RuntimeError("from_tensor: this tensor was not produced by a recorded op "
                               "(build the graph inside `with gm:` and before gm.backward)")
        nodes, index = [], {}

        def add(obj, kind, label, shape, dtype, inputs):
            index[id(obj)] = len(nodes)
            nodes.append(GraphNode(len(nodes), kind, label, tuple(shape), str(dtype), inputs))

        for node in _topological_order([y._node]):
            ins = []
            for x, src in zip(node.inputs, node.parents):
                if src is not None:
                    ins.append(index[id(src)])
                    continue
                if id(x) not in index:
                    if hasattr(x, "_data"):
                        add(x, "tensor", x.name or type(x).__name__.lower(), x.shape, x.dtype, [])
                    else:
                        a = np.asarray(x)
                        label = f"{a.item():g}" if a.size == 1 else "const"
                        add(x, "tensor", label, a.shape, a.dtype, [])
                ins.append(index[id(x)])
            out = node.out()
            shape, dtype = (out.shape, out.dtype) if out is not None else ((), "?")
            add(node, "op", node.op.name, shape, dtype, ins)
        return cls(nodes, index[id(y._node)])
