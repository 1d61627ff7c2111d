"""Automatic differentiation: :class:`GradManager` records ops, :class:`Graph` shows them,
:class:`detect_anomaly` finds the first op that produced a NaN or Inf."""
from .anomaly import detect_anomaly, is_anomaly_enabled
from .grad_manager import GradManager
from .graph import Graph, GraphNode

__all__ = ["GradManager", "Graph", "GraphNode", "detect_anomaly", "is_anomaly_enabled"]
