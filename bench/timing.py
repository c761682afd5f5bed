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
