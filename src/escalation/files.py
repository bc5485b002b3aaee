"""File modes for what the commands write, in a module that imports nothing heavy.

Results are written through temporary siblings (`tempfile.mkstemp` and `mkdtemp`),
which are private to their owner (0600 and 0700).  Before one is renamed into place
it gets the mode a file or folder made the ordinary way would have: 0666 or 0777
less the process's umask, so a report or a results folder can be shared as the
user's other files are.
"""

from __future__ import annotations

import functools
import os

__all__ = ["as_if_created"]


@functools.cache
def _umask() -> int:
    # The only portable way to read the umask is to set it and put it back; read
    # once, before any thread of the package writes.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def as_if_created(path: str | os.PathLike[str], *, folder: bool = False) -> None:
    """Give ``path`` the mode it would have had if made by ``open`` or ``mkdir``."""
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())
