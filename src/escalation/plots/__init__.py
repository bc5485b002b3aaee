"""Figures of results: ``plot_x(frame, ax=None, **style) -> Axes``, matplotlib's object API only.

Every function draws on the axes given, or on a new figure's, and returns the axes;
none touches pyplot's global state. Axes are labelled with their units, each actor
has one colour in every figure (:mod:`escalation.plots.palette`), and a caption
gives the number of runs and the seed.
"""

import lazy_loader

# What the package exports is listed, and typed, in __init__.pyi; it is imported on
# first use, so that importing one module of the package does not import them all.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
