"""GENERATED urban-management grids, community polygons and service posts.

Everything is a union of street blocks (streets.py), so edges follow streets (or the
core outline):

1. core subdistricts: the arterial cells of each core are split among its
   subdistricts by area in proportion to their grid counts, with a fixed layout
   (core A: 奎山 south-west, 北京路 south, 石臼 east along the coast, 秦楼 north,
   日照 centre/west; core B: 岚山头 east, 安东卫 west);
2. grids: the blocks of each subdistrict are split into its grid count by recursive
   bisection in the street frame (compact, similar areas, cuts along streets);
3. communities: the subdistrict's post communities are dealt to its grids in
   proportion to grid area (at least one each), and each grid's blocks are bisected
   into that many community polygons;
4. posts: one per community polygon, at a point inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from .geom import bisect_partition, reading_order, rng_for, split_by_key
from .streets import Network

# Split plans: (subdistrict order within the core) decided by `split_core`.
KUISHAN, BEIJINGLU = "371171003", "371171007"
RIZHAO, SHIJIU, QINLOU = "371102001", "371102002", "371102004"
LANSHANTOU, ANDONGWEI = "371103001", "371103002"


def _cells(net: Network):
    """Per arterial cell: block indices, area and area-weighted frame centroid."""
    area = shapely.area(net.blocks)
    cxy = shapely.get_coordinates(shapely.centroid(net.blocks))
    u, v = net.lattice.to_frame(cxy[:, 0], cxy[:, 1])
    keys, inv = np.unique(net.block_cell, axis=0, return_inverse=True)
    inv = inv.ravel()
    w = np.bincount(inv, area)
    cu = np.bincount(inv, area * u) / w
    cv = np.bincount(inv, area * v) / w
    return keys, inv, w, cu, cv


def split_core(key: str, net: Network, n_grids: pd.Series) -> np.ndarray:
    """Subdistrict code of every block of the core."""
    _, inv, w, cu, cv = _cells(net)
    lab = np.empty(len(w), dtype=object)
    g = n_grids.to_dict()
    if key == "A":
        south = split_by_key(cv, w, [g[KUISHAN] + g[BEIJINGLU],
                                     g[RIZHAO] + g[SHIJIU] + g[QINLOU]]) == 0
        zi = np.flatnonzero(south)
        lab[zi] = np.where(split_by_key(cu[zi], w[zi], [g[KUISHAN], g[BEIJINGLU]]) == 0,
                           KUISHAN, BEIJINGLU)
        ni = np.flatnonzero(~south)
        east = split_by_key(-cu[ni], w[ni], [g[SHIJIU], g[RIZHAO] + g[QINLOU]]) == 0
        lab[ni[east]] = SHIJIU
        ri = ni[~east]
        lab[ri] = np.where(split_by_key(-cv[ri], w[ri], [g[QINLOU], g[RIZHAO]]) == 0,
                           QINLOU, RIZHAO)
    elif key == "B":
        lab[:] = np.where(split_by_key(-cu, w, [g[LANSHANTOU], g[ANDONGWEI]]) == 0,
                          LANSHANTOU, ANDONGWEI)
    else:
        raise KeyError(key)
    return lab[inv]


def _largest_remainder(weights, total, minimum=1):
    weights = np.asarray(weights, float)
    n = len(weights)
    out = np.full(n, minimum)
    left = total - out.sum()
    if left < 0:
        raise ValueError("not enough items for the minimum")
    quota = weights / weights.sum() * total - minimum
    quota = np.clip(quota, 0, None)
    quota = quota / quota.sum() * left if quota.sum() > 0 else np.full(n, left / n)
    base = np.floor(quota).astype(int)
    rem = quota - base
    order = np.lexsort((np.arange(n), -rem))
    base[order[: left - base.sum()]] += 1
    return out + base


@dataclass
class GridResult:
    """The GENERATED grids and post communities of one urban core (geometries in EPSG:4549 metres)
    and the grid code of each street block."""
    grids: pd.DataFrame  # code, subdistrict_code, serial, geometry (metres)
    communities: pd.DataFrame  # code, grid_code, geometry (metres) for the post communities
    block_grid: np.ndarray  # grid code per block


def make_grids(net: Network, block_sub: np.ndarray, n_grids: pd.Series,
               post_comm: pd.DataFrame) -> GridResult:
    """Split each subdistrict's blocks into its ``n_grids`` grids (codes ``<subdistrict>000NN``,
    NN in reading order from the north-west) and deal its post communities to them in serial
    order, each grid's blocks bisected into one polygon per community."""
    blocks = net.blocks
    area = shapely.area(blocks)
    cxy = shapely.get_coordinates(shapely.centroid(blocks))
    u, v = net.lattice.to_frame(cxy[:, 0], cxy[:, 1])
    grid_rows, comm_rows = [], []
    block_grid = np.empty(len(blocks), dtype=object)
    for sub in sorted(set(block_sub)):
        bi = np.flatnonzero(block_sub == sub)
        n = int(n_grids[sub])
        lab = bisect_partition(u[bi], v[bi], area[bi], n)
        lab = merge_fragments(blocks[bi], lab)
        geoms = np.asarray([shapely.coverage_union_all(blocks[bi[lab == k]])
                            for k in range(n)], dtype=object)
        gxy = shapely.get_coordinates(shapely.point_on_surface(geoms))
        band = np.sqrt(shapely.area(geoms).mean())
        order = reading_order(gxy[:, 0], gxy[:, 1], band)
        serial = np.empty(n, int)
        serial[order] = np.arange(1, n + 1)
        codes = [f"{sub}000{s:02d}" for s in serial]
        for k in range(n):
            block_grid[bi[lab == k]] = codes[k]
        # communities of this subdistrict, dealt to grids in serial order
        comms = post_comm.loc[post_comm["subdistrict_code"] == sub, "code"].sort_values().tolist()
        per_grid = _largest_remainder(shapely.area(geoms)[order], len(comms))
        c_iter = iter(comms)
        for k in order:  # serial order
            gb = bi[lab == k]
            m = int(per_grid[serial[k] - 1])
            clab = bisect_partition(u[gb], v[gb], area[gb], m)
            clab = merge_fragments(blocks[gb], clab)
            cgeoms = np.asarray([shapely.coverage_union_all(blocks[gb[clab == q]])
                                 for q in range(m)], dtype=object)
            cc = shapely.get_coordinates(shapely.point_on_surface(cgeoms))
            cband = np.sqrt(shapely.area(cgeoms).mean())
            for q in reading_order(cc[:, 0], cc[:, 1], cband):
                comm_rows.append(dict(code=next(c_iter), grid_code=codes[k],
                                      geometry=cgeoms[q]))
            grid_rows.append(dict(code=codes[k], subdistrict_code=sub,
                                  serial=int(serial[k]), geometry=geoms[k]))
    grids = pd.DataFrame(grid_rows).sort_values("code", ignore_index=True)
    comms = pd.DataFrame(comm_rows).sort_values("code", ignore_index=True)
    return GridResult(grids, comms, block_grid)


def merge_fragments(blocks, labels, rounds: int = 4) -> np.ndarray:
    """Make groups of blocks connected where possible: every detached fragment of a
    group (all parts but its largest) joins the group it shares the longest border
    with.  Fragments touching no other group stay where they are."""
    labels = labels.copy()
    groups = np.unique(labels)
    rp = shapely.point_on_surface(blocks)
    for _ in range(rounds):
        unions = {k: shapely.coverage_union_all(blocks[labels == k]) for k in groups}
        moved = False
        for k in groups:
            parts = sorted(shapely.get_parts(unions[k]), key=lambda p: (-p.area, p.bounds))
            for frag in parts[1:]:
                others = [o for o in groups if o != k]
                shared = shapely.length(shapely.intersection(
                    shapely.boundary(frag),
                    shapely.boundary(np.asarray([unions[o] for o in others], dtype=object))))
                if len(others) == 0 or shared.max() <= 1.0:
                    continue
                target = others[int(np.argmax(shared))]
                members = (labels == k) & shapely.within(rp, frag)
                labels[members] = target
                moved = True
            if moved:
                break  # recompute unions before touching another group
        if not moved:
            break
    return labels


def post_points(comm_geoms) -> np.ndarray:
    """A point well inside each community: the point-on-surface of its largest
    block part after an inward buffer of 30 m (or of the polygon if that vanishes)."""
    inner = shapely.buffer(comm_geoms, -30.0)
    use = np.where(shapely.is_empty(inner), comm_geoms, inner)
    return shapely.point_on_surface(use)


SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
                "潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段厉")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文斌志海波峰晓东玲雪梅鹏飞宇浩凯"
             "辉晨阳欣怡佳琪子涵思源博文嘉俊振兴德庆长青春林")


def person_name(*key) -> str:
    """A GENERATED Chinese name (surname and one or two given characters), fixed by ``key``."""
    rng = rng_for("person", *key)
    n = 1 + int(rng.random() < 0.75)
    return SURNAMES[rng.integers(len(SURNAMES))] + "".join(
        GIVEN[i] for i in rng.integers(len(GIVEN), size=n))


def phone(*key) -> str:
    """A GENERATED Rizhao landline number, ``0633-`` and seven digits, fixed by ``key``."""
    rng = rng_for("phone", *key)
    return f"0633-{rng.integers(2, 9)}{rng.integers(0, 1_000_000):06d}"
