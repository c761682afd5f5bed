"""Simulated urban-management history: a seeded, realistic case generator and fast bulk
loading. Domain code only: no web framework here.

- ``cases.simulate_cases(layers, years=(2023, 2024, 2025), n=191_000, seed=42)``: the history
  as a GeoDataFrame (located by ``gis.location.Locator``); ``cases.stream_cases`` the same
  history in time-ordered chunks for the loader; ``cases.write_cases`` GeoJSON/GeoParquet;
  ``cases.kpis`` the KPI module's definitions computed on a frame.
- ``load.bulk_load_cases(engine, frame_or_stream)``: binary COPY into ``cases``.
- ``planted``: the deliberate hotspots (``planted.json`` / ``PLANTED.md``).
- deadlines come from ``citygrid.worktable.WorkTable``, the work calendar as arrays.
- CLI: ``citygrid simulate cases [--years 3 --seed 42 --n 191000 --out FILE]`` and
  ``citygrid simulate planted [--check]``; benchmark: ``python -m bench cases_load``.
"""
