#!/usr/bin/env bash
# Install the Debian packages citygrid needs, only those that are missing.
# PostGIS must match the PostgreSQL server's major version, so detect it first.
set -euo pipefail
EXTRA=("$@")
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
updated=0
install() {
  [ $# -eq 0 ] && return 0
  if [ $updated = 0 ]; then as_root apt-get update -qq; updated=1; fi
  echo "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
missing() { for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || printf '%s\n' "$p"; done; }

mapfile -t need < <(missing postgresql python3-venv "${EXTRA[@]}")
install "${need[@]}"
major=$(ls /usr/lib/postgresql | sort -n | tail -1)
mapfile -t need < <(missing "postgresql-${major}-postgis-3")
install "${need[@]}"
