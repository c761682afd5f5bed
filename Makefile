# citygrid: two commands do everything on a fresh Debian machine.
#   make demo  - install what is missing, start PostGIS, load the data, serve http://127.0.0.1:8000
#   make test  - the same install, then the whole test suite against a real PostGIS
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
CITYGRID := $(BIN)/citygrid
# Debian packages beyond PostgreSQL/PostGIS (the portal, drone and client tests add theirs).
DEB_EXTRA := espeak-ng gdal-bin chromium

.PHONY: deps install db demo test bench soak clean-state

deps:
	@bash scripts/deps.sh $(DEB_EXTRA)

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e ".[dev]"
	@touch $@

install: deps $(BIN)/.installed

db: install
	$(CITYGRID) db up
	$(CITYGRID) db migrate

demo: db
	$(CITYGRID) demo load
	$(CITYGRID) serve

test: install
	$(CITYGRID) db up
	$(BIN)/pytest -q

# The peers (movingpandas, tipg) and wrk, the C load generator the map-API bench drives them with.
bench: db
	@bash scripts/deps.sh $(DEB_EXTRA) wrk
	$(BIN)/pip install -q --disable-pip-version-check -e ".[dev,bench]"
	$(BIN)/python -m bench

# Reliability runs (minutes, loopback only): load with a server kill and a PostgreSQL restart
# (200 phones, 50 citizens, 20 readers, 60 s), Schemathesis with many examples, parser fuzzing.
soak: db
	$(BIN)/python -m soak

clean-state:
	-$(CITYGRID) db down
	rm -rf .state
