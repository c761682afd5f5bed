import pytest

from citygrid import vocab
from citygrid.catalog import ALL_COLLECTIONS, CATALOG, REFERENCE_COLLECTIONS
from citygrid.db.schema import REFERENCE_TABLES, metadata
from citygrid.vocab import (
    CASE_STATES, CATEGORIES, CATEGORY_SLUGS, LIMIT_UNITS, MAIN_CLASSES, ROLES, STAFF_ROLES, TRANSITIONS, Role, UnknownCategory,
    allowed_transitions, can_transition, category, is_rework,
)

REQUIRED = {
    "occupied_road": "占道经营", "storefront_extension": "店外经营", "unlicensed_vendor": "无照游商",
    "illegal_construction": "违法建设", "noise": "噪音扰民", "garbage_sorting": "垃圾分类",
    "outdoor_advertising": "户外广告", "cooking_fumes": "油烟", "construction_waste": "建筑垃圾",
    "landscaping": "园林绿化", "gas_safety": "燃气安全", "illegal_discharge": "擅自排污",
}


def test_collections():
    assert len(ALL_COLLECTIONS) == len(set(ALL_COLLECTIONS)) == 12
    assert REFERENCE_COLLECTIONS == ALL_COLLECTIONS[:8]
    assert REFERENCE_COLLECTIONS[-1] == vocab.AIRSPACE == "airspace"
    assert vocab.PATROL_TRACKS in ALL_COLLECTIONS and vocab.CASES not in REFERENCE_COLLECTIONS


def test_catalog_is_what_schema_and_loader_read():
    # every collection's table and columns exist in the schema; the loader's layers are the
    # catalog's reference collections plus the service area, each on its own table
    for c in CATALOG:
        table = metadata.tables[c.table]
        cols = set(table.columns.keys())
        assert {"geom", c.id_column} <= cols, c.id
        assert set(c.staff_only) <= cols and set(c.tile_columns) <= cols, c.id
        assert c.datetime_column is None or c.datetime_column in cols, c.id
    assert set(REFERENCE_TABLES) == set(REFERENCE_COLLECTIONS) | {"service_area"}
    assert REFERENCE_TABLES["grids"].name == "grids"
    # photos are staff-only in the catalog, not only in one read path
    assert "media_urls" in next(c for c in CATALOG if c.id == vocab.CASES).staff_only


def test_roles():
    assert tuple(r.value for r in Role) == ROLES
    assert Role("drone_operator") == "drone_operator"
    assert STAFF_ROLES == ("commander", "drone_operator", "planner", "patrol_officer")


def test_categories_complete_and_consistent():
    assert len(CATEGORIES) >= 12
    assert CATEGORY_SLUGS == tuple(CATEGORIES)
    for slug, name_zh in REQUIRED.items():
        assert CATEGORIES[slug].name_zh == name_zh
    slugs = [c.slug for c in CATEGORIES.values()]
    codes = [c.code for c in CATEGORIES.values()]
    assert slugs == list(CATEGORIES) and len(set(slugs)) == len(slugs)
    assert len(set(codes)) == len(codes)
    for c in CATEGORIES.values():
        assert len(c.code) == 4 and c.code.isdigit(), c
        assert c.code[:2] in MAIN_CLASSES, c
        assert (c.main_class_zh, c.main_class_en) == MAIN_CLASSES[c.code[:2]]
        assert c.limit_unit in LIMIT_UNITS and c.limit_value > 0
    assert MAIN_CLASSES["05"][0] == "街面秩序"
    assert category("unlicensed_vendor").main_class_zh == "街面秩序"
    assert category("illegal_construction").main_class_zh == "市容环境"


def test_category_limits():
    assert (category("occupied_road").limit_value, category("occupied_road").limit_unit) == (2, "working_hours")
    assert (category("noise").limit_value, category("noise").limit_unit) == (4, "working_hours")
    assert (category("gas_safety").limit_value, category("gas_safety").limit_unit) == (1, "working_hours")
    assert (category("illegal_construction").limit_value,
            category("illegal_construction").limit_unit) == (5, "working_days")
    assert (category("garbage_sorting").limit_value, category("garbage_sorting").limit_unit) == (1, "working_days")


def test_unknown_category():
    with pytest.raises(UnknownCategory) as err:
        category("nope")
    assert isinstance(err.value, ValueError)
    assert "nope" in str(err.value) and "occupied_road" in str(err.value)


def test_workflow_every_state_reachable_from_reported():
    assert set(TRANSITIONS) == set(CASE_STATES)
    seen, todo = {"reported"}, ["reported"]
    while todo:
        for nxt in allowed_transitions(todo.pop()):
            assert nxt in CASE_STATES
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(CASE_STATES)
    for targets in TRANSITIONS.values():
        for roles in targets.values():
            assert roles and set(roles) <= set(STAFF_ROLES)


def test_workflow_rework_and_roles():
    assert allowed_transitions("feedback") == ["closed", "dispatched"]
    assert is_rework("feedback", "dispatched") and not is_rework("feedback", "closed")
    assert can_transition("feedback", "dispatched", "commander")
    assert not can_transition("feedback", "dispatched", "patrol_officer")
    assert allowed_transitions("dispatched", role="patrol_officer") == ["handled"]
    assert allowed_transitions("reported", role="public") == []
    assert allowed_transitions("closed", role="planner") == ["evaluated"]
    assert allowed_transitions("evaluated") == []
    assert not can_transition("reported", "closed", "commander")
    with pytest.raises(ValueError, match="bogus"):
        allowed_transitions("bogus")


def test_sources_places_idempotency():
    assert vocab.SOURCES == ("citizen", "patrol", "drone", "sensor", "hotline")
    assert vocab.IDEMPOTENCY_HEADER == "Idempotency-Key"
    assert "Idempotency-Key" in vocab.__doc__
    assert vocab.CITY_CODE == "371100"
    assert vocab.COUNTY_NAMES["371103"] == "岚山区"
    assert all(code[:4] == vocab.CITY_CODE[:4] for code in vocab.COUNTY_NAMES)
