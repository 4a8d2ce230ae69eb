"""Many inferences over several sessions of one target at once (``tinyc eval --jobs N``).

Each worker thread owns its own target instance (for an emulated board: its own QEMU process and
serial link) and runs one contiguous share of the samples. A target that can preload inputs
(``preload(graph, samples)``, an emulated board: the share goes into QEMU's memory at boot) gets
its share first, so no input crosses the serial link. The work is waiting on QEMU and on the
serial port, not Python, so threads are enough. Results are kept by sample index: the outcome is the same as one session
running every sample in order, whatever the number of workers.
"""

from __future__ import annotations

import queue
import threading


def even_shares(n: int, jobs: int) -> list:
    """``[(lo, hi), ...]``: ``n`` items split into at most ``jobs`` contiguous, near-equal shares."""
    jobs = max(1, min(int(jobs), n))
    bounds = [n * k // jobs for k in range(jobs + 1)]
    return list(zip(bounds, bounds[1:]))


def run_many(make_target, graph, samples: list, jobs: int, on_result=None) -> list:
    """Run every input list of ``samples`` on targets made by ``make_target()``; returns the
    :class:`RunResult` of each sample, in the order of ``samples``.

    ``jobs`` workers (at most one per sample) each make one target, run samples ``[lo, hi)`` of an
    even split, and close the target at the end.
    ``on_result(index, result)`` is called as each inference finishes, from the calling thread.
    The first error in any worker stops the others and is raised here.
    """
    shares = even_shares(len(samples), jobs)
    done: queue.Queue = queue.Queue()
    stop = threading.Event()

    def work(lo: int, hi: int):
        target = None
        try:
            target = make_target()
            if hasattr(target, "preload"):
                target.preload(graph, samples[lo:hi])
            for i in range(lo, hi):
                if stop.is_set():
                    break
                done.put((i, target.run(graph, samples[i]), None))
        except BaseException as e:  # noqa: BLE001 -- handed to the calling thread, which raises it
            stop.set()
            done.put((None, None, e))
        finally:
            if target is not None:
                getattr(target, "close", lambda: None)()
            done.put(None)  # this worker has ended

    workers = [threading.Thread(target=work, args=share, daemon=True, name=f"tinyc-job-{k}")
               for k, share in enumerate(shares)]
    for w in workers:
        w.start()
    results: list = [None] * len(samples)
    error, running = None, len(workers)
    try:
        while running:
            item = done.get()
            if item is None:
                running -= 1
                continue
            i, result, exc = item
            if exc is not None:
                error = error or exc
                continue
            results[i] = result
            if on_result is not None and error is None:
                on_result(i, result)
    except BaseException:  # e.g. Ctrl-C: let the workers end their current sample and close
        stop.set()
        raise
    finally:
        for w in workers:
            w.join(timeout=30)
    if error is not None:
        raise error
    return results


__all__ = ["run_many"]
