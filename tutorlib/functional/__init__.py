"""The functional API, ``import tutorlib.functional as F`` (as ``megengine.functional``).

``F`` holds the elementwise, math and tensor functions and the non-loss functions of ``F.nn``
(``F.relu``, ``F.softmax``, ``F.conv2d``, ...). The **losses** live only under ``F.nn`` and
``F.loss`` (``F.nn.cross_entropy``), as in MegEngine; ``F.topk_accuracy`` comes from ``F.metric``.

>>> import tutorlib.functional as F
>>> hasattr(F, "cross_entropy"), hasattr(F.nn, "cross_entropy"), hasattr(F.nn, "tanh")
(False, True, False)
"""
from . import elemwise, math, tensor
from .elemwise import *  # noqa: F401,F403
from .math import *  # noqa: F401,F403
from .tensor import *  # noqa: F401,F403
from . import nn, loss, metric  # noqa: E402  (nn first: loss imports from it)
from .nn import *  # noqa: F401,F403
from .metric import topk_accuracy  # noqa: F401
