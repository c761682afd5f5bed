"""Exports of a checked plan: QGroundControl ``.plan``, MAVLink ``QGC WPL 110`` text and
DJI WPML ``.kmz``. Callers check ``drone.rules`` first (``export_file`` does it for them).

MAVLink has no speaker command, so a broadcast becomes a hover (NAV_LOITER_TIME, p1 = audio
length x plays) at its waypoint plus a sidecar ``NAME.broadcasts.json`` listing, per
broadcast, the mission sequence number, the audio file (copied to ``NAME.audio/``), its
SHA-256, volume and plays. In the ``.kmz`` the audio goes in ``wpmz/res/`` with a hover
action of the same length.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from drone.model import Context, Plan

FORMATS = {".plan": "qgc", ".waypoints": "wpl", ".txt": "wpl", ".kmz": "wpml"}


def export_file(plan: Plan, ctx: Context, path: str | Path, *, check: bool = True) -> list[Path]:
    """Write ``plan`` to ``path`` (format from the suffix); return the files written."""
    from drone import rules
    from drone.export import qgc, wpl, wpml

    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"unknown export format {path.suffix!r}; use one of {', '.join(FORMATS)}")
    if check:
        rules.enforce(plan, ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "wpml":
        return [wpml.write(plan, path)]
    items = qgc.mission_items(plan)
    if fmt == "qgc":
        path.write_text(json.dumps(qgc.plan_document(plan, ctx, items), indent=2, ensure_ascii=False))
        seq_of = {k: it["doJumpId"] for k, it in enumerate(items)}
    else:
        path.write_text(wpl.document(plan, items))
        seq_of = {k: k + 1 for k in range(len(items))}  # line 0 is the home position
    return [path] + write_sidecar(path, items, seq_of, "qgc-plan" if fmt == "qgc" else "qgc-wpl-110")


def write_sidecar(path: Path, items: list[dict], seq_of: dict[int, int], fmt: str) -> list[Path]:
    """For the mission ``items`` that broadcast: copy each audio file into ``NAME.audio/`` and write
    ``NAME.broadcasts.json`` (sequence number from ``seq_of``, hold seconds, SHA-256, volume 0-100,
    plays; ``fmt`` names the mission file's format). Returns [sidecar, audio folder], or [] when
    nothing is broadcast."""
    talks = [(k, it) for k, it in enumerate(items) if it.get("broadcast")]
    if not talks:
        return []
    stem = path.with_suffix("")
    audio_dir = Path(f"{stem}.audio")
    audio_dir.mkdir(exist_ok=True)
    entries = []
    for k, it in talks:
        b = it["broadcast"]
        name = f"bcast-{seq_of[k]:03d}-{b['sha256'][:12]}.wav"
        shutil.copyfile(b["audio"], audio_dir / name)
        entries.append({"sequence": seq_of[k], "item_index": k, "command": it["command"],
                        "waypoint": it["waypoint"], "hold_s": it["params"][0],
                        "audio_file": f"{audio_dir.name}/{name}", "sha256": b["sha256"],
                        "duration_s": b["duration_s"], "volume": b["volume"], "plays": b["plays"],
                        "template": b.get("template"), "text": b.get("text")})
    side = Path(f"{stem}.broadcasts.json")
    side.write_text(json.dumps({"mission_file": path.name, "format": fmt,
                                "note": "MAVLink has no speaker command: play each file at its "
                                        "NAV_LOITER_TIME item, plays times, at this volume (0-100)",
                                "broadcasts": entries}, indent=2, ensure_ascii=False))
    return [side, audio_dir]
