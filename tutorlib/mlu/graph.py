"""Fused mode: ``ct.trace`` records a model's ops into a graph, compiles it and runs it as one program.

Tracing runs the model once on the MLU and records every op (``MLUDevice.listeners``). The
compiler then

1. **folds batch norm** into the fixed-point conv before it (new weights, new weight scale);
2. **fuses conv/linear + ReLU** into one node (the ReLU acts on the rescaled sum);
3. **plans buffers**: each intermediate gets a slot, and a slot is reused once its value is
   dead (``Program.buffers``, ``Program.peak_bytes``); reshapes are views and need none;
4. keeps the weights **pre-quantized**, so a run only quantizes activations.

A :class:`Program` runs on numpy arrays with no Module, Tensor or autodiff in the loop, which
is why it is faster than per-operator mode on the CPU too (``benchmarks/mlu.py``). Like an
offline CNML model it is specialised to the example's shape.

Offline models (``save``/``load_offline``) use the safe ``tl.save`` format (a JSON header and
raw arrays, never pickle). Loading checks every field and builds only the ops in ``OPS``,
so a crafted file can fail to load but cannot run code.
"""
from __future__ import annotations

import math

import numpy as np

from ..kernels import integer
from ..ops import elementwise as ew
from ..ops import nn as nn_ops
from ..ops import reduce as red
from ..ops import shape as sh
from ..serialization import load, save
from ..tensor import Tensor
from . import cost
from .device import MLU, QMAX, FixedPoint, half

FORMAT, VERSION = "tutorlib-cambricon-offline", 1


def _ints(v, n=None):
    v = tuple(v)
    if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in v) or \
            (n is not None and len(v) != n):
        raise ValueError(f"expected {n or 'a tuple of'} ints, got {v!r}")
    return tuple(int(i) for i in v)


def _axis(v):
    return None if v is None else (_ints([v])[0] if not isinstance(v, (tuple, list)) else _ints(v))


# op name -> (attributes of an op object, op object from checked attributes)
OPS = {
    "conv2d": (lambda op: {"stride": op.stride, "padding": op.padding, "dilation": op.dilation,
                           "groups": op.groups},
               lambda a: nn_ops.Conv2d(_ints(a["stride"], 2), _ints(a["padding"], 2),
                                       _ints(a["dilation"], 2), _ints([a["groups"]])[0])),
    "linear": (lambda op: {}, lambda a: nn_ops.Linear()),
    "relu": (lambda op: {}, lambda a: ew.Relu()),
    "add": (lambda op: {}, lambda a: ew.Add()),
    "sub": (lambda op: {}, lambda a: ew.Sub()),
    "mul": (lambda op: {}, lambda a: ew.Mul()),
    "div": (lambda op: {}, lambda a: ew.Div()),
    "copy": (lambda op: {}, lambda a: ew.Copy()),
    "max_pool2d": (lambda op: {"kernel": op.kernel, "stride": op.stride, "padding": op.padding},
                   lambda a: nn_ops.MaxPool2d(_ints(a["kernel"], 2), _ints(a["stride"], 2),
                                              _ints(a["padding"], 2))),
    "adaptive_avg_pool2d": (lambda op: {"oshp": op.oshp},
                            lambda a: nn_ops.AdaptiveAvgPool2d(_ints(a["oshp"], 2))),
    "reshape": (lambda op: {"shape": op.target}, lambda a: sh.Reshape(_ints(a["shape"]))),
    "log_sum_exp": (lambda op: {"axis": op.axis, "keepdims": bool(op.keepdims)},
                    lambda a: red.LogSumExp(_axis(a["axis"]), bool(a["keepdims"]))),
    "batch_norm": (lambda op: {"eps": op.eps}, None),   # built per run from its inputs
}
ATTRS = {"conv2d": {"stride", "padding", "dilation", "groups"},
         "max_pool2d": {"kernel", "stride", "padding"}, "adaptive_avg_pool2d": {"oshp"},
         "reshape": {"shape"},
         "log_sum_exp": {"axis", "keepdims"}, "batch_norm": {"eps"}}


class Node:
    """One step of a program: ``op`` on ``inputs`` (refs ``("value", i)``, ``("const", j)`` or
    ``("scalar", x)``); value 0 is the program's input, node k produces value k + 1."""

    def __init__(self, op: str, attrs: dict, inputs: list, shape: tuple, fixed_point=None,
                 relu: bool = False):
        self.op, self.attrs, self.inputs, self.shape = op, attrs, inputs, tuple(shape)
        self.fixed_point, self.relu = fixed_point, relu
        self.kernel = None if op == "batch_norm" else OPS[op][1](attrs)
        self.weight_q = None

    @property
    def label(self) -> str:
        """``conv2d`` or ``conv2d+relu``."""
        return self.op + ("+relu" if self.relu else "")


class Program:
    """A compiled, fused MLU program; call it like the model: ``program(x)``."""

    def __init__(self, nodes: list, constants: list, input_shape: tuple, output: int,
                 core_version: str = "MLU270", core_number: int = 16):
        self.nodes, self.constants = nodes, [np.asarray(c) for c in constants]
        self._half_constants = [half(c) for c in self.constants]   # float16 inputs of float ops
        self.input_shape, self.output = tuple(input_shape), output
        self.core_version, self.core_number = core_version, core_number
        for node in nodes:
            if node.fixed_point is not None:
                w = self.constants[node.inputs[1][1]]
                node.weight_q = node.fixed_point.quantize_weight(w)
        self.buffers, self.peak_bytes, self.last_use = _plan(self)

    # ---- running ---------------------------------------------------------------------------------
    def _get(self, ref, values, fixed: bool):
        kind, i = ref
        if kind == "value":
            return values[i]
        if kind == "const":
            return self.constants[i] if fixed else self._half_constants[i]
        return i if fixed else half(i)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run on a numpy array of the traced shape; returns a numpy array."""
        x = np.asarray(x)
        if x.shape != self.input_shape:
            raise ValueError(f"MLU program: traced for input {self.input_shape}, got {x.shape} "
                             f"(offline models have a fixed shape; trace again for this one)")
        values = {0: half(x.astype(np.float32))}
        for k, node in enumerate(self.nodes):
            fixed = node.fixed_point is not None
            args = [self._get(r, values, fixed) for r in node.inputs]
            values[k + 1] = _execute(node, args)
            for kind, i in node.inputs:
                if kind == "value" and self.last_use.get(i) == k:
                    values.pop(i, None)
        return values[self.output]

    def __call__(self, x) -> Tensor:
        if isinstance(x, Tensor):
            if x.device is not MLU:
                raise ValueError(f"MLU program: the input is on {x.device}; move it with "
                                 f"x.to(ct.mlu_device())")
            x = x._data
        return Tensor._wrap(self.run(x), MLU)

    # ---- describing --------------------------------------------------------------------------------
    def profile(self, cores: int | None = None, core_version: str | None = None) -> cost.Profile:
        """Simulated latency of one run: a single launch, DRAM traffic only for input, output and
        constants."""
        card = cost.CARDS[core_version or self.core_version]
        cores = cores or min(self.core_number, card.cores)
        shapes = {0: self.input_shape}
        rows = []
        for k, node in enumerate(self.nodes):
            in_shapes, dram = [], []
            for kind, i in node.inputs:
                if kind == "scalar":
                    continue
                in_shapes.append(shapes[i] if kind == "value" else self.constants[i].shape)
                dram.append(kind == "const" or i == 0)
            shapes[k + 1] = node.shape
            bits = node.fixed_point.bitwidth if node.fixed_point is not None else None
            rows.append(cost.op_cost(node.op, in_shapes, node.shape, bits, card, cores,
                                     dram_inputs=dram, dram_output=(k + 1 == self.output),
                                     relu=node.relu))
        return cost.Profile(rows, 1, card, cores, "fused (one program)")

    def __repr__(self) -> str:
        ops = ", ".join(n.label for n in self.nodes)
        return (f"Program({len(self.nodes)} ops: {ops}; {len(self.buffers)} buffers, "
                f"peak {self.peak_bytes:,} bytes)")

    # ---- offline file ----------------------------------------------------------------------------
    def save(self, path: str) -> None:
        """Write the offline model (``tl.save`` format: data only)."""
        nodes = []
        for n in self.nodes:
            fp = None if n.fixed_point is None else {
                "bitwidth": n.fixed_point.bitwidth, "scale_in": float(n.fixed_point.scale_in),
                "scale_w": [float(s) for s in n.fixed_point.scale_w]}
            nodes.append({"op": n.op, "attrs": dict(n.attrs), "shape": list(n.shape),
                          "inputs": [[kind, i] for kind, i in n.inputs], "fixed_point": fp,
                          "relu": n.relu})
        save({"format": FORMAT, "version": VERSION, "core_version": self.core_version,
              "core_number": self.core_number, "input_shape": list(self.input_shape),
              "output": self.output, "nodes": nodes, "constants": list(self.constants)}, path)


def _execute(node: Node, args: list) -> np.ndarray:
    if node.fixed_point is not None:
        fp, x = node.fixed_point, args[0]
        b = args[2] if len(args) > 2 else None
        if node.op == "conv2d":
            node.kernel._check(x, node.weight_q, b)
            op = node.kernel
            acc = integer.conv2d(fp.quantize_input(x), node.weight_q, op.stride, op.padding,
                                 op.dilation, op.groups)
            y = fp.rescale(acc, b, 1)
        else:
            if x.ndim != 2 or x.shape[1] != node.weight_q.shape[1]:
                raise ValueError(f"linear: x {x.shape} and weight {node.weight_q.shape} do not "
                                 f"match (need x (N, in) and weight (out, in))")
            y = fp.rescale(integer.linear(fp.quantize_input(x), node.weight_q), b, 1)
        if node.relu:
            np.maximum(y, 0, out=y)
        return half(y.astype(np.float32))
    if node.op == "batch_norm":
        x, w, b, mean, var = args
        return half(nn_ops.BatchNorm(False, 0.9, node.attrs["eps"], mean, var).forward(x, w, b))
    out = np.asarray(node.kernel.forward(*args))
    return half(np.maximum(out, 0) if node.relu else out)


def _plan(program: Program):
    """Buffer slots for the intermediates: (slot sizes in bytes, peak live bytes, last use of
    each value). A slot is reused as soon as the values in it are dead; a reshape shares its
    input's slot."""
    nodes = program.nodes
    last_use: dict = {}
    alias: dict = {}
    for k, node in enumerate(nodes):
        for kind, i in node.inputs:
            if kind == "value":
                last_use[i] = k
        if node.op == "reshape" and node.inputs[0][0] == "value":
            alias[k + 1] = alias.get(node.inputs[0][1], node.inputs[0][1])
    last_use[program.output] = len(nodes)
    end: dict = {}
    for v, k in last_use.items():
        base = alias.get(v, v)
        end[base] = max(end.get(base, -1), k)
    sizes, slot_of, free, live, peak = [], {}, [], set(), 0
    for k, node in enumerate(nodes):
        if k + 1 not in alias:
            nbytes = math.prod(node.shape) * cost.HALF
            fit = [s for s in free if sizes[s] >= nbytes]
            if fit:
                slot = min(fit, key=lambda s: sizes[s])
                free.remove(slot)
            else:
                slot = len(sizes)
                sizes.append(nbytes)
            slot_of[k + 1] = slot
            live.add(slot)
            peak = max(peak, sum(sizes[s] for s in live))
        for v, slot in slot_of.items():
            if end.get(v, k) == k and slot in live:
                live.discard(slot)
                free.append(slot)
    return sizes, peak, last_use


# ---- tracing ---------------------------------------------------------------------------------------
def trace(model, example, core_version: str = "MLU270", core_number: int = 16,
          fold: bool = True, fuse: bool = True) -> Program:
    """Run ``model`` once on ``example`` (both on the MLU) and compile the ops into a Program."""
    if not isinstance(example, Tensor) or example.device is not MLU:
        raise ValueError("trace: the example must be a Tensor on the MLU: "
                         "example.to(ct.mlu_device())")
    records = []

    def listen(op, arrays, out, launch):
        records.append((op, list(arrays), out))

    MLU.listeners.append(listen)
    try:
        result = model(example)
    finally:
        MLU.listeners.remove(listen)
    if not isinstance(result, Tensor):
        raise TypeError(f"trace: the model must return one Tensor, got {type(result).__name__}")
    produced = {id(example._data): 0}
    const_ids: dict = {}
    constants: list = []
    nodes: list = []
    for op, arrays, out in records:
        if op.name not in OPS:
            raise ValueError(f"trace: op {op.name!r} cannot be compiled into an MLU program "
                             f"(supported: {sorted(OPS)})")
        if op.name == "batch_norm" and op.training:
            raise ValueError("trace: batch norm in training mode; call model.eval() first")
        refs = []
        extra = [op.running_mean, op.running_var] if op.name == "batch_norm" else []
        for a in list(arrays) + extra:
            if a is None:
                raise ValueError(f"trace: {op.name} with a missing input is not supported")
            if isinstance(a, np.ndarray) and id(a) in produced:
                refs.append(("value", produced[id(a)]))
            elif isinstance(a, np.ndarray):
                if id(a) not in const_ids:
                    const_ids[id(a)] = len(constants)
                    constants.append(np.array(a, np.float32))
                refs.append(("const", const_ids[id(a)]))
            else:
                refs.append(("scalar", float(a)))
        spec = getattr(op, "fixed_point", None)
        nodes.append(Node(op.name, OPS[op.name][0](op), refs, out.shape,
                          spec if isinstance(spec, FixedPoint) else None))
        produced[id(out)] = len(nodes)
    if id(result._data) not in produced:
        raise ValueError("trace: could not follow the model's output through the recorded ops")
    output = produced[id(result._data)]
    if fold:
        nodes, output = _fold_batch_norm(nodes, constants, output)
    if fuse:
        nodes, output = _fuse_relu(nodes, output)
    return Program(nodes, constants, example.shape, output, core_version, core_number)


def _users(nodes, value):
    return [k for k, n in enumerate(nodes) for ref in n.inputs if ref == ("value", value)]


def _remove(nodes, drop: int, replacement: int, output: int):
    """Delete node ``drop``; uses of its value go to ``replacement``; renumber values."""
    gone = drop + 1

    def fix(ref):
        if ref[0] != "value":
            return ref
        v = replacement if ref[1] == gone else ref[1]
        return ("value", v - 1 if v > gone else v)

    kept = [n for k, n in enumerate(nodes) if k != drop]
    for n in kept:
        n.inputs = [fix(r) for r in n.inputs]
    out = replacement if output == gone else output
    return kept, (out - 1 if out > gone else out)


def _fold_batch_norm(nodes, constants, output):
    k = 0
    while k < len(nodes):
        node = nodes[k]
        users = _users(nodes, k + 1)
        if (node.op == "conv2d" and node.fixed_point is not None and len(users) == 1
                and nodes[users[0]].op == "batch_norm" and len(node.inputs) in (2, 3)):
            bn = nodes[users[0]]
            get = [constants[i] for kind, i in bn.inputs[1:]] if all(
                kind == "const" for kind, _ in bn.inputs[1:]) else None
            if get is not None:
                gamma, beta, mean, var = (np.asarray(a, np.float64).reshape(-1) for a in get)
                factor = gamma / np.sqrt(var + bn.attrs["eps"])
                w = constants[node.inputs[1][1]].astype(np.float64)
                b = (constants[node.inputs[2][1]].astype(np.float64).reshape(-1)
                     if len(node.inputs) == 3 else np.zeros(len(w)))     # a conv without bias
                w2 = (w * factor[:, None, None, None]).astype(np.float32)
                b2 = ((b - mean) * factor + beta).astype(np.float32).reshape(1, -1, 1, 1)
                fp = node.fixed_point
                qmax = QMAX[fp.bitwidth]
                absmax = (np.abs(w2).reshape(len(w2), -1).max(1) if fp.scale_w.size > 1
                          else np.array([np.abs(w2).max()]))
                scale_w = np.where(absmax > 0, qmax / np.where(absmax > 0, absmax, 1), 1.0)
                constants.extend([w2, b2])
                node.inputs = [node.inputs[0], ("const", len(constants) - 2),
                               ("const", len(constants) - 1)]
                node.fixed_point = FixedPoint(fp.bitwidth, fp.scale_in,
                                              scale_w.astype(np.float32).astype(np.float64))
                nodes, output = _remove(nodes, users[0], k + 1, output)
                continue                  # the folded conv may be followed by another BN
        k += 1
    return nodes, output


def _fuse_relu(nodes, output):
    k = 0
    while k < len(nodes):
        node = nodes[k]
        users = _users(nodes, k + 1)
        if (node.op in ("conv2d", "linear") and not node.relu and len(users) == 1
                and nodes[users[0]].op == "relu" and output != k + 1):
            node.relu = True
            nodes, output = _remove(nodes, users[0], k + 1, output)
        k += 1
    return nodes, output


# ---- offline models ------------------------------------------------------------------------------
def load_offline(path: str) -> Program:
    """Load an offline model written by ``Program.save`` / ``ct.save_as_cambricon``.

    Needs no Python model class. The file is read with ``tl.load`` (data only) and every field
    is checked; a damaged or crafted file raises an error naming the file and the field.
    """
    root = load(path)

    def bad(msg):
        return ValueError(f"offline model {path!r}: {msg}")

    if not isinstance(root, dict) or root.get("format") != FORMAT:
        raise bad(f"not a tutorlib MLU offline model (expected format {FORMAT!r})")
    if root.get("version") != VERSION:
        raise bad(f"version {root.get('version')!r} is not supported (expected {VERSION})")
    missing = {"core_version", "core_number", "input_shape", "output", "nodes",
               "constants"} - set(root)
    if missing:
        raise bad(f"missing fields {sorted(missing)}")
    if root["core_version"] not in cost.CARDS:
        raise bad(f"unknown core_version {root['core_version']!r}")
    consts = root["constants"]
    if not isinstance(consts, list) or not all(
            isinstance(c, np.ndarray) and c.dtype.kind == "f" for c in consts):
        raise bad("constants must be a list of float arrays")
    try:
        input_shape = _ints(root["input_shape"])
        core_number = _ints([root["core_number"]])[0]
    except ValueError as e:
        raise bad(f"input_shape/core_number: {e}") from None
    if not isinstance(root["nodes"], list) or not root["nodes"]:
        raise bad("nodes must be a non-empty list")
    nodes = []
    for k, raw in enumerate(root["nodes"]):
        try:
            nodes.append(_node_from_dict(raw, k, len(consts)))
        except (ValueError, KeyError, TypeError) as e:
            raise bad(f"node {k}: {e}") from None
    output = root["output"]
    if not isinstance(output, int) or not 0 <= output <= len(nodes):
        raise bad(f"output must name a value 0..{len(nodes)}, got {output!r}")
    try:
        return Program(nodes, consts, input_shape, output, root["core_version"], core_number)
    except (ValueError, IndexError) as e:
        raise bad(str(e)) from None


def _node_from_dict(raw, k: int, n_consts: int) -> Node:
    if not isinstance(raw, dict) or set(raw) != {"op", "attrs", "shape", "inputs", "fixed_point",
                                                 "relu"}:
        raise ValueError("expected the fields op, attrs, shape, inputs, fixed_point, relu")
    op = raw["op"]
    if op not in OPS:
        raise ValueError(f"unknown op {op!r} (allowed: {sorted(OPS)})")
    attrs = raw["attrs"]
    if not isinstance(attrs, dict) or set(attrs) != ATTRS.get(op, set()):
        raise ValueError(f"{op} needs attributes {sorted(ATTRS.get(op, set()))}, got "
                         f"{sorted(attrs) if isinstance(attrs, dict) else attrs!r}")
    if op == "batch_norm" and not (isinstance(attrs["eps"], float) and attrs["eps"] >= 0):
        raise ValueError(f"batch_norm eps must be a float >= 0, got {attrs['eps']!r}")
    inputs = []
    for ref in raw["inputs"]:
        if not (isinstance(ref, (list, tuple)) and len(ref) == 2):
            raise ValueError(f"input reference {ref!r} is not [kind, index]")
        kind, i = ref
        if kind == "value" and isinstance(i, int) and 0 <= i <= k:
            inputs.append(("value", i))
        elif kind == "const" and isinstance(i, int) and 0 <= i < n_consts:
            inputs.append(("const", i))
        elif kind == "scalar" and isinstance(i, float) and math.isfinite(i):
            inputs.append(("scalar", i))
        else:
            raise ValueError(f"input reference {ref!r} points nowhere (values 0..{k}, "
                             f"constants 0..{n_consts - 1})")
    fp = raw["fixed_point"]
    if fp is not None:
        if op not in ("conv2d", "linear") or not isinstance(fp, dict) or \
                set(fp) != {"bitwidth", "scale_in", "scale_w"} or fp["bitwidth"] not in QMAX:
            raise ValueError(f"bad fixed_point {fp!r}")
        scales = [fp["scale_in"], *fp["scale_w"]]
        if not all(isinstance(s, float) and math.isfinite(s) and s > 0 for s in scales):
            raise ValueError(f"fixed_point scales must be positive finite floats, got {scales}")
        fp = FixedPoint(fp["bitwidth"], fp["scale_in"], np.asarray(fp["scale_w"], np.float64))
    elif op in ("conv2d", "linear"):
        raise ValueError(f"{op} needs fixed_point parameters (the MLU computes it in fixed point)")
    if fp is not None and (len(inputs) < 2 or inputs[1][0] != "const"):
        raise ValueError(f"{op}: the weight must be a constant")
    if not isinstance(raw["relu"], bool):
        raise TypeError(f"relu must be true or false, got {raw['relu']!r}")
    return Node(op, attrs, inputs, _ints(raw["shape"]), fp, raw["relu"])
