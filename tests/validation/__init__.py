"""Tests of escalation.validation: targets, statistics, check, calibration, known results."""
