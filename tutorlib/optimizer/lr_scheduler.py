"""Learning-rate schedules, stepped once per epoch (as ``megengine.optimizer.lr_scheduler``).

The constructor records each group's ``initial_lr`` and calls ``step()`` once, so right after
construction ``current_epoch`` is 0 and the groups hold the epoch-0 learning rate.

>>> import tutorlib as tl
>>> from tutorlib.optimizer import SGD
>>> opt = SGD([tl.Parameter(1.0)], lr=0.1)
>>> sched = MultiStepLR(opt, milestones=[2, 4], gamma=0.1)
>>> lrs = []
>>> for epoch in range(6):
...     lrs.append(round(opt.param_groups[0]["lr"], 6))
...     sched.step()
>>> lrs
[0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
"""
from __future__ import annotations

import math
from bisect import bisect_right

from .. import _validate as check
from .optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses define ``get_lr()``, the list of learning rates for ``current_epoch``."""

    def __init__(self, optimizer: Optimizer, current_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer argument given to the lr_scheduler should be an Optimizer, "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.current_epoch = check.integer(type(self).__name__, "current_epoch", current_epoch, low=-1)
        for i, group in enumerate(optimizer.param_groups):
            if current_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when "
                               f"resuming an optimizer")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.step()

    def get_lr(self) -> list:
        raise NotImplementedError(f"{type(self).__name__} must define get_lr")

    def step(self, epoch: int | None = None) -> None:
        """Advance to ``epoch`` (default: the next one) and write the new rates into the groups."""
        self.current_epoch = self.current_epoch + 1 if epoch is None else epoch
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr

    def state_dict(self) -> dict:
        """The scheduler's settings and epoch (everything but the optimizer)."""
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
        vars(self).update(state_dict)


class MultiStepLR(LRScheduler):
    """lr = base_lr · gamma ** (number of milestones ≤ epoch)."""

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1, current_epoch: int = -1):
        milestones = [check.integer("MultiStepLR", "milestones", m) for m in milestones]
        if milestones != sorted(milestones):
            raise ValueError(f"MultiStepLR: milestones should be increasing integers, got {milestones}")
        self.milestones = milestones
        self.gamma = check.real("MultiStepLR", "gamma", gamma, low=0.0)
        super().__init__(optimizer, current_epoch)

    def get_lr(self) -> list:
        return [lr * self.gamma ** bisect_right(self.milestones, self.current_epoch)
                for lr in self.base_lrs]


class StepLR(LRScheduler):
    """lr = base_lr · gamma ** (epoch // step_size).

    >>> import tutorlib as tl
    >>> from tutorlib.optimizer import SGD
    >>> opt = SGD([tl.Parameter(1.0)], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> for _ in range(3): sched.step()
    >>> opt.param_groups[0]["lr"]
    0.5
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, current_epoch: int = -1):
        self.step_size = check.positive_int("StepLR", "step_size", step_size)
        self.gamma = check.real("StepLR", "gamma", gamma, low=0.0)
        super().__init__(optimizer, current_epoch)

    def get_lr(self) -> list:
        return [lr * self.gamma ** (self.current_epoch // self.step_size) for lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr − eta_min)·(1 + cos(π·epoch/T_max))/2.

    >>> import tutorlib as tl
    >>> from tutorlib.optimizer import SGD
    >>> opt = SGD([tl.Parameter(1.0)], lr=1.0)
    >>> sched = CosineAnnealingLR(opt, T_max=4)
    >>> for _ in range(2): sched.step()
    >>> round(opt.param_groups[0]["lr"], 6)
    0.5
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, current_epoch: int = -1):
        self.T_max = check.positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = check.real("CosineAnnealingLR", "eta_min", eta_min, low=0.0)
        super().__init__(optimizer, current_epoch)

    def get_lr(self) -> list:
        cos = (1 + math.cos(math.pi * self.current_epoch / self.T_max)) / 2
        return [self.eta_min + (lr - self.eta_min) * cos for lr in self.base_lrs]
