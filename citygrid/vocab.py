"""The shared vocabulary of citygrid: every capability imports its names from here.

Collections, roles, problem categories, case sources, case workflow states, county codes.

Idempotency, the one rule: every retryable write takes an ``Idempotency-Key`` header
(or the natural key the capability names, e.g. a mission id or a track's device + time);
a retry with the same key returns the first result instead of writing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from citygrid.errors import InvalidInput

# Every retryable write takes this header (or the capability's natural key); see above.
IDEMPOTENCY_HEADER = "Idempotency-Key"

# --- collections -----------------------------------------------------------------------

DISTRICTS = "districts"
SUBDISTRICTS = "subdistricts"
COMMUNITIES = "communities"
GRIDS = "grids"
POSTS = "posts"
ROADS = "roads"
POIS = "pois"
AIRSPACE = "airspace"
CASES = "cases"
PATROL_TRACKS = "patrol_tracks"
HOTSPOTS = "hotspots"
MISSIONS = "missions"
# What each collection is, and which are reference layers: citygrid.catalog.

# --- roles -----------------------------------------------------------------------------

ROLES = ("commander", "drone_operator", "planner", "patrol_officer", "public")


class Role(StrEnum):
    """The user roles, the same names as ROLES; a member compares equal to its string."""
    COMMANDER = "commander"
    DRONE_OPERATOR = "drone_operator"
    PLANNER = "planner"
    PATROL_OFFICER = "patrol_officer"
    PUBLIC = "public"


STAFF_ROLES = tuple(r for r in ROLES if r != Role.PUBLIC)

# --- problem categories ------------------------------------------------------------------

WORKING_HOURS = "working_hours"
WORKING_DAYS = "working_days"
LIMIT_UNITS = (WORKING_HOURS, WORKING_DAYS)

# Event main classes after CJ/T 214. The numbering (2-digit main class + 2-digit subclass)
# is INFERRED from city platforms that follow the standard, not read in the standard's text.
# Where a category matches a standard subclass we reuse that subclass number; the city's own
# additions take subclass numbers from 50 up (or main class 06, extensions) so they can
# never collide with a standard subclass.
MAIN_CLASSES: dict[str, tuple[str, str]] = {
    "01": ("市容环境", "city appearance"),
    "02": ("宣传广告", "advertising"),
    "03": ("施工管理", "construction management"),
    "04": ("突发事件", "emergencies"),
    "05": ("街面秩序", "street order"),
    "06": ("扩展", "extensions"),
}


@dataclass(frozen=True)
class Category:
    """One problem category: Open311 slug, 4-digit code (CJ/T 214 main class + subclass), names in
    Chinese and English, and the handling limit: ``limit_value`` working hours or working days
    (``limit_unit``) from dispatch."""
    slug: str  # Open311 service_code and CLI --category
    code: str  # 4 digits: main class + subclass
    name_zh: str
    name_en: str
    main_class_zh: str
    main_class_en: str
    limit_value: float
    limit_unit: str  # WORKING_HOURS | WORKING_DAYS; the clock starts at dispatch
    description: str

    @property
    def main_class(self) -> str:
        """The 2-digit main class of ``code`` (a key of MAIN_CLASSES)."""
        return self.code[:2]


def _cat(slug, code, name_zh, name_en, limit_value, limit_unit, description) -> Category:
    main_zh, main_en = MAIN_CLASSES[code[:2]]
    return Category(slug, code, name_zh, name_en, main_zh, main_en, limit_value, limit_unit,
                    description)


# Limits are typical of published city handling standards: street-order problems that a
# squad can clear on the spot get hours, problems needing notices or works get days.
_CATEGORY_LIST = (
    _cat("occupied_road", "0550", "占道经营", "Occupied-road vending", 2, WORKING_HOURS,
         "Stalls or goods occupying roads, pavements or squares."),
    _cat("storefront_extension", "0504", "店外经营", "Storefront extension", 2, WORKING_HOURS,
         "Shops trading or piling goods outside their front door."),
    _cat("unlicensed_vendor", "0501", "无照游商", "Unlicensed mobile vendor", 2, WORKING_HOURS,
         "无照经营游商: hawkers without a licence moving through the streets."),
    _cat("illegal_construction", "0101", "违法建设", "Illegal construction", 5, WORKING_DAYS,
         "私搭乱建: structures built without planning permission."),
    _cat("noise", "0508", "噪音扰民", "Noise nuisance", 4, WORKING_HOURS,
         "Commercial loudspeakers, night-time works and other noise disturbing residents."),
    _cat("garbage_sorting", "0601", "垃圾分类", "Garbage sorting", 1, WORKING_DAYS,
         "Waste not sorted, mixed bins, overflowing sorting points."),
    _cat("outdoor_advertising", "0202", "户外广告", "Outdoor advertising", 3, WORKING_DAYS,
         "Billboards, signs and banners put up without approval or in disrepair."),
    _cat("cooking_fumes", "0116", "油烟", "Cooking fumes", 4, WORKING_HOURS,
         "露天烧烤/油烟: open-air barbecue and restaurant fumes without purification."),
    _cat("construction_waste", "0303", "建筑垃圾", "Construction waste", 1, WORKING_DAYS,
         "Dumped construction and decoration waste, spilled muck."),
    _cat("landscaping", "0602", "园林绿化", "Landscaping", 3, WORKING_DAYS,
         "Damaged or occupied green space, dead or dangerous trees."),
    _cat("gas_safety", "0403", "燃气安全", "Gas safety", 1, WORKING_HOURS,
         "Gas leaks, alarms and unsafe gas use; urgent."),
    _cat("illegal_discharge", "0603", "擅自排污", "Illegal sewage discharge", 1, WORKING_DAYS,
         "Sewage or waste water discharged into drains, rivers or streets without a permit."),
)

CATEGORIES: dict[str, Category] = {c.slug: c for c in _CATEGORY_LIST}
CATEGORY_SLUGS = tuple(CATEGORIES)


class UnknownCategory(InvalidInput, ValueError):
    """A category slug that is not in the vocabulary."""


def category(slug: str) -> Category:
    """The Category with ``slug``; UnknownCategory (an InvalidInput) lists the valid slugs."""
    try:
        return CATEGORIES[slug]
    except KeyError:
        raise UnknownCategory(
            f"unknown category {slug!r}; valid: {', '.join(CATEGORY_SLUGS)}") from None


# --- case sources ----------------------------------------------------------------------

SOURCES = ("citizen", "patrol", "drone", "sensor", "hotline")

# --- case workflow -----------------------------------------------------------------------

# The 7-step flow of CJ/T 315: collect (reported) -> file -> dispatch -> handle -> feedback
# -> verify and close -> evaluate.
CASE_STATES = ("reported", "filed", "dispatched", "handled", "feedback", "closed", "evaluated")

# from-state -> {to-state: roles allowed to make the move}
TRANSITIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "reported": {"filed": ("commander",)},
    "filed": {"dispatched": ("commander",)},
    "dispatched": {"handled": ("patrol_officer", "commander")},
    "handled": {"feedback": ("patrol_officer", "commander")},
    "feedback": {
        "closed": ("commander",),  # verified and closed
        "dispatched": ("commander",),  # verification failed: sent back (rework, 返工)
    },
    "closed": {"evaluated": ("commander", "planner")},
    "evaluated": {},
}

REWORK = ("feedback", "dispatched")
# Open311 knows only open|closed; a case counts as closed once verified.
CLOSED_STATES = ("closed", "evaluated")


def allowed_transitions(state: str, role: str | None = None) -> list[str]:
    """States reachable from ``state`` in one step (by ``role``, when given)."""
    if state not in TRANSITIONS:
        raise ValueError(f"unknown case state {state!r}; valid: {', '.join(CASE_STATES)}")
    return [to for to, roles in TRANSITIONS[state].items() if role is None or role in roles]


def can_transition(from_state: str, to_state: str, role: str) -> bool:
    """Whether ``role`` may move a case from ``from_state`` to ``to_state`` (per TRANSITIONS)."""
    return role in TRANSITIONS.get(from_state, {}).get(to_state, ())


def is_rework(from_state: str, to_state: str) -> bool:
    """Whether the move is a rework (返工): verification failed, ``feedback`` -> ``dispatched``."""
    return (from_state, to_state) == REWORK


# --- places --------------------------------------------------------------------------------

CITY_CODE = "371100"  # GB/T 2260, 日照市
COUNTY_NAMES = {
    "371102": "东港区",
    "371103": "岚山区",
    "371121": "五莲县",
    "371122": "莒县",
    "371171": "日照经济技术开发区",
}
