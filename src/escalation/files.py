"""Where the commands write, and with what modes, in a module that imports nothing heavy.

`check_folder` and `check_file` refuse, before any work starts, an output that
could not be written or that may not be replaced.

Results are written through temporary siblings (`tempfile.mkstemp` and `mkdtemp`),
which are private to their owner (0600 and 0700).  Before one is renamed into place
it gets the mode a file or folder made the ordinary way would have: 0666 or 0777
less the process's umask, so a report or a results folder can be shared as the
user's other files are.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

from escalation.errors import ResultsExistError

__all__ = ["MANIFEST", "as_if_created", "check_file", "check_folder", "check_place"]

MANIFEST = "manifest.json"
"""The file that makes a folder a results folder (of any command)."""


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


def check_folder(out: str | os.PathLike[str], force: bool, flag: str = "--out") -> Path:
    """Refuse, before any work, a results folder that may not be (re)placed at ``out``.

    ``force`` replaces an existing results folder (one with a manifest) or an empty
    folder, never another folder: a user's documents are not results.

    Raises
    ------
    ResultsExistError
        ``out`` exists and may not be replaced; it is the current folder or one
        above it; or its place cannot be written.
    """
    path = Path(out)
    check_place(path, flag)
    if path.exists():
        if not path.is_dir():
            raise ResultsExistError(f"{path}: exists and is not a folder; choose another {flag}")
        if not force:
            raise ResultsExistError(
                f"{path}: the results folder already exists; choose another {flag} or pass "
                "--force to replace it"
            )
        if not (path / MANIFEST).is_file() and any(path.iterdir()):
            raise ResultsExistError(
                f"{path}: holds files but is not a results folder (no {MANIFEST}), so --force "
                f"does not replace it; choose another {flag}"
            )
    return path


def check_file(out: str | os.PathLike[str], force: bool, flag: str = "-o") -> Path:
    """Refuse, before any work, a file that may not be (re)placed at ``out``.

    Raises
    ------
    ResultsExistError
        ``out`` is a folder, exists without ``force``, or cannot be written.
    """
    path = Path(out)
    if path.is_dir():
        raise ResultsExistError(f"{flag} {path}: is a folder; name a file")
    if path.exists() and not force:
        raise ResultsExistError(
            f"{path} exists; choose another {flag} or pass --force to replace it"
        )
    _check_parent(path, flag)
    return path


def check_place(path: Path, flag: str = "--out") -> None:
    """Refuse a results folder at ``path`` if it is the current folder or one above it,
    or if its nearest existing parent is not a folder this process can write in (the
    folders below it are made when the output is written).

    Raises
    ------
    ResultsExistError
        Saying which, and naming ``flag``.
    """
    here = Path.cwd().resolve()
    resolved = path.resolve()
    if path.name in ("", ".", "..") or resolved == here or resolved in here.parents:
        raise ResultsExistError(
            f"{flag} {path}: the current folder or one above it; name a new folder for the results"
        )
    _check_parent(path, flag)


def _check_parent(path: Path, flag: str) -> None:
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ResultsExistError(f"{flag} {path}: {parent} is a file, not a folder")
    try:
        # Permissions alone do not tell (a read-only or special file system, root):
        # try, with a file that has no name and goes when closed.
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as error:
        raise ResultsExistError(
            f"{flag} {path}: cannot write in {parent} ({error.strerror or error})"
        ) from None
