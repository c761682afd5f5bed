"""Emerging hot spot analysis: Gi* per space-time bin, Mann-Kendall per location.

Neighbours are spatial only (each period is its own Gi* slice); ArcGIS also adds a time
window of neighbouring periods, which we do not. Categories follow STANDARDS.md.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

MK_ALPHA = 0.05
PERSISTENT_SHARE = 0.9


def mann_kendall(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Mann-Kendall over rows of (locations, T): (Z, two-sided p), ties-corrected."""
    x = np.asarray(series, dtype=np.float64)
    t = x.shape[1]
    iu, ju = np.triu_indices(t, 1)
    s = np.sign(x[:, ju] - x[:, iu]).sum(axis=1)
    # Ties correction: sum over tied groups of g(g-1)(2g+5), per row.
    srt = np.sort(x, axis=1)
    var = np.full(len(x), t * (t - 1) * (2 * t + 5), dtype=np.float64)
    for r in np.nonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))[0]:  # only rows with ties
        _, g = np.unique(srt[r], return_counts=True)
        var[r] -= (g * (g - 1) * (2 * g + 5)).sum()
    var /= 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
    z = np.nan_to_num(z)
    return z, 2.0 * stats.norm.sf(np.abs(z))


def _final_run(mask: np.ndarray) -> np.ndarray:
    """Length of the unbroken run of True at the end of each row."""
    rev = mask[:, ::-1]
    return np.where(rev.all(axis=1), mask.shape[1], np.argmin(rev, axis=1))


def _classify_side(hot: np.ndarray, cold: np.ndarray, trend_z: np.ndarray, trend_p: np.ndarray,
                   sign: int) -> np.ndarray:
    """Category names for one side (hot with sign=+1; cold mirrored with sign=-1)."""
    side = "hot" if sign > 0 else "cold"
    share = hot.mean(axis=1)
    now = hot[:, -1]
    n_hot = hot.sum(axis=1)
    run = _final_run(hot)
    up = (trend_p < MK_ALPHA) & (trend_z * sign > 0)    # intensity of *this* side rising
    down = (trend_p < MK_ALPHA) & (trend_z * sign < 0)
    out = np.full(len(hot), "", dtype=object)
    conds = [
        (now & cold.any(axis=1), "oscillating"),
        (now & (share >= PERSISTENT_SHARE) & up, "intensifying"),
        (now & (share >= PERSISTENT_SHARE) & down, "diminishing"),
        (now & (share >= PERSISTENT_SHARE), "persistent"),
        (now & (n_hot == 1), "new"),
        (now & (run == n_hot), "consecutive"),       # one unbroken final run, nothing before
        (now, "sporadic"),
        (~now & (hot[:, :-1].mean(axis=1) >= PERSISTENT_SHARE), "historical"),
    ]
    for cond, name in reversed(conds):  # earlier entries take precedence
        out[cond] = f"{name}_{side}_spot"
    return out


def classify(z: np.ndarray, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(category, MK z, MK p) per location from (locations, T) Gi* z-scores and bins.

    A step counts as hot/cold when its Gi_Bin is significant (90% or more).
    """
    hot, cold = bins > 0, bins < 0
    mk_z, mk_p = mann_kendall(z)
    cat_hot = _classify_side(hot, cold, mk_z, mk_p, +1)
    cat_cold = _classify_side(cold, hot, mk_z, mk_p, -1)
    # The side that is significant now decides; otherwise a historical label may stand.
    cat = np.where(hot[:, -1], cat_hot, np.where(cold[:, -1], cat_cold,
                                                   np.where(cat_hot != "", cat_hot, cat_cold)))
    cat = np.where(cat == "", "no_pattern", cat)
    return cat, mk_z, mk_p
