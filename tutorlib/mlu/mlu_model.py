"""``import tutorlib.mlu.mlu_model as ct``: the Cambricon PyTorch device API, emulated.

The names follow ``torch_mlu.core.mlu_model`` of the CNML era (MLU270/MLU220 cards)::

    ct.set_core_number(16); ct.set_core_version("MLU270"); ct.set_input_format(0)
    qmodel = mlu_quantize.quantize_dynamic_mlu(net)            # then load the calibrated state
    qmodel.load_state_dict(tl.load("net_int8.tl"), strict=False)
    y = qmodel.to(ct.mlu_device())(x.to(ct.mlu_device()))    # per-operator mode

Settings are recorded in ``config`` and checked as the card checks them:

>>> set_core_version("MLU220")
>>> set_core_number(8)
Traceback (most recent call last):
...
ValueError: set_core_number: MLU220 has 4 cores, got 8 (use 1..4)
>>> set_core_version("MLU270"); set_core_number(16); config.core_number
16
"""
from __future__ import annotations

from dataclasses import dataclass

from ..device import Device
from . import graph as _graph
from .cost import CARDS as CARDS_COST
from .cost import FREE, Profile, op_cost
from .device import MLU, capture
from .graph import Program

CORES = {"MLU270": 16, "MLU220": 4}
INPUT_FORMATS = {0: "RGBA", 1: "ARGB", 2: "BGRA", 3: "ABGR"}


@dataclass
class Config:
    """What the ``set_*`` functions recorded (one MLU per process, as in torch_mlu)."""

    core_version: str = "MLU270"
    core_number: int = 16
    input_format: int = 0
    cnml_enabled: bool = True
    offline_name: str = ""     # set by save_as_cambricon: the next trace also writes a file


config = Config()


def mlu_device() -> Device:
    """The emulated MLU, ``mlu0`` (torch_mlu returns ``torch.device('mlu')``).

    >>> mlu_device()
    mlu0
    """
    return MLU


def set_core_version(version: str) -> None:
    """Target card: ``"MLU270"`` (16 cores, the default) or ``"MLU220"`` (4 cores, edge).

    Choosing MLU220 while more than 4 cores are set lowers the core number to 4.
    """
    if version not in CORES:
        raise ValueError(f"set_core_version: expected one of {sorted(CORES)}, got {version!r}")
    config.core_version = version
    config.core_number = min(config.core_number, CORES[version])


def set_core_number(n: int) -> None:
    """Number of cores a fused (traced) model runs on: 1..16 on MLU270, 1..4 on MLU220."""
    limit = CORES[config.core_version]
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= limit:
        raise ValueError(f"set_core_number: {config.core_version} has {limit} cores, got {n!r} "
                         f"(use 1..{limit})")
    config.core_number = n


def set_input_format(k: int) -> None:
    """Channel order of 4-channel input to a 3-channel first conv (``firstconv``):
    0 = RGBA (default), 1 = ARGB, 2 = BGRA, 3 = ABGR. Inference on the MLU only."""
    if isinstance(k, bool) or k not in INPUT_FORMATS:
        raise ValueError(f"set_input_format: expected 0..3 ({INPUT_FORMATS}), got {k!r}")
    config.input_format = k


def set_cnml_enabled(flag: bool) -> None:
    """``True``: inference and offline models (CNML); ``False``: training (CNNL), which
    ``adaptive_quantize`` needs."""
    if not isinstance(flag, bool):
        raise TypeError(f"set_cnml_enabled: expected True or False, got {flag!r}")
    config.cnml_enabled = flag


def to(optimizer, device):
    """Put ``optimizer`` on ``device`` and return it: ``opt = ct.to(optim.SGD(...), ct.mlu_device())``.

    tutorlib keeps optimizer state as arrays beside the parameters, so there is nothing to copy;
    what can go wrong is a model left on another device, and that is an error here:

    >>> import tutorlib.module as M, tutorlib.optimizer as optim
    >>> net = M.Linear(2, 1)
    >>> to(optim.SGD(net.parameters(), lr=0.1), mlu_device())
    Traceback (most recent call last):
    ...
    ValueError: ct.to(optimizer, mlu0): 2 parameter(s) are on cpu0; move the model first (model.to(mlu0))
    >>> opt = to(optim.SGD(net.to(mlu_device()).parameters(), lr=0.1), mlu_device())
    """
    device = Device.parse(device)
    away = [p for group in optimizer.param_groups for p in group["params"] if p.device != device]
    if away:
        raise ValueError(f"ct.to(optimizer, {device}): {len(away)} parameter(s) are on "
                         f"{away[0].device}; move the model first (model.to({device}))")
    return optimizer


def save_as_cambricon(name: str) -> None:
    """From now on every ``ct.trace`` also writes the offline model ``name + ".cambricon"``;
    ``save_as_cambricon("")`` turns it off."""
    if not isinstance(name, str):
        raise TypeError(f"save_as_cambricon: expected a file name (str), got {name!r}")
    config.offline_name = name


def trace(model, example) -> Program:
    """Fused (CNML) mode: record ``model`` on ``example`` and compile it into one program.

    Folds batch norm into the conv before it, fuses conv/linear + ReLU, plans buffers and
    pre-quantizes the weights (:mod:`tutorlib.mlu.graph`). The program is specialised to
    ``example``'s shape, for the current core version and number.
    """
    if not config.cnml_enabled:
        raise ValueError("trace: fused mode is CNML; call ct.set_cnml_enabled(True) first "
                         "(False is the training setting)")
    program = _graph.trace(model, example, config.core_version, config.core_number)
    if config.offline_name:
        program.save(config.offline_name + ".cambricon")
    return program


def load_offline(path: str) -> Program:
    """Load an offline model (``.cambricon``) and return a runnable :class:`~tutorlib.mlu.graph.Program`."""
    return _graph.load_offline(path)


def profile(model, x, cores: int | None = None, core_version: str | None = None) -> Profile:
    """Simulated latency of ``model(x)`` per op: per-operator mode for a model, fused for a Program.

    Per-operator mode launches every op and sends every intermediate through DRAM (the op's
    own core count is used, up to ``cores``). Returns a :class:`~tutorlib.mlu.cost.Profile`.
    """
    if isinstance(model, Program):
        return model.profile(cores, core_version)
    card = CARDS_COST[core_version or config.core_version]
    cores = cores or min(config.core_number, card.cores)
    with capture() as launches:
        model(x)
    rows = [op_cost(l.op, list(l.inputs), l.output,
                    l.fixed_point.bitwidth if l.fixed_point else None, card, cores)
            for l in launches]
    free = sum(1 for r in rows if r.op in FREE)
    return Profile(rows, len(rows) - free, card, cores, "per operator")
