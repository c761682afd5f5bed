"""GENERATED street network over the urban cores, its blocks, and GENERATED POIs.

No real road network is available offline, so each urban core gets a deterministic
city-like network, built in EPSG:4549 metres:

* arterials (主干道): two families of long, gently wavy streets, rotated a few degrees
  off north like a coastal city, spaced 1.0-1.25 km apart;
* local streets (支路/街巷): inside every arterial cell, 1-3 streets each way spaced
  ~250-400 m, jittered per cell, so they meet the arterials in T-junctions and are
  offset across them (a few are dropped, leaving larger campus-like blocks).

All lines are noded together with the core outline; the faces are the *blocks*
(every grid and community is a union of blocks, so their edges follow streets or the
core outline) and the noded street pieces between junctions are the road rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from .geom import rng_for

ARTERIAL_SPACING = (1000.0, 1250.0)
LOCAL_SPACING = (250.0, 400.0)
WOBBLE_AMPLITUDE = (0.0, 60.0)
WOBBLE_WAVELENGTH = (5000.0, 9000.0)
SAMPLE_STEP = 50.0
STUB = 5.0  # local streets are drawn this far across the arterials, then trimmed

# Street name stems (generated names in the style of Rizhao's: N-S streets after
# cities, E-W after seas/mountains/virtues; the E-W ones get 东/西 sections).
NS_STEMS = {
    "A": ["兖州", "临沂", "济南", "北京", "泰安", "烟台", "青岛", "威海", "潍坊", "淄博",
          "莱芜", "聊城", "德州", "滨州", "菏泽", "枣庄", "东营", "莱阳", "文登", "荣成"],
    "B": ["圣岚", "岚阳", "海州", "碑廓", "虎山", "巨峰", "黄墩", "中楼", "高兴", "安东"],
}
EW_STEMS = {
    "A": ["两城", "秦楼", "山海", "海曲", "望海", "昭阳", "黄海", "正阳", "香河", "沙墩",
          "金海", "太行", "泰山", "华山", "衡山", "嵩山", "昆仑"],
    "B": ["环海", "岚山", "佛手湾", "安岚", "滨海", "港城", "渔港", "新港", "阿掖山"],
}
LOCAL_STEMS = ["文昌", "兴业", "福海", "安泰", "和平", "建设", "人民", "光明", "幸福", "民主",
               "友谊", "新华", "朝阳", "育才", "桃源", "春晖", "丽园", "锦华", "翠微", "青云",
               "紫竹", "银杏", "松涛", "海韵", "渔家", "盐田", "茶香", "绿洲", "港湾", "金沙",
               "碧波", "灯塔", "仁和", "德馨", "崇文", "尚学", "惠民", "安居", "乐业", "枫林",
               "梧桐", "玉兰", "海棠", "石榴", "樱花", "蓝天", "白云", "星河", "月湖", "日新"]
LOCAL_SUFFIXES = ["街", "路", "巷", "里"]


@dataclass
class Lattice:
    """The arterial lattice of one core in a rotated frame (u east-ish, v north-ish)."""

    key: str
    origin: tuple[float, float]
    theta: float  # radians, rotation of the frame from grid east
    a: np.ndarray  # N-S arterials: u = a + amp*sin(2 pi v / lam + ph)
    amp_a: np.ndarray
    lam_a: np.ndarray
    ph_a: np.ndarray
    b: np.ndarray  # E-W arterials: v = b + amp*sin(2 pi u / lam + ph)
    amp_b: np.ndarray
    lam_b: np.ndarray
    ph_b: np.ndarray
    urange: tuple[float, float] = field(default=(0.0, 0.0))
    vrange: tuple[float, float] = field(default=(0.0, 0.0))

    def to_frame(self, x, y):
        """EPSG:4549 x, y -> (u, v) of the lattice frame (about ``origin``, turned by ``theta``)."""
        c, s = np.cos(self.theta), np.sin(self.theta)
        dx, dy = np.asarray(x) - self.origin[0], np.asarray(y) - self.origin[1]
        return dx * c + dy * s, -dx * s + dy * c

    def from_frame(self, u, v):
        """(u, v) of the lattice frame -> EPSG:4549 x, y; the inverse of ``to_frame``."""
        c, s = np.cos(self.theta), np.sin(self.theta)
        return self.origin[0] + u * c - v * s, self.origin[1] + u * s + v * c

    def U(self, v):
        """u of every N-S arterial at v: shape (len(v), n_a)."""
        v = np.asarray(v, float)[..., None]
        return self.a + self.amp_a * np.sin(2 * np.pi * v / self.lam_a + self.ph_a)

    def V(self, u):
        """v of every E-W arterial at u: shape (len(u), n_b)."""
        u = np.asarray(u, float)[..., None]
        return self.b + self.amp_b * np.sin(2 * np.pi * u / self.lam_b + self.ph_b)

    def cell_of(self, x, y):
        """(i, j) arterial cell indices of points (column west->east, row south->north)."""
        u, v = self.to_frame(x, y)
        i = (self.U(v) < u[..., None]).sum(-1) - 1
        j = (self.V(u) < v[..., None]).sum(-1) - 1
        return i, j

    def line(self, u, v):
        """A LineString in EPSG:4549 metres through the frame points (u, v)."""
        x, y = self.from_frame(u, v)
        return shapely.linestrings(np.column_stack([x, y]))


def _spaced(rng, lo, hi, spacing):
    start = lo - rng.uniform(150.0, 500.0)
    out = [start]
    while out[-1] <= hi + 150.0:
        out.append(out[-1] + rng.uniform(*spacing))
    return np.asarray(out)


def make_lattice(key: str, core_m, theta_deg: float) -> Lattice:
    """The arterial lattice of core ``key`` over ``core_m`` (EPSG:4549), turned ``theta_deg``
    counter-clockwise from grid east: arterials every 1.0-1.25 km each way with a gentle
    wobble, seeded by ``key`` (the same every run)."""
    rng = rng_for("lattice", key)
    cx, cy = shapely.centroid(core_m).coords[0]
    lat = Lattice(key, (round(cx), round(cy)), np.radians(theta_deg),
                  *([np.empty(0)] * 8))
    ring = shapely.get_coordinates(core_m)
    u, v = lat.to_frame(ring[:, 0], ring[:, 1])
    lat.urange, lat.vrange = (u.min(), u.max()), (v.min(), v.max())
    lat.a = _spaced(rng, *lat.urange, ARTERIAL_SPACING)
    lat.b = _spaced(rng, *lat.vrange, ARTERIAL_SPACING)
    for name, n in (("a", len(lat.a)), ("b", len(lat.b))):
        setattr(lat, f"amp_{name}", rng.uniform(*WOBBLE_AMPLITUDE, n))
        setattr(lat, f"lam_{name}", rng.uniform(*WOBBLE_WAVELENGTH, n))
        setattr(lat, f"ph_{name}", rng.uniform(0, 2 * np.pi, n))
    return lat


def _samples(lo, hi):
    n = int(np.ceil((hi - lo) / SAMPLE_STEP)) + 1
    return np.linspace(lo, hi, n)


def street_lines(lat: Lattice, core_m) -> pd.DataFrame:
    """Source street lines (metres) with name, kind, and for locals their cell."""
    vs = _samples(lat.vrange[0] - 800, lat.vrange[1] + 800)
    us = _samples(lat.urange[0] - 800, lat.urange[1] + 800)
    Ua, Vb = lat.U(vs), lat.V(us)  # (len(vs), n_a), (len(us), n_b)
    rows = []
    ns_stems, ew_stems = NS_STEMS[lat.key], EW_STEMS[lat.key]
    # arterials: name stems assigned from the middle outwards so the central ones
    # get the prominent names
    for k in range(len(lat.a)):
        stem = ns_stems[(k + len(ns_stems) - len(lat.a) // 2) % len(ns_stems)]
        rows.append(dict(name=f"{stem}路", kind="arterial", axis="ns", cell=None,
                         geometry=lat.line(Ua[:, k], vs)))
    for k in range(len(lat.b)):
        stem = ew_stems[(len(lat.b) - 1 - k) % len(ew_stems)]  # north gets first names
        rows.append(dict(name=stem, kind="arterial", axis="ew", cell=None,
                         geometry=lat.line(us, Vb[:, k])))

    # local streets per arterial cell (only cells near the core)
    ni, nj = len(lat.a) - 1, len(lat.b) - 1
    ii, jj = np.meshgrid(np.arange(ni), np.arange(nj), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    strip_u = [shapely.polygons(np.column_stack(lat.from_frame(
        np.r_[Ua[:, i], Ua[::-1, i + 1]], np.r_[vs, vs[::-1]]))) for i in range(ni)]
    strip_v = [shapely.polygons(np.column_stack(lat.from_frame(
        np.r_[us, us[::-1]], np.r_[Vb[:, j], Vb[::-1, j + 1]]))) for j in range(nj)]
    cells = shapely.intersection(np.asarray(strip_u)[ii], np.asarray(strip_v)[jj])
    near = shapely.intersects(cells, core_m)
    ii, jj, cells = ii[near], jj[near], cells[near]
    cells_buf = shapely.buffer(cells, STUB, quad_segs=2, join_style="mitre")
    local_geoms, local_names, local_cells = [], [], []
    for i, j, cell in zip(ii, jj, cells_buf):
        crng = rng_for("cell", lat.key, int(i), int(j))
        u0, u1 = lat.a[i], lat.a[i + 1]
        v0, v1 = lat.b[j], lat.b[j + 1]
        for axis, width in (("ns", u1 - u0), ("ew", v1 - v0)):
            n = max(1, int(round(width / crng.uniform(*LOCAL_SPACING))) - 1)
            fr = (np.arange(1, n + 1) + crng.uniform(-0.15, 0.15, n)) / (n + 1)
            keep = crng.random(n) > 0.12
            for f in fr[keep]:
                if axis == "ns":
                    vv = _samples(v0 - 300, v1 + 300)
                    uu = (1 - f) * lat.U(vv)[:, i] + f * lat.U(vv)[:, i + 1]
                else:
                    uu = _samples(u0 - 300, u1 + 300)
                    vv = (1 - f) * lat.V(uu)[:, j] + f * lat.V(uu)[:, j + 1]
                local_geoms.append(lat.line(uu, vv))
                stem = LOCAL_STEMS[crng.integers(len(LOCAL_STEMS))]
                local_names.append(stem + LOCAL_SUFFIXES[crng.integers(len(LOCAL_SUFFIXES))])
                local_cells.append((int(i), int(j)))
    local_geoms = np.asarray(local_geoms, dtype=object)
    cell_idx = {c: n for n, c in enumerate(zip(ii.tolist(), jj.tolist()))}
    clip_to = cells_buf[[cell_idx[c] for c in local_cells]]
    local_geoms = shapely.intersection(local_geoms, clip_to)
    for g, nm, c in zip(local_geoms, local_names, local_cells):
        for part in shapely.get_parts(g):
            if part.geom_type == "LineString" and part.length > 2 * STUB:
                rows.append(dict(name=nm, kind="local", axis=None, cell=c, geometry=part))
    return pd.DataFrame(rows)


@dataclass
class Network:
    """The GENERATED streets of one core: its lattice, the blocks between the streets (metres),
    each block's arterial cell (i, j), and the road pieces between junctions."""
    lattice: Lattice
    blocks: np.ndarray  # Polygons (metres)
    block_cell: np.ndarray  # (n, 2) int
    roads: pd.DataFrame  # name, kind, geometry (noded pieces, metres)


def build_network(key: str, core_m, theta_deg: float) -> Network:
    """The GENERATED street network of core ``key`` inside ``core_m`` (EPSG:4549): arterials and
    local streets noded with the core outline. Blocks are the faces inside the core, roads the
    street pieces inside it (stubs trimmed; E-W arterials are 东路/西路 by side)."""
    lat = make_lattice(key, core_m, theta_deg)
    src = street_lines(lat, core_m)
    src_geoms = src["geometry"].to_numpy()
    boundary = shapely.boundary(core_m)
    noded = shapely.union_all(np.r_[src_geoms, [boundary]])
    edges = shapely.get_parts(noded)
    edges = edges[shapely.length(edges) > 0]
    mids = shapely.line_interpolate_point(edges, 0.5, normalized=True)
    inside = shapely.contains_xy(core_m, *shapely.get_coordinates(mids).T)

    # blocks: faces of the noded lines inside the core
    faces = shapely.get_parts(shapely.polygonize(edges))
    rp = shapely.point_on_surface(faces)
    faces = faces[shapely.contains_xy(core_m, *shapely.get_coordinates(rp).T)]
    rp = shapely.get_coordinates(shapely.point_on_surface(faces))
    bi, bj = lat.cell_of(rp[:, 0], rp[:, 1])

    # road pieces: noded edges inside the core that come from a street line
    tree = shapely.STRtree(src_geoms)
    q_in, q_src = tree.query(mids, predicate="dwithin", distance=1e-3)
    order = np.lexsort((q_src, q_in))
    q_in, q_src = q_in[order], q_src[order]
    first = np.r_[True, q_in[1:] != q_in[:-1]]
    source = np.full(len(edges), -1)
    source[q_in[first]] = q_src[first]
    keep = inside & (source >= 0)
    # trim the stubs of local streets drawn across the arterials
    mxy = shapely.get_coordinates(mids)
    mi, mj = lat.cell_of(mxy[:, 0], mxy[:, 1])
    is_local = np.zeros(len(edges), bool)
    is_local[keep] = src["kind"].to_numpy()[source[keep]] == "local"
    cell_src = np.array([c if c is not None else (-1, -1) for c in src["cell"]])
    stub = is_local & ((mi != cell_src[source, 0]) | (mj != cell_src[source, 1]))
    keep &= ~stub
    sel = np.flatnonzero(keep)
    s_rows = src.iloc[source[sel]].reset_index(drop=True)
    names = s_rows["name"].to_numpy().copy()
    # E-W arterials get 东路/西路 sections either side of the core's middle
    ew = (s_rows["kind"] == "arterial").to_numpy() & (s_rows["axis"] == "ew").to_numpy()
    mu, _ = lat.to_frame(mxy[sel, 0], mxy[sel, 1])
    umid = 0.5 * (lat.urange[0] + lat.urange[1])
    names[ew] = [f"{n}{'东' if u > umid else '西'}路" for n, u in zip(names[ew], mu[ew])]
    roads = pd.DataFrame({"name": names, "kind": s_rows["kind"].to_numpy(),
                          "geometry": edges[sel]})
    return Network(lat, faces, np.column_stack([bi, bj]), roads)


# --- POIs (GENERATED) -------------------------------------------------------------
# kind: (count in core A, count in core B, opening_hours, busy_hours, name pattern)
POI_KINDS = {
    "market": (30, 8, "Mo-Su 05:30-18:00", "Mo-Su 06:00-09:00,16:30-18:00", "{stem}农贸市场"),
    "night_market": (7, 3, "Mo-Su 18:00-23:30", "Mo-Su 19:30-22:00", "{stem}夜市"),
    "school": (36, 10, "Mo-Fr 07:00-17:30", "Mo-Fr 07:00-08:00,16:30-17:30", "{stem}{school}"),
    "nightlife": (9, 3, "Mo-Su 19:00-02:00", "Fr-Sa 21:00-01:00", "{stem}酒吧街"),
    "construction_site": (24, 8, "Mo-Sa 06:00-22:00", "Mo-Sa 07:00-11:30,13:30-18:00",
                          "{stem}项目工地"),
    "urban_village": (10, 4, "24/7", "Mo-Su 17:00-21:00", "{village}城中村"),
    "substation": (3, 1, "24/7", "off", "{stem}110kV变电站"),
    "fuel_depot": (1, 1, "24/7", "off", "{stem}油库"),
}
SCHOOL_KINDS = ["小学", "中学", "实验小学", "初级中学", "幼儿园"]
# fuel depots sit at the ports (石臼 in core A, 岚山头 in core B)
FUEL_DEPOT_SUBDISTRICT = {"A": "371102002", "B": "371103001"}
MIN_POI_BLOCK_M2 = 20_000.0


def make_pois(key: str, net: Network, block_sub: np.ndarray, villages: pd.DataFrame) -> pd.DataFrame:
    """GENERATED POIs of one core (metres): distinct blocks drawn with a seeded rng,
    a point 25 m inside the block.  Urban villages take the names of real 村 units of
    the subdistrict they are placed in (the location is generated)."""
    rng = rng_for("pois", key)
    area = shapely.area(net.blocks)
    free = area >= MIN_POI_BLOCK_M2
    rows = []
    for kind, (na, nb, hours, busy, pattern) in POI_KINDS.items():
        n = na if key == "A" else nb
        pool = free.copy()
        if kind == "fuel_depot":
            pool &= block_sub == FUEL_DEPOT_SUBDISTRICT[key]
        cand = np.flatnonzero(pool)
        pick = rng.choice(cand, size=n, replace=False)
        free[pick] = False
        for b in pick:
            stem = LOCAL_STEMS[rng.integers(len(LOCAL_STEMS))]
            name_kw = dict(stem=stem, school=SCHOOL_KINDS[rng.integers(len(SCHOOL_KINDS))])
            if kind == "urban_village":
                vs = villages[villages["subdistrict_code"] == block_sub[b]]["short"].tolist()
                name_kw["village"] = vs[rng.integers(len(vs))] if vs else stem
            rows.append(dict(name=pattern.format(**name_kw), kind=kind, opening_hours=hours,
                             busy_hours=busy, block=int(b)))
    df = pd.DataFrame(rows)
    inner = shapely.buffer(net.blocks[df["block"].to_numpy()], -25.0)
    base = np.where(shapely.is_empty(inner), net.blocks[df["block"].to_numpy()], inner)
    df["geometry"] = shapely.point_on_surface(base)
    return df.drop(columns="block")
