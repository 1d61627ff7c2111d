"""``Module``: the base class of every layer and model (as ``megengine.module.Module``).

A module keeps its parameters, buffers and sub-modules as plain attributes. Traversal follows
MegEngine: the attribute names of ``vars(self)`` are visited in **sorted** order, depth first,
each object once; dicts are visited by sorted key and lists/tuples by index, so a Sequential's
layers come out as "0", "1", "10", "2", ...

>>> import numpy as np
>>> from tutorlib import Parameter
>>> class Affine(Module):
...     def __init__(self):
...         super().__init__()
...         self.w = Parameter(np.ones(2))
...         self.b = Parameter(np.zeros(2))
...     def forward(self, x):
...         return x * self.w + self.b
>>> m = Affine()
>>> [name for name, _ in m.named_parameters()]
['b', 'w']
>>> m(np.array([1.0, 2.0]))
Tensor([1. 2.], device=cpu0)
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..device import Device
from ..tensor import Parameter, Tensor


def _expand(key: str, value):
    """Yield ``(dotted key, leaf)`` for ``value``, opening dicts (sorted keys), lists and tuples."""
    if isinstance(value, dict):
        for k in sorted(value, key=str):
            yield from _expand(f"{key}.{k}", value[k])
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _expand(f"{key}.{i}", v)
    else:
        yield key, value


def _is_module(x) -> bool:
    return isinstance(x, Module)


def _is_parameter(x) -> bool:
    return isinstance(x, Parameter)


def _is_buffer(x) -> bool:
    return isinstance(x, Tensor) and not isinstance(x, Parameter)


def _is_tensor(x) -> bool:
    return isinstance(x, Tensor)


class HookHandle:
    """Returned by ``register_forward_*hook``; ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict, hook):
        self._hooks = hooks
        self.id = HookHandle._next_id
        HookHandle._next_id += 1
        hooks[self.id] = hook

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self._hooks.pop(self.id, None)


class StateDictError(KeyError, ValueError):
    """``load_state_dict`` found missing or unexpected keys or wrong shapes (lists them all)."""

    def __str__(self) -> str:
        return self.args[0]


class Module:
    """Base class of layers and models: call ``super().__init__()`` first, then define ``forward``.

    ``module(x)`` runs the forward pre-hooks, ``forward`` and the forward hooks.
    """

    def __init__(self, name: str | None = None):
        self.name = name
        self.training = True
        self._forward_pre_hooks: dict = OrderedDict()
        self._forward_hooks: dict = OrderedDict()

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def __call__(self, *inputs, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            changed = hook(self, inputs)
            if changed is not None:
                inputs = changed if isinstance(changed, tuple) else (changed,)
        outputs = self.forward(*inputs, **kwargs)
        for hook in list(self._forward_hooks.values()):
            changed = hook(self, inputs, outputs)
            if changed is not None:
                outputs = changed
        return outputs

    def register_forward_pre_hook(self, hook) -> HookHandle:
        """Call ``hook(module, inputs)`` before forward; a non-None result replaces the inputs."""
        return HookHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook) -> HookHandle:
        """Call ``hook(module, inputs, outputs)`` after forward; a non-None result replaces the outputs."""
        return HookHandle(self._forward_hooks, hook)

    # ---- traversal ------------------------------------------------------------------------------
    def _flatten(self, predicate, recursive: bool = True, prefix: str | None = None, seen=None):
        """Yield ``(name, object)`` for objects matching ``predicate``, in sorted-name order."""
        if seen is None:
            seen = {id(self)}
        dot = "" if prefix is None else prefix + "."
        attributes = vars(self)
        for attr in sorted(attributes):
            for key, leaf in _expand(attr, attributes[attr]):
                if id(leaf) in seen or not isinstance(leaf, (Tensor, Module)):
                    continue
                seen.add(id(leaf))
                if predicate(leaf):
                    yield dot + key, leaf
                if recursive and isinstance(leaf, Module):
                    yield from leaf._flatten(predicate, recursive, dot + key, seen)

    def named_parameters(self, prefix: str | None = None, recursive: bool = True):
        """Yield ``(name, Parameter)`` pairs, e.g. ``("conv1.weight", w)``."""
        yield from self._flatten(_is_parameter, recursive, prefix)

    def parameters(self, recursive: bool = True):
        """Yield the Parameters (sorted-name order; each once)."""
        for _, p in self.named_parameters(recursive=recursive):
            yield p

    def named_buffers(self, prefix: str | None = None, recursive: bool = True):
        """Yield ``(name, Tensor)`` for tensors that are not Parameters (e.g. BN running stats)."""
        yield from self._flatten(_is_buffer, recursive, prefix)

    def buffers(self, recursive: bool = True):
        """Yield the buffers (non-Parameter Tensors)."""
        for _, b in self.named_buffers(recursive=recursive):
            yield b

    def named_tensors(self, prefix: str | None = None, recursive: bool = True):
        """Yield ``(name, Tensor)`` for parameters and buffers together."""
        yield from self._flatten(_is_tensor, recursive, prefix)

    def tensors(self, recursive: bool = True):
        """Yield parameters and buffers together."""
        for _, t in self.named_tensors(recursive=recursive):
            yield t

    def named_children(self):
        """Yield ``(name, module)`` for the direct sub-modules."""
        yield from self._flatten(_is_module, recursive=False)

    def children(self):
        """Yield the direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str | None = None):
        """Yield ``(name, module)`` for this module (named ``prefix`` or "") and all below it."""
        yield ("" if prefix is None else prefix), self
        yield from self._flatten(_is_module, True, prefix)

    def modules(self):
        """Yield this module and every sub-module."""
        for _, m in self.named_modules():
            yield m

    def apply(self, fn) -> None:
        """Call ``fn(module)`` on this module and every sub-module."""
        for m in self.modules():
            fn(m)

    def train(self, mode: bool = True, recursive: bool = True) -> None:
        """Set ``training = mode`` here (and, by default, in every sub-module)."""
        for m in (self.modules() if recursive else [self]):
            m.training = mode

    def eval(self) -> None:
        """Switch to evaluation mode: ``train(False)``."""
        self.train(False)

    def to(self, device) -> Module:
        """Move every parameter and buffer to ``device`` in place; returns the module.

        >>> from tutorlib.module import Linear
        >>> Linear(2, 1).to("cpu0").weight.device
        cpu0
        """
        target = Device.parse(device)
        for t in self.tensors():
            t._device = target
        return self

    # ---- state ----------------------------------------------------------------------------------
    def _export(self, key: str, tensor: Tensor) -> np.ndarray:
        """The array stored in the state dict for ``tensor`` (layers may reshape it)."""
        return tensor._data.copy()

    def _import(self, key: str, tensor: Tensor, array: np.ndarray):
        """``array`` shaped for ``tensor``, or None if its shape does not fit (layers may relax this)."""
        return array if array.shape == tensor.shape else None

    def _owned_tensors(self, prefix: str = ""):
        """Yield ``(full name, owning module, local key, tensor)`` in state-dict order."""
        for key, leaf in self._flatten(lambda x: True, recursive=False):
            if isinstance(leaf, Module):
                yield from leaf._owned_tensors(prefix + key + ".")
            else:
                yield prefix + key, self, key, leaf

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """An OrderedDict ``name -> numpy array`` (copies) of every parameter and buffer."""
        return OrderedDict((name, owner._export(key, t))
                           for name, owner, key, t in self._owned_tensors())

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        """Copy values into this module's tensors (keeping each tensor's dtype).

        ``state_dict`` is a mapping ``name -> array`` or a closure ``f(name, tensor)`` returning
        an array or None (skip). With ``strict``, missing and unexpected names are an error;
        wrong shapes always are. The error lists every problem.
        """
        owned = list(self._owned_tensors())
        if callable(state_dict):
            values = {name: state_dict(name, t) for name, _, _, t in owned}
            missing, unexpected = [], []
        else:
            values = state_dict
            names = {name for name, _, _, _ in owned}
            missing = [name for name, _, _, _ in owned if name not in values]
            unexpected = [k for k in values if k not in names]
        wrong, updates = [], []
        for name, owner, key, t in owned:
            value = values.get(name)
            if value is None:
                continue
            array = np.asarray(value._data if isinstance(value, Tensor) else value)
            fitted = owner._import(key, t, array)
            if fitted is None:
                wrong.append(f"{name}: expected {t.shape}, got {array.shape}")
            else:
                updates.append((t, fitted))
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        if wrong:
            problems.append("wrong shapes: " + "; ".join(wrong))
        if problems:
            raise StateDictError(f"load_state_dict into {type(self).__name__}: " + "; ".join(problems))
        for t, array in updates:
            t._data = np.array(array, dtype=t.dtype)

    # ---- printing -------------------------------------------------------------------------------
    def _module_info_string(self) -> str:
        """The text inside the parentheses of ``repr`` (layers override it)."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for attr, value in vars(self).items():   # definition order, like PyTorch
            for key, leaf in _expand(attr, value):
                if isinstance(leaf, Module):
                    child = repr(leaf).replace("\n", "\n  ")
                    lines.append(f"  ({key}): {child}")
        info = self._module_info_string()
        if not lines:
            return f"{type(self).__name__}({info})"
        head = f"{type(self).__name__}(" + (f"\n  {info}" if info else "")
        return head + "\n" + "\n".join(lines) + "\n)"
