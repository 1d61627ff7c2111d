"""Devices: where a tensor's data lives and which executor runs its ops.

Today there is one device, ``cpu0``: numpy arrays in host memory, computed by the
kernels in :mod:`tutorlib.kernels`. A device is an object rather than a string so that an
emulated accelerator can later plug in its own executor (op dispatch asks the device,
never ``if device == ...``).

>>> get_default_device()
'cpu0'
>>> Device.parse("cpu0") is Device.parse("cpu0")
True
"""
from __future__ import annotations

import re

_DEVICE_RE = re.compile(r"^(cpu|mlu)(\d+)$")


class Device:
    """A named device. ``run(op, arrays)`` executes an op's forward on this device.

    Subclasses (the emulated MLU) can override :meth:`run` to add cost accounting,
    fixed-point arithmetic or fusion.
    """

    _registry: dict[str, "Device"] = {}

    def __init__(self, name: str):
        self.name = name

    @classmethod
    def register(cls, device: "Device") -> "Device":
        """Make ``device`` reachable by name (used by accelerator emulators)."""
        cls._registry[device.name] = device
        return device

    @classmethod
    def parse(cls, device) -> "Device":
        """Return the Device for a name like ``"cpu0"`` (or a Device itself)."""
        if isinstance(device, Device):
            return device
        if device is None:
            return cls.parse(_default[0])
        name = str(device)
        if name in ("cpux", "xpux", "cpu"):
            name = "cpu0"
        found = cls._registry.get(name)
        if found is None:
            if not _DEVICE_RE.match(name):
                raise ValueError(f"unknown device {device!r}; expected a name like 'cpu0'")
            raise ValueError(f"device {name!r} is not available; available: {sorted(cls._registry)}")
        return found

    def run(self, op, arrays):
        """Run ``op.forward`` on numpy arrays and return its result."""
        return op.forward(*arrays)

    def __repr__(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self.name)


CPU = Device.register(Device("cpu0"))
_default = ["cpu0"]


def set_default_device(device: str = "cpu0") -> None:
    """Choose the device new tensors are created on."""
    _default[0] = Device.parse(device).name


def get_default_device() -> str:
    """The name of the device new tensors are created on."""
    return _default[0]
