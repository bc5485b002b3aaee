"""Where the blocks of a sweep run: this process, a local process pool, or Dask.

Every executor here is a :class:`concurrent.futures.Executor`, so a sweep only
submits tasks and waits for futures.  Results never depend on the executor: a
run's random numbers are a function of the root seed and its run id alone.

- ``serial``: this process, one task after the other (debugging, tiny sweeps);
- ``local``: a pool of worker processes on this machine (the default);
- ``dask``: a Dask distributed cluster, either one already running (its
  scheduler's address, ``tcp://host:port``) or a local one started here on the
  loopback interface.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from escalation.experiments.replicates import default_workers, pool_context
from escalation.kinds import EXECUTORS

__all__ = [
    "EXECUTORS",
    "ExecutorHandle",
    "SerialExecutor",
    "dask_executor",
    "local_pool",
    "open_executor",
]

T = TypeVar("T")


class SerialExecutor(Executor):
    """Runs each task in this process when it is submitted (a future already done)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future


@dataclass(frozen=True)
class ExecutorHandle:
    """An executor, how many tasks it runs at once, and a description for the manifest.

    ``address`` is a Dask scheduler's (for a local cluster too: others may join it).
    """

    executor: Executor
    workers: int
    description: str
    address: str | None = None


def _watch_parent(parent: int) -> None:
    """End this worker when the process that started it is gone (killed with SIGKILL)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _worker_start(parent: int) -> None:
    # Ctrl-C reaches the whole process group: the parent handles it and stops
    # the pool, so the workers need not print a traceback each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


@contextmanager
def local_pool(workers: int | None = None) -> Iterator[ExecutorHandle]:
    """A pool of worker processes on this machine (all cores by default).

    One worker means no pool: the tasks run in this process.
    """
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        yield ExecutorHandle(SerialExecutor(), 1, "serial (this process)")
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=pool_context(),
        initializer=_worker_start,
        initargs=(os.getpid(),),
    )
    try:
        yield ExecutorHandle(pool, workers, f"local process pool, {workers} workers")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def dask_executor(
    scheduler: str | None = None, workers: int | None = None
) -> Iterator[ExecutorHandle]:
    """A Dask distributed executor.

    Parameters
    ----------
    scheduler
        The address of a running scheduler (``tcp://host:port``); None starts a
        local cluster of worker processes, one thread each, on 127.0.0.1.
    workers
        The local cluster's worker processes (all cores by default); ignored with
        a scheduler, whose workers' threads are counted instead.
    """
    from distributed import Client, LocalCluster

    from escalation.errors import SchedulerError

    if scheduler is not None:
        try:
            client = Client(scheduler)
        except (OSError, ValueError, TypeError) as error:
            raise SchedulerError(
                f"cannot reach the Dask scheduler at {scheduler} ({error}); expected the "
                "address of a running scheduler, tcp://host:port"
            ) from None
        try:
            threads = sum(client.nthreads().values())
            yield ExecutorHandle(
                client.get_executor(pure=False),
                max(1, threads),
                f"dask scheduler {scheduler}, {threads} worker threads",
                scheduler,
            )
        finally:
            client.close()
        return
    workers = default_workers() if workers is None else workers
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = Client(cluster)
    try:
        yield ExecutorHandle(
            client.get_executor(pure=False),
            workers,
            f"dask local cluster, {workers} worker processes",
            cluster.scheduler_address,
        )
    finally:
        client.close()
        cluster.close()


def open_executor(
    kind: str = "local", workers: int | None = None, scheduler: str | None = None
) -> AbstractContextManager[ExecutorHandle]:
    """The context manager of executor ``kind`` (``local``, ``dask`` or ``serial``)."""
    if scheduler is not None and kind != "dask":
        raise ValueError("a scheduler address needs the dask executor")
    if kind == "local":
        return local_pool(workers)
    if kind == "serial":
        return local_pool(1)
    if kind == "dask":
        return dask_executor(scheduler, workers)
    raise ValueError(f"unknown executor {kind!r}; expected one of {', '.join(EXECUTORS)}")
