"""Validation and calibration: does the model reproduce the record and theory?

A targets file lists stylized facts (:mod:`escalation.validation.targets`), each a
statistic of the runs (:mod:`escalation.validation.statistics`); a check compares
them with a scenario's runs (:mod:`escalation.validation.check`) and a calibration
finds the parameter values consistent with them by ABC-SMC
(:mod:`escalation.validation.calibrate`).
"""

import lazy_loader

# What the package exports is listed, and typed, in __init__.pyi; it is imported on
# first use, so that importing one module of the package does not import them all.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
