"""The functional API, ``import tutorlib.functional as F`` (as ``megengine.functional``).

``F`` holds the elementwise, math and tensor functions; ``F.nn`` adds activations, layers'
functional forms and the **losses** (which live only under ``F.nn``, as in MegEngine).
"""
from . import elemwise, math, tensor
from .elemwise import *  # noqa: F401,F403
from .math import *  # noqa: F401,F403
from .tensor import *  # noqa: F401,F403
