"""Run a scenario: ``python run_sim.py SCENARIO [options]`` is ``escalation run SCENARIO``."""

import sys

from escalation.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
