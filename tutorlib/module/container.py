"""``Sequential``: run layers one after the other.

>>> from tutorlib.module import Linear, ReLU
>>> net = Sequential(Linear(4, 8), ReLU(), Linear(8, 2))
>>> len(net), type(net[1]).__name__, len(net[:2])
(3, 'ReLU', 2)
>>> [name for name, _ in net.named_parameters()]
['0.bias', '0.weight', '2.bias', '2.weight']
"""
from __future__ import annotations

from collections import OrderedDict

from .module import Module


class Sequential(Module):
    """``Sequential(*modules)`` names layers "0", "1", ...; ``Sequential(OrderedDict)`` uses its keys.

    Supports ``net[i]``, slicing (a new Sequential with the same layers), ``len`` and iteration.
    """

    def __init__(self, *args, name: str | None = None):
        super().__init__(name)
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            items = list(args[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(args)]
        self.layer_keys = []
        for key, module in items:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: layer {key!r} is a {type(module).__name__}, not a Module")
            setattr(self, key, module)
            self.layer_keys.append(key)

    @property
    def layer_values(self) -> list:
        """The layers in order."""
        return [getattr(self, key) for key in self.layer_keys]

    def __getitem__(self, index):
        if isinstance(index, slice):
            keys = self.layer_keys[index]
            return type(self)(OrderedDict((k, getattr(self, k)) for k in keys))
        return getattr(self, self.layer_keys[index])

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, self.layer_keys[index], module)

    def __delitem__(self, index) -> None:
        keys = self.layer_keys[index] if isinstance(index, slice) else [self.layer_keys[index]]
        for key in keys:
            delattr(self, key)
            self.layer_keys.remove(key)

    def __len__(self) -> int:
        return len(self.layer_keys)

    def __iter__(self):
        return iter(self.layer_values)

    def forward(self, x):
        for layer in self.layer_values:
            x = layer(x)
        return x
