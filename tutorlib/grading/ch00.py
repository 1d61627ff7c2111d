"""Checks of chapter 0, the quick start: one small exercise, counting a model's parameters.

``count_parameters(model)`` returns how many numbers a ``Module`` learns: the total number of
entries of all its parameters (``solutions/ch00-quick-start.ipynb``).

>>> from tutorlib.grading import run_check, get
>>> bool(run_check(get("ch00.count_parameters"),
...                lambda model: sum(p.size for p in model.parameters())))
True
>>> bool(run_check(get("ch00.count_parameters"), lambda model: len(list(model.parameters()))))
False
"""

from __future__ import annotations

import numpy as np

import tutorlib.functional as F
import tutorlib.module as M
from tutorlib.grading import exercise


class _LeNet(M.Module):
    """The quick start's LeNet (the check's own copy)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.pool1 = M.Conv2d(1, 6, 5), M.MaxPool2d(2)
        self.conv2, self.pool2 = M.Conv2d(6, 16, 5), M.MaxPool2d(2)
        self.fc1, self.fc2, self.classifier = M.Linear(400, 120), M.Linear(120, 84), M.Linear(84, 10)

    def forward(self, x):
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = F.flatten(x, 1)
        return self.classifier(F.relu(self.fc2(F.relu(self.fc1(x)))))


class _Nothing(M.Module):
    def forward(self, x):
        return x


@exercise("ch00.count_parameters", points=2, name="count_parameters",
          title="How many numbers does a model learn?",
          hint="Loop over model.parameters() and add up p.size (the number of entries of each "
               "parameter: a (6, 1, 5, 5) weight has 6*1*5*5 = 150). Don't count the parameters "
               "(len), count their entries.")
def check_count_parameters(count_parameters, t):
    cases = [
        (M.Linear(3, 4), 3 * 4 + 4, "M.Linear(3, 4)"),
        (M.Linear(784, 10, bias=False), 7840, "M.Linear(784, 10, bias=False)"),
        (M.Conv2d(3, 8, 3), 8 * 3 * 3 * 3 + 8, "M.Conv2d(3, 8, 3)"),
        (M.Sequential(M.Linear(2, 5), M.ReLU(), M.Linear(5, 1)), 2 * 5 + 5 + 5 + 1,
         "M.Sequential(M.Linear(2, 5), M.ReLU(), M.Linear(5, 1))"),
        (_Nothing(), 0, "a module without parameters"),
        (_LeNet(), 61706, "the quick start's LeNet"),
    ]
    for model, expected, what in cases:
        got = count_parameters(model)
        t.holds(np.ndim(got) == 0 and float(got) == int(got),
                "count_parameters(model) returns a whole number", got=got)
        t.close(int(got), expected, f"count_parameters({what})", rtol=0, atol=0)
