"""Errors that are the user's to fix, in a module that imports nothing.

The command line catches them to print a message and exit with code 2; defining
them here lets it do so without first loading the engine or the storage layer.
"""

from __future__ import annotations

__all__ = ["ModelError", "ResultsError", "ResultsExistError", "SchedulerError"]


class ModelError(ValueError):
    """A scenario value that turned impossible during a run (a probability of 1.3).

    ``path`` is where the scenario gives the value (``("actors", "a", "policy", 0,
    "probability")``), when known: the command line turns it into a file and line.
    """

    def __init__(self, message: str, path: tuple[str | int, ...] | None = None) -> None:
        super().__init__(message)
        self.path = path

    def __reduce__(self) -> tuple[type[ModelError], tuple[str, tuple[str | int, ...] | None]]:
        # Raised in pool workers: the path crosses to the parent with the message.
        return (type(self), (str(self), self.path))


class ResultsExistError(FileExistsError):
    """The output folder exists and ``force`` was not given."""


class ResultsError(ValueError):
    """A folder given as results that cannot be read as such: another command's
    results, a damaged table or manifest."""


class SchedulerError(ConnectionError):
    """The Dask scheduler given by its address cannot be reached."""
