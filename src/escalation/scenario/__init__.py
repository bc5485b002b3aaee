"""The scenario language: YAML text -> validated, frozen, typed :class:`Scenario`."""

import lazy_loader

# What the package exports is listed, and typed, in __init__.pyi; it is imported on
# first use, so that importing one module of the package does not import them all.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
