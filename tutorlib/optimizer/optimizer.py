"""``Optimizer``: the base class holding parameter groups and per-parameter state.

Subclasses implement ``_create_state(param)`` (the state arrays a parameter starts with),
``_update(group)`` (one step for every parameter of a group that has a gradient) and
``_check_group(group)`` (refuse bad hyperparameters, in the constructor or ``add_param_group``).

Implementation rules, kept by every optimizer here: gradients are never modified in place
(arrays may be shared), each update assigns a **new** array to ``p._data`` (so earlier
``p.detach()`` snapshots keep their values), and arithmetic stays float32.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Parameter

required = object()   # marks a hyperparameter without a default (e.g. SGD's lr)


class Optimizer:
    """Base class: ``params`` is an iterable of Parameters, or of dicts (param groups with their
    own options), ``defaults`` the options every group gets unless it sets them.

    ``step()`` returns ``self`` so that ``opt.step().clear_grad()`` works.
    """

    def __init__(self, params, defaults: dict):
        self._defaults = defaults
        self.param_groups: list = []
        self._state: dict = {}   # id(param) -> {name: array or number}
        if isinstance(params, (Parameter, dict)):
            params = [params]
        if isinstance(params, set):
            raise TypeError("optimizer parameters must be an ordered collection (a list), not a set")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group: a dict with ``"params"`` and optionally its own hyperparameters."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError("optimizer parameters must be an ordered collection (a list), not a set")
        params = [params] if isinstance(params, Parameter) else list(params)
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError("optimizer can only optimize Parameters, but one of the params is "
                                + str(type(p)))
        group = dict(param_group, params=params)
        for name, default in self._defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            group.setdefault(name, default)
        self._check_group(group)
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)
        for p in params:
            self._state[id(p)] = self._create_state(p)

    def _check_group(self, group: dict) -> None:
        """Raise ValueError/TypeError naming the optimizer and option if one is out of range."""

    def _create_state(self, param: Parameter) -> dict:
        return {}

    def _update(self, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _update")

    def step(self) -> Optimizer:
        """Update every parameter that has a gradient (those with ``grad is None`` are skipped)."""
        for group in self.param_groups:
            self._update(group)
        return self

    def clear_grad(self) -> Optimizer:
        """Set every parameter's ``grad`` to None."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None
        return self

    @staticmethod
    def _grads(group: dict, l2: bool = True):
        """``(param, grad)`` for the group's params that have a gradient; with ``l2`` the
        weight decay is added to the gradient (g + wd·p), as SGD, Adam and Adagrad do."""
        wd = np.float32(group.get("weight_decay", 0.0))
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad._data
            if g.dtype != p.dtype:
                g = g.astype(p.dtype)
            yield p, (g + wd * p._data if l2 and wd else g)

    def state_dict(self) -> dict:
        """``{"param_groups": [options, params as indices], "state": {index: {name: array}}}``.

        Only numpy arrays, numbers, lists and tuples, so it can be stored with ``tutorlib.save``.
        """
        index = {}
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
        groups = [dict(group, params=[index[id(p)] for p in group["params"]])
                  for group in self.param_groups]
        state = {index[key]: {name: (v.copy() if isinstance(v, np.ndarray) else v)
                              for name, v in st.items()}
                 for key, st in self._state.items()}
        return {"param_groups": groups, "state": state}

    def load_state_dict(self, state: dict) -> None:
        """Restore hyperparameters and state saved by :meth:`state_dict` (same parameter layout)."""
        saved = state["param_groups"]
        if len(saved) != len(self.param_groups) or any(
                len(s["params"]) != len(g["params"]) for s, g in zip(saved, self.param_groups)):
            raise ValueError("load_state_dict: the saved optimizer has a different number of "
                             "parameter groups or parameters per group")
        new_state = {}
        for s, group in zip(saved, self.param_groups):
            for idx, p in zip(s["params"], group["params"]):
                entry = state["state"][idx]
                for name, v in entry.items():
                    if isinstance(v, np.ndarray) and v.shape != p.shape:
                        raise ValueError(f"load_state_dict: state {name!r} of parameter {idx} has "
                                         f"shape {v.shape}, expected {p.shape}")
                new_state[id(p)] = {name: (np.array(v, dtype=p.dtype) if isinstance(v, np.ndarray) else v)
                                    for name, v in entry.items()}
        self._state.update(new_state)
        for s, group in zip(saved, self.param_groups):
            group.update({k: v for k, v in s.items() if k != "params"})
