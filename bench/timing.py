"""Shared timing for the benchmarks."""
import time


def best_of(fn, repeat=3):
    """The fastest of ``repeat`` runs of ``fn`` (seconds) and its last result."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def best_of_each(fns, repeat=5):
    """``best_of`` for several functions run in turns (one round runs each once), so that a
    slow spell of a shared machine hits them alike and their ratio holds: [(seconds, result)]."""
    times, results = [[] for _ in fns], [None] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            results[k] = fn()
            times[k].append(time.perf_counter() - t)
    return [(min(ts), r) for ts, r in zip(times, results)]
