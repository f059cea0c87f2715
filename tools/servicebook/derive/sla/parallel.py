"""The forked-worker runner of the SLA engine: one measurement of many records shared between
processes, giving exactly the results, in exactly the order, of one process.

Sharing the inputs: the workers are forked, so they hold what the caller holds at the fork (the
engine, its records, the caches it prepared before: ``Engine._prepare_fork``) without anything
being sent to them. Chunking: the items are cut into chunks (at least ``_CHUNK`` items, at most
``_MAX_CHUNKS`` chunks) whose numbers wait in a pipe, 4 bytes each; every process, this one
included, takes the next number in turn, so one slowed down takes fewer. Collecting: a worker
writes each chunk's results to its spool file, encoded as tuples of plain values (pickled; a zone
pickles as its key), and says where on its own pipe; this process reads them in between its own
chunks and decodes them, and measures any chunk a failed worker took.

Forking is what makes this cheap (no pickled engine, no re-read corpus), so where the platform
cannot fork safely (``can_fork``) the caller measures in one process.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.connection
import os
import pickle
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["PARALLEL_MIN_RECORDS", "can_fork", "run", "workers_for"]

# Records of clocked kinds per process from which Engine.clocks forks workers: below this, forking
# and sending the clocks back cost more than the second core saves.
PARALLEL_MIN_RECORDS = 10_000
_CHUNK = 1000  # records per share of the work between processes: the last one may wait on one
_MAX_CHUNKS = 1024  # their numbers fill at most 4 KiB of a pipe: written at once, before any read


def workers_for(n: int) -> int:
    """Processes worth forking for ``n`` records: one per available core, as long as each gets at
    least ``PARALLEL_MIN_RECORDS`` (0 or 1: measure in this process)."""
    return min(_cores(), n // PARALLEL_MIN_RECORDS)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether a worker can be forked safely: the platform forks (macOS can, but its system
    libraries do not survive it), this process is no daemonic worker (those may not have
    children), and no other thread runs (the child would inherit the locks it holds)."""
    return ("fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"
            and not multiprocessing.current_process().daemon
            and threading.active_count() == 1)


def run(measure: Callable[[list], list], items: list, workers: int, *,
        encode: Callable[[Any], tuple], decode: Callable[..., Any]) -> list:
    """``measure(items)``, shared with ``workers - 1`` forked children (only call it where
    ``can_fork()``): ``measure`` takes a chunk of ``items`` and gives its results in order;
    ``encode(result)`` is the tuple of plain values a child sends back, ``decode(*values)`` the
    result again."""
    ctx = multiprocessing.get_context("fork")
    size = max(_CHUNK, -(-len(items) // _MAX_CHUNKS))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    results: list[list | None] = [None] * len(chunks)
    tokens, fill = os.pipe()
    os.write(fill, b"".join(k.to_bytes(4, "little") for k in range(len(chunks))))
    os.close(fill)  # once all are taken, reading gives b""
    children = []
    done = False
    try:
        for _ in range(workers - 1):
            receive, send = ctx.Pipe(duplex=False)
            spool = tempfile.TemporaryFile()
            proc = ctx.Process(target=_work, args=(measure, encode, chunks, tokens, send, spool), daemon=True)
            proc.start()
            send.close()
            children.append((receive, spool, proc))
        reports = {receive: spool for receive, spool, _ in children}
        while (k := _take(tokens)) is not None:
            results[k] = measure(chunks[k])
            _collect(reports, results, decode, wait=False)
        _collect(reports, results, decode, wait=True)
        for k, chunk in enumerate(results):
            if chunk is None:  # taken by a child that failed: measured here, raising what it raised
                results[k] = measure(chunks[k])
        done = True
        return list(itertools.chain.from_iterable(results))
    finally:
        os.close(tokens)
        for receive, spool, proc in children:
            receive.close()
            spool.close()
            if not done:
                proc.terminate()
            proc.join()


def _work(measure, encode, chunks, tokens: int, conn, spool) -> None:
    """In a forked child: measure the chunks taken from ``tokens``; write each one's results to
    ``spool`` encoded, pickled, and send ``(chunk, offset, size)`` on ``conn``. A failure is not
    swallowed: the child ends with its traceback on stderr, and the chunk it took and did not
    report is measured by the parent, which raises there too if the failure is the measuring's."""
    try:
        offset = 0
        while (k := _take(tokens)) is not None:
            data = pickle.dumps([encode(r) for r in measure(chunks[k])], pickle.HIGHEST_PROTOCOL)
            spool.write(data)
            spool.flush()
            conn.send((k, offset, len(data)))
            offset += len(data)
    finally:
        conn.close()


def _take(tokens: int) -> int | None:
    """The next chunk's number from the pipe the processes share, None when all are taken."""
    token = os.read(tokens, 4)
    return int.from_bytes(token, "little") if token else None


def _collect(reports: dict, results: list, decode, wait: bool) -> None:
    """Read into ``results`` the chunks children reported (``reports``: pipe -> spool file);
    with ``wait``, until every child has closed its pipe."""
    while reports:
        ready = multiprocessing.connection.wait(list(reports), timeout=None if wait else 0)
        if not ready:
            return
        for receive in ready:
            try:
                k, offset, size = receive.recv()
            except EOFError:  # that child is done (or failed)
                del reports[receive]
                continue
            data = os.pread(reports[receive].fileno(), size, offset)
            results[k] = [decode(*row) for row in pickle.loads(data)]
