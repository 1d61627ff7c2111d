"""Automatic differentiation: :class:`GradManager` records ops, :class:`Graph` shows them."""
from .grad_manager import GradManager
from .graph import Graph, GraphNode

__all__ = ["GradManager", "Graph", "GraphNode"]
