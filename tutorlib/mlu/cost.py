"""A cost **model** of the MLU: simulated time per op, from published peaks and stated assumptions.

Nothing here is measured on a card. Each op costs a roofline estimate plus a launch::

    compute_us = FLOPs / (peak ops/s of its arithmetic · cores used / cores on the card)
    memory_us  = bytes moved to or from DRAM / DRAM bandwidth
    op_us      = max(compute_us, memory_us)        (compute and transfers overlap)
    launch_us  = paid once per op in per-operator mode, once per program when fused

*Per-operator* mode (CNNL, eager): every op reads its inputs from DRAM and writes its result
back. *Fused* mode (CNML, ``ct.trace``): one launch; only the program's input, its output and
the constants (int8/int16 weights) cross DRAM, intermediates stay in on-chip memory (assumed
to fit, true for LeNet-sized layers). Fixed-point conv/linear run at the int8 or int16 peak,
everything else at the float16 peak; activations are float16 (2 bytes). An op can keep at most
as many cores busy as it has independent rows of work (output channels × batch for conv/linear,
output elements / 1024 otherwise).

Card figures (``CARDS``) and where they come from:

=====================  ===========  ==========  =================================================
                       MLU270       MLU220      source / status
=====================  ===========  ==========  =================================================
cores                  16           4           torch_mlu ``set_core_number`` limits (api-ref §2.2)
int8 peak (TOPS)       128          8           MLU270: "int8 128 Tops, int4 256 Tops" (press
                                                report of the chip, n.znds.com/mip/37793.html);
                                                MLU220: 8 TOPS from Cambricon's product page
                                                as recalled, **not re-checked**
int16 peak (TOPS)      64           4           **assumption**: half the int8 rate
float16 peak (TFLOPS)  16           1           **assumption**: an eighth of the int8 rate
DRAM bandwidth (GB/s)  102.4        25.6        **assumption**: 4-channel DDR4-3200 (the
                                                MLU100 card's published memory system) and a
                                                64-bit LPDDR4x-3200 for the edge module
launch overhead (µs)   10           10          **assumption**: driver + queue latency of one
                                                kernel launch, typical of PCIe accelerators
=====================  ===========  ==========  =================================================

>>> card = CARDS["MLU270"]
>>> c = op_cost("conv2d", [(1, 1, 28, 28), (32, 1, 3, 3), (1, 32, 1, 1)], (1, 32, 26, 26), 8, card, 16)
>>> c.flops, c.bytes
(389376, 45184)
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Card(NamedTuple):
    """Peak rates of one MLU card (see the table in the module docstring)."""

    name: str
    cores: int
    int8_tops: float
    int16_tops: float
    fp16_tflops: float
    dram_gbs: float
    launch_us: float


CARDS = {
    "MLU270": Card("MLU270", 16, 128.0, 64.0, 16.0, 102.4, 10.0),
    "MLU220": Card("MLU220", 4, 8.0, 4.0, 1.0, 25.6, 10.0),
}
FREE = ("reshape",)          # views: no launch, no data moved
HALF = 2                     # bytes of a float16 activation


class OpCost(NamedTuple):
    """The model's estimate for one op (``us`` excludes the launch)."""

    op: str
    shape: tuple
    flops: int
    bytes: int
    us: float


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def flops_of(op: str, inputs: list, output: tuple) -> int:
    """Arithmetic operations (a multiply-add counts 2) of ``op`` with these shapes.

    >>> flops_of("linear", [(64, 9216), (128, 9216)], (64, 128))
    150994944
    """
    if op == "conv2d":
        return 2 * _size(output) * _size(inputs[1][1:])
    if op == "linear":
        return 2 * _size(output) * inputs[1][1]
    if op in FREE:
        return 0
    if op in ("max_pool2d", "log_sum_exp", "avg_pool2d", "adaptive_avg_pool2d"):
        return _size(inputs[0])
    return _size(output)


def op_cost(op: str, inputs: list, output: tuple, bits: int | None, card: Card, cores: int,
            dram_inputs=None, dram_output: bool = True, relu: bool = False) -> OpCost:
    """Estimate one op. ``dram_inputs`` (default: all) says which inputs are read from DRAM;
    ``bits`` is 8/16 for fixed-point conv/linear (input 1 is then the weight), else None."""
    flops = flops_of(op, inputs, output) + (_size(output) if relu else 0)
    if op in FREE:
        return OpCost(op, tuple(output), 0, 0, 0.0)
    dram_inputs = [True] * len(inputs) if dram_inputs is None else dram_inputs
    nbytes = 0
    for i, (shape, read) in enumerate(zip(inputs, dram_inputs)):
        if read:
            nbytes += _size(shape) * (bits // 8 if bits and i == 1 else HALF)
    if dram_output:
        nbytes += _size(output) * HALF
    if bits:
        peak = (card.int8_tops if bits == 8 else card.int16_tops) * 1e12
        rows = output[1] * output[0] if len(output) > 1 else output[0]
    else:
        peak = card.fp16_tflops * 1e12
        rows = max(1, _size(output) // 1024)
    used = min(cores, card.cores, max(1, rows))
    compute = flops / (peak * used / card.cores)
    memory = nbytes / (card.dram_gbs * 1e9)
    return OpCost(op, tuple(output), int(flops), int(nbytes), 1e6 * max(compute, memory))


class Profile:
    """A table of simulated per-op costs: ``print(profile)``, ``profile.total_us``.

    ``launches`` is the number of kernel launches (one per op, or one for a fused program).
    """

    def __init__(self, rows: list, launches: int, card: Card, cores: int, mode: str):
        self.rows, self.launches, self.card, self.cores, self.mode = rows, launches, card, cores, mode

    @property
    def launch_us(self) -> float:
        """Time spent launching kernels."""
        return self.launches * self.card.launch_us

    @property
    def total_us(self) -> float:
        """Simulated latency: every op's time plus the launches."""
        return sum(r.us for r in self.rows) + self.launch_us

    def __str__(self) -> str:
        total = self.total_us
        lines = [(f"simulated (a model, not a measurement): {self.card.name}, {self.cores} "
                  f"core(s), {self.mode}"),
                 f"{'op':<18}{'shape':<20}{'FLOPs':>12}{'bytes':>11}{'sim µs':>10}{'share':>8}"]
        for r in self.rows:
            lines.append(f"{r.op:<18}{r.shape!s:<20}{r.flops:>12,}{r.bytes:>11,}"
                         f"{r.us:>10.2f}{r.us / total:>8.1%}")
        lines.append(f"{'launches':<18}{self.launches:<20}{'':>12}{'':>11}"
                     f"{self.launch_us:>10.2f}{self.launch_us / total:>8.1%}")
        lines.append(f"{'total':<18}{'':<20}{sum(r.flops for r in self.rows):>12,}"
                     f"{sum(r.bytes for r in self.rows):>11,}{total:>10.2f}{1:>8.0%}")
        return "\n".join(lines)

    __repr__ = __str__
