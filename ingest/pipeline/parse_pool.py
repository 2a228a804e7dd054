"""The parse worker processes: started once per Ingestor, warmed up while the embedding model loads, kept for the
next batch (released after a few idle minutes), and run at a lower CPU priority than the encoder.

Workers fork from a fork server that loaded the parsers once for the whole process (`ingest/pipeline/parse_server.py`):
importing unstructured, spaCy and the PDF code costs ~4 CPU-seconds, which each spawned worker used to pay at every
start, and again whenever its pool came back after an idle release. A worker now starts in ~0.05 s. The server
holds ~660 MB (RSS; the workers share those pages copy-on-write) for as long as the Enclave process runs.
Forked from the server, not from the caller: a worker inherits no model, store handle or thread of the caller.

On a small machine the workers and the encoder share the cores, and the encoder is the limit: at a lower priority,
parsing takes the CPU the encoder leaves idle and all of it when the encoder waits for chunks, so it stays ahead
without slowing the stage that sets the pace.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import threading
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Generator, Sequence, TypeVar

WORKER_NICENESS = 10  # Linux CFS gives a nice-10 process about a tenth of a nice-0 one's share under contention
# A worker's own memory (what parsing a large file allocated) goes back when an app has not ingested for this long;
# the next upload forks new workers from the server in a fraction of a second.
IDLE_SECONDS = 300.0
# One thread per worker: the pool is the parallelism. Tesseract's OpenMP threads spin while they wait for each other:
# one scanned page took 10.5 CPU-s (9.3 s) with them and 2.2 CPU-s (2.2 s) on one thread, here.
SINGLE_THREADED = {"OMP_THREAD_LIMIT": "1", "OMP_NUM_THREADS": "1"}
# What the fork server imports when it starts (once a process), by name: multiprocessing skips a name it cannot
# import without a word, so a wrong one would only make every worker load the parsers itself again.
FORK_SERVER_PRELOAD = "ingest.pipeline.parse_server"

Key = TypeVar("Key")  # what the caller tells its tasks apart by


def prepare_worker(owner: int) -> None:
    """Each worker's start: end with its owner, lower its priority, run its native libraries (and the tools it
    starts) on one thread, go offline and import the parsers before the first file arrives."""
    exit_with_owner(owner)
    os.environ.update(SINGLE_THREADED)  # read by the OpenMP runtime of each Tesseract the worker starts
    try:
        os.nice(WORKER_NICENESS)
    except (AttributeError, OSError):  # not on this platform, or not allowed: parsing merely competes evenly
        pass
    from ingest.pipeline.worker import warm_up

    warm_up()


def exit_with_owner(owner: int) -> None:
    """End this worker as soon as the process that owns the pool (`owner`: the Enclave process) exits, however it ends.

    A kill -9 of the Enclave process (the OOM killer, a container stop) would otherwise leave its workers and the
    fork server (~660 MB of parsers) running until the machine restarts: a worker blocks on its task queue, whose
    write end it holds itself, and the fork server stays while any worker holds the pipe it watches. Once the
    workers are gone, the fork server sees that pipe close and exits too. A pidfd wakes a waiting thread when the
    owner exits (Linux ≥ 5.3); without one, a worker outlives a killed owner as before."""
    try:
        watch = os.pidfd_open(owner)
    except ProcessLookupError:  # the owner died before this worker started
        os._exit(0)
    except (AttributeError, OSError):  # no pidfd on this platform or kernel
        return

    def wait_for_owner() -> None:
        select.select([watch], [], [])
        os._exit(0)

    threading.Thread(target=wait_for_owner, name="exit-with-owner", daemon=True).start()


class ParsePool:
    """A process pool (forked from the parse server: see above) created on first use or by `start`."""

    def __init__(self, workers: int, idle_seconds: float = IDLE_SECONDS) -> None:
        self.workers = max(1, workers)
        self.idle_seconds = idle_seconds
        self._pool: ProcessPoolExecutor | None = None
        self._idle_timer: threading.Timer | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._pool is not None

    @property
    def release_pending(self) -> bool:
        """The workers are idle and will be stopped unless a batch comes first."""
        return self._idle_timer is not None

    def start(self) -> None:
        """Create the workers now, without waiting for them: they import the parsers in the background."""
        with self._lock:
            self._stop_idle_timer()
            self._ensure()

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future:
        with self._lock:
            self._stop_idle_timer()
            return self._ensure().submit(fn, *args)

    def release_when_idle(self) -> None:
        """A batch has ended: stop the workers after `idle_seconds` unless another batch starts first."""
        with self._lock:
            self._stop_idle_timer()
            if self._pool is not None:
                self._idle_timer = threading.Timer(self.idle_seconds, self._release, args=(self._pool,))
                self._idle_timer.daemon = True
                self._idle_timer.start()

    def completed(self, fn: Callable[..., Any],
                  tasks: Sequence[tuple[Key, tuple]]) -> Generator[tuple[Key, Future], None, None]:
        """Run `fn(*args)` for each (key, args) and yield (key, future) as each finishes, not in the order given.

        When a worker dies (a native crash in a parser), Python fails every task the pool still held. Each of those
        runs again alone in fresh workers, so only a task that kills its worker again comes back failed with
        BrokenProcessPool. Close the iterator to cancel what has not started; the workers then wait for the next
        batch until they have been idle for `idle_seconds`."""
        futures = {self.submit(fn, *args): (index, key, args) for index, (key, args) in enumerate(tasks)}
        crashed = []
        try:
            for future in as_completed(futures):
                if isinstance(future.exception(), BrokenProcessPool):
                    crashed.append(futures[future])  # this task, or another one the dead worker took with it
                else:
                    yield futures[future][1], future
            if crashed:
                self.discard()  # broken: every later submit would fail
            for _, key, args in sorted(crashed, key=lambda task: task[0]):
                future = self.submit(fn, *args)
                if isinstance(future.exception(), BrokenProcessPool):
                    self.discard()  # this one kills its worker: the next task gets fresh ones
                yield key, future
        finally:
            for future in futures:
                future.cancel()
            self.release_when_idle()

    def discard(self) -> None:
        """Drop a broken pool (a worker died); the next batch starts a new one."""
        self._shut_down(wait=False)

    def close(self) -> None:
        self._shut_down(wait=True)

    def _shut_down(self, wait: bool) -> None:
        with self._lock:
            self._stop_idle_timer()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    def _release(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not pool or self._idle_timer is None:  # replaced, or a batch came in meanwhile
                return
            self._pool, self._idle_timer = None, None
        pool.shutdown(wait=True)

    def _stop_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _ensure(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([FORK_SERVER_PRELOAD])
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context, initializer=prepare_worker,
                                             initargs=(os.getpid(),))
            # The pool starts a process per submitted task until it has `workers`: one no-op each starts them all.
            for _ in range(self.workers):
                self._pool.submit(os.getpid)
        return self._pool
