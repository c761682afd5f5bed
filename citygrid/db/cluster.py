"""The project's own PostgreSQL + PostGIS cluster, used when no database URL is configured.

It lives in ``<state_dir>/pgdata``, listens on 127.0.0.1 at its own port and keeps its socket
in ``<state_dir>/run``. PostgreSQL refuses to run as root, so under root the server runs as the
unprivileged ``postgres`` user (created by Debian's server package) or, failing that, a
``citygrid`` system user. Every command here is idempotent.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from citygrid.errors import OperationFailed
from citygrid.settings import Settings

DEBIAN_PACKAGES = "postgresql postgresql-15-postgis-3"


class ClusterError(OperationFailed):
    """The embedded cluster could not be found, made, started or stopped."""


# Given on the command line at every start, so clusters made before a change get it too.
# Patrol fixes arrive as many small committed batches into three indexes. With 1 GB of WAL
# between checkpoints the 3.5 million fixes of ``python -m bench patrol_ingest`` forced a
# checkpoint every few seconds, each followed by full-page images of every index page touched
# again; with 512 MB of shared buffers the indexes outgrew the cache halfway through. 4 GB of
# WAL, lz4-compressed page images and 4 GB of buffers (of the machine's 24 GB): live batches
# from 4 senders 58,479 -> 75,453 fixes/s, over HTTP 47,947 -> 51,284 (same bench, one after
# the other). On a smaller machine the buffers are a quarter of its memory (at least 128 MB):
# 4 GB of them on a 2 GB machine would stop PostgreSQL from starting at all.
def shared_buffers_for(memory_bytes: int | None) -> str:
    """A quarter of ``memory_bytes``, between 128 MB and 4 GB, as PostgreSQL's SHOW writes it."""
    mb = 4096 if memory_bytes is None else max(128, min(4096, memory_bytes // 4 // 2**20))
    return f"{mb // 1024}GB" if mb % 1024 == 0 else f"{mb}MB"


def machine_memory() -> int | None:
    """Physical memory in bytes, or the cgroup (container) limit when that is lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return total


SERVER_SETTINGS = {"max_wal_size": "4GB", "wal_compression": "lz4",
                   "shared_buffers": shared_buffers_for(machine_memory())}


def find_bindir() -> Path:
    """The newest PostgreSQL server bin directory that has a PostGIS extension beside it."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out:
            candidates.append(out)
    servers = [Path(c) for c in candidates if (Path(c) / "postgres").exists()]
    if not servers:
        raise ClusterError(
            f"PostgreSQL server binaries not found; install the Debian packages: apt-get install {DEBIAN_PACKAGES}"
        )
    for bindir in reversed(servers):
        if _postgis_control(bindir).exists():
            return bindir
    version = servers[-1].parent.name
    raise ClusterError(
        f"PostGIS is not installed for PostgreSQL {version}; install the Debian package: "
        f"apt-get install postgresql-{version}-postgis-3"
    )


def _postgis_control(bindir: Path) -> Path:
    version = bindir.parent.name
    return Path(f"/usr/share/postgresql/{version}/extension/postgis.control")


@dataclass
class Cluster:
    """The embedded cluster of ``settings``: its paths, and init/start/stop/status (idempotent)."""
    settings: Settings

    @property
    def datadir(self) -> Path:
        """The data directory, ``<state_dir>/pgdata``."""
        return self.settings.state_dir / "pgdata"

    @property
    def sockdir(self) -> Path:
        """The directory of the server's Unix socket, ``<state_dir>/run``."""
        return self.settings.state_dir / "run"

    @property
    def logfile(self) -> Path:
        """The server's log file, ``<state_dir>/postgres.log``."""
        return self.settings.state_dir / "postgres.log"

    @property
    def port(self) -> int:
        """The TCP port the server listens on at 127.0.0.1 (``settings.db_port``)."""
        return self.settings.db_port

    # --- who runs the server -------------------------------------------------
    def _run_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "citygrid"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "citygrid"], check=True)
        return "citygrid"

    def _cmd(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        user = self._run_user()
        if user:
            args = ["runuser", "-u", user, "--", *args]
        return subprocess.run(args, capture_output=True, text=True, check=False, cwd="/")

    def _own(self, *paths: Path) -> None:
        user = self._run_user()
        for p in paths:
            p.mkdir(parents=True, exist_ok=True)
            if user:
                shutil.chown(p, user, user)
        for p in paths:
            p.chmod(0o700)

    # --- lifecycle ----------------------------------------------------------
    def initialised(self) -> bool:
        """Whether ``initdb`` has made the data directory (it holds PG_VERSION)."""
        return (self.datadir / "PG_VERSION").exists()

    def running(self) -> bool:
        """Whether the server is up (``pg_ctl status``); False when not initialised."""
        if not self.initialised():
            return False
        bindir = find_bindir()
        return self._cmd([str(bindir / "pg_ctl"), "-D", str(self.datadir), "status"]).returncode == 0

    def init(self) -> None:
        """Make the cluster with ``initdb`` (UTF-8; trust on the socket, scram-sha-256 over TCP),
        listening on 127.0.0.1:``port`` only. Nothing if it exists; ClusterError if initdb fails."""
        if self.initialised():
            return
        bindir = find_bindir()
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        self._own(self.datadir, self.sockdir)
        res = self._cmd([
            str(bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres", "-E", "UTF8",
            "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
        ])
        if res.returncode != 0:
            raise ClusterError(f"initdb failed:\n{res.stdout}\n{res.stderr}")
        conf = self.datadir / "postgresql.conf"
        with conf.open("a") as fh:
            # Only the cluster's own user (and root) may use the trusted socket.
            fh.write(
                "\n# citygrid embedded cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.sockdir}'\n"
                "unix_socket_permissions = 0700\n"
                "max_connections = 200\n"
                "fsync = on\n"
                "synchronous_commit = on\n"
            )

    def start(self) -> bool:
        """Start the server; return False when it was already running."""
        self.init()
        if self.running():
            return False
        bindir = find_bindir()
        self._own(self.sockdir)
        if not self.logfile.exists():
            self.logfile.touch()
        user = self._run_user()
        if user:
            shutil.chown(self.logfile, user, user)
        options = " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        res = self._cmd([str(bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile), "-w", "-t", "60",
                         "-o", options, "start"])
        if res.returncode != 0:
            tail = self.logfile.read_text(errors="replace")[-2000:]
            raise ClusterError(f"PostgreSQL did not start:\n{res.stdout}\n{res.stderr}\n{tail}")
        return True

    def stop(self) -> bool:
        """Stop the server; return False when it was not running."""
        if not self.running():
            return False
        bindir = find_bindir()
        res = self._cmd([str(bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"])
        if res.returncode != 0:
            raise ClusterError(f"PostgreSQL did not stop:\n{res.stdout}\n{res.stderr}")
        return True

    def status(self) -> dict:
        """Where the cluster is and how it runs: data and socket directories, port, initialised,
        running, and the OS user the server runs as."""
        return {
            "datadir": str(self.datadir),
            "initialised": self.initialised(),
            "running": self.running(),
            "port": self.port,
            "socket_dir": str(self.sockdir),
            "run_as": self._run_user() or pwd.getpwuid(os.geteuid()).pw_name,
        }
