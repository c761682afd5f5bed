"""Run the benchmarks: ``python -m bench [name ...]`` (``make bench``). Each compares with
its named peer in the same run and prints the ratio."""
import importlib
import sys

BENCHES = ["assign", "hotspots", "cases_load", "patrol", "drone", "patrol_ingest", "tipg", "server", "layers_build", "portal"]

if __name__ == "__main__":
    for name in sys.argv[1:] or BENCHES:
        print(f"== bench {name}")
        importlib.import_module(f"bench.bench_{name}").main()
