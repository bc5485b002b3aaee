"""Validation and calibration: does the model reproduce the record and theory?

A targets file lists stylized facts (:mod:`escalation.validation.targets`), each a
statistic of the runs (:mod:`escalation.validation.statistics`); a check compares
them with a scenario's runs (:mod:`escalation.validation.check`) and a calibration
finds the parameter values consistent with them by ABC-SMC
(:mod:`escalation.validation.calibrate`).
"""

from escalation.validation.calibrate import Calibration, calibrate
from escalation.validation.check import CheckResult, check_scenario
from escalation.validation.statistics import STATISTICS, Sample
from escalation.validation.targets import Target, Targets, TargetsError, load_targets

__all__ = [
    "STATISTICS",
    "Calibration",
    "CheckResult",
    "Sample",
    "Target",
    "Targets",
    "TargetsError",
    "calibrate",
    "check_scenario",
    "load_targets",
]
