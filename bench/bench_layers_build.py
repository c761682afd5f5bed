"""The reference layers' build (gis.layers.build.build_all), in process, no database: the
best of three runs, with the feature count per collection. It used to be a 30 s assertion in
tests/test_layers_build.py; timings live here (``python -m bench layers_build``)."""
from __future__ import annotations

from bench.timing import best_of
from gis.layers.build import build_all

BUDGET_S = 30.0


def main() -> None:
    seconds, layers = best_of(build_all, repeat=3)
    counts = ", ".join(f"{name} {len(gdf)}" for name, gdf in layers.items())
    print(f"build_all: {seconds:.2f} s (best of 3; budget {BUDGET_S:.0f} s, {seconds / BUDGET_S:.0%} of it)")
    print(f"  {counts}")


if __name__ == "__main__":
    main()
