"""Two MNIST networks shared by chapter 7, the MLU tests and ``benchmarks/mlu.py``.

* :class:`LeNet`: conv 1→6 (5×5, pad 2) → ReLU → pool → conv 6→16 (5×5) → ReLU → pool →
  fc 400→120→84→10, optionally with batch norm after each conv (to show BN folding);
* :class:`GuideNet`: the network of the Cambricon quick guide: conv 1→32 → ReLU → conv 32→64
  (3×3) → ReLU → max-pool → dropout → fc 9216→128 → ReLU → dropout → fc 128→10 → log_softmax.

>>> import numpy as np, tutorlib as tl
>>> LeNet()(tl.Tensor(np.zeros((2, 1, 28, 28), np.float32))).shape
(2, 10)
>>> GuideNet()(tl.Tensor(np.zeros((1, 1, 28, 28), np.float32))).shape
(1, 10)
"""

from .. import functional as F
from .. import module as M


class LeNet(M.Module):
    """LeNet-5 for 28×28 digits; ``batch_norm=True`` adds BatchNorm2d after each conv."""

    def __init__(self, batch_norm: bool = False):
        super().__init__()
        self.conv1 = M.Conv2d(1, 6, 5, padding=2)
        self.bn1 = M.BatchNorm2d(6) if batch_norm else None
        self.conv2 = M.Conv2d(6, 16, 5)
        self.bn2 = M.BatchNorm2d(16) if batch_norm else None
        self.fc1 = M.Linear(16 * 5 * 5, 120)
        self.fc2 = M.Linear(120, 84)
        self.fc3 = M.Linear(84, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.max_pool2d(F.relu(self.bn1(x) if self.bn1 else x), 2)
        x = self.conv2(x)
        x = F.max_pool2d(F.relu(self.bn2(x) if self.bn2 else x), 2)
        x = F.relu(self.fc1(F.flatten(x, 1)))
        return self.fc3(F.relu(self.fc2(x)))


class GuideNet(M.Module):
    """The Cambricon guide's MNIST network (returns log-probabilities)."""

    def __init__(self):
        super().__init__()
        self.conv1 = M.Conv2d(1, 32, 3)
        self.conv2 = M.Conv2d(32, 64, 3)
        self.dropout1 = M.Dropout(0.25)
        self.dropout2 = M.Dropout(0.5)
        self.fc1 = M.Linear(9216, 128)
        self.fc2 = M.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(F.flatten(self.dropout1(x), 1)))
        return F.logsoftmax(self.fc2(self.dropout2(x)), axis=1)
