"""Pictures for the course: recorded graphs, image grids and training curves (matplotlib only)."""
from .curves import plot_history
from .graph import draw_graph
from .images import show_images

__all__ = ["draw_graph", "show_images", "plot_history"]
