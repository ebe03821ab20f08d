"""Importing infant-care services: CSV, GeoJSON and OpenStreetMap exports; broken and hostile files; strict mode;
re-imports; the bundled demo data set."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from knowledge.gazetteer import Gazetteer, normalise
from knowledge.service_import import (CSV_COLUMNS, ServiceImportError, ensure_bundled_services, import_services)
from knowledge.services import count_services, get_service, haversine_km, search_services

from knowledge.settings import REPO_ROOT

CONTENT_DIR = REPO_ROOT / "content"

TODAY = date(2026, 11, 20)
GOOD = {
    "id": "sh-001", "name_en": "Little Acorn Nursery", "name_zh": "小橡果托育园", "type": "private",
    "address_en": "12 Tianyaoqiao Road, Xuhui District, Shanghai", "address_zh": "上海市徐汇区天钥桥路12号",
    "district": "Xuhui", "city": "Shanghai", "lat": "31.1900", "lon": "121.4380",
    "age_min_months": "6", "age_max_months": "36", "opening_hours": "Mo-Fr 07:30-18:00; Sa 08:00-12:00",
    "fee_min_cny": "4500", "fee_max_cny": "6800", "capacity": "60", "vacancies": "4",
    "registration": "registered", "registration_number": "TY-310104-0001", "phone": "021-55500001",
    "last_inspection": "2026-05-12", "source": "Xuhui health commission list", "updated": "2026-11-01",
    "is_demo": "0",
}


def write_csv(path: Path, rows: list[dict], columns: tuple[str, ...] | list[str] = CSV_COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def row(**changes) -> dict:
    return {**GOOD, **changes}


def feature(props: dict, geometry: dict | None = None, feature_id: str | None = None) -> dict:
    item = {"type": "Feature", "properties": props,
            "geometry": geometry or {"type": "Point", "coordinates": [121.4380, 31.1900]}}
    if feature_id:
        item["id"] = feature_id
    return item


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


OSM_NODE = feature({
    "@id": "node/123456789", "amenity": "childcare", "name": "小橡果托育", "name:zh": "小橡果托育",
    "name:en": "Little Acorn Childcare", "opening_hours": "Mo-Fr 08:00-17:30", "contact:phone": "+86 21 5550 0002",
    "addr:street": "天钥桥路", "addr:housenumber": "88", "addr:district": "徐汇区", "addr:city": "上海市",
    "min_age": "1.5", "max_age": "3", "operator:type": "public", "capacity": "45",
}, feature_id="node/123456789")


# Good files -----------------------------------------------------------------------------------------------------

def test_a_good_csv_imports_every_field(db, tmp_path):
    report = import_services(db, write_csv(tmp_path / "s.csv", [GOOD]), today=TODAY)
    service = get_service(db, "sh-001")
    assert (report.rows, report.inserted, report.rejected, report.committed) == (1, 1, [], True)
    assert service.name("zh") == "小橡果托育园" and service.type == "private"
    assert (service.lat, service.lon, service.age_min_months, service.age_max_months) == (31.19, 121.438, 6, 36)
    assert (service.fee_min_cny, service.fee_max_cny, service.capacity, service.vacancies) == (4500, 6800, 60, 4)
    assert service.registration == "registered" and service.last_inspection == date(2026, 5, 12)
    assert service.updated == date(2026, 11, 1) and not service.is_demo


def test_a_csv_with_only_the_required_columns_imports(db, tmp_path):
    path = write_csv(tmp_path / "s.csv", [row()], columns=("id", "name_zh", "type", "lat", "lon"))
    import_services(db, path, today=TODAY)
    service = get_service(db, "sh-001")
    assert service.registration == "unknown" and service.updated == TODAY and service.age_min_months is None


def test_a_geojson_with_sprout_properties_imports(db, tmp_path):
    props = {k: v for k, v in GOOD.items() if k not in ("lat", "lon")}
    path = write_geojson(tmp_path / "s.geojson", [feature(props, {"type": "Point", "coordinates": [121.5, 31.25]})])
    import_services(db, path, today=TODAY)
    service = get_service(db, "sh-001")
    assert (service.lat, service.lon, service.fee_max_cny) == (31.25, 121.5, 6800)


def test_an_osm_export_maps_tags_to_the_service_model(db, tmp_path):
    import_services(db, write_geojson(tmp_path / "osm.geojson", [OSM_NODE]), today=TODAY)
    service = get_service(db, "osm:node/123456789")
    assert (service.name_en, service.name_zh) == ("Little Acorn Childcare", "小橡果托育")
    assert service.type == "public_inclusive" and service.phone == "+86 21 5550 0002"
    assert (service.age_min_months, service.age_max_months, service.capacity) == (18, 36, 45)
    assert service.address_zh == "上海市徐汇区天钥桥路88号" and service.district == "徐汇区"
    assert service.opening_hours == "Mo-Fr 08:00-17:30" and service.registration == "unknown"
    assert "OpenStreetMap" in service.source


@pytest.mark.parametrize("tags, expected_type", [
    ({"amenity": "kindergarten"}, "kindergarten_class"),
    ({"amenity": "childcare", "operator:type": "community"}, "community_centre"),
    ({"amenity": "childcare", "operator:type": "private"}, "private"),
    ({"amenity": "childcare"}, "private"),  # unknown operator: never counted as public
])
def test_osm_operator_type_decides_the_service_type(db, tmp_path, tags, expected_type):
    node = feature({"@id": "node/1", "name": "Test", **tags})
    import_services(db, write_geojson(tmp_path / "osm.geojson", [node]), today=TODAY)
    assert get_service(db, "osm:node/1").type == expected_type


def test_an_osm_building_polygon_is_placed_at_its_centre(db, tmp_path):
    square = {"type": "Polygon", "coordinates": [[[121.0, 31.0], [121.2, 31.0], [121.2, 31.2], [121.0, 31.2],
                                                  [121.0, 31.0]]]}
    way = feature({"@id": "way/42", "amenity": "childcare", "name": "Square Nursery"}, square, "way/42")
    import_services(db, write_geojson(tmp_path / "osm.geojson", [way]), today=TODAY)
    service = get_service(db, "osm:way/42")
    assert service.lat == pytest.approx(31.1) and service.lon == pytest.approx(121.1)


def test_an_osm_feature_that_is_not_childcare_is_rejected_with_its_number(db, tmp_path):
    school = feature({"@id": "node/2", "amenity": "school", "name": "A school"})
    report = import_services(db, write_geojson(tmp_path / "osm.geojson", [OSM_NODE, school]), today=TODAY)
    assert report.accepted == 1
    assert [(p.feature, p.where) for p in report.rejected] == [(2, "feature 2")]
    assert "amenity=school" in report.rejected[0].reason


def test_osm_opening_hours_outside_the_supported_syntax_are_kept_with_a_warning(db, tmp_path):
    node = feature({"@id": "node/3", "amenity": "childcare", "name": "X", "opening_hours": "Jan-Jun Mo-Fr 08:00-17:00"})
    report = import_services(db, write_geojson(tmp_path / "osm.geojson", [node]), today=TODAY)
    assert report.accepted == 1 and "opening_hours not understood" in report.warnings[0].reason
    assert get_service(db, "osm:node/3").hours() is None


# Broken and hostile rows ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, reason", [
    ({"lat": "91"}, "lat 91 is out of range"),
    ({"lon": "-181.5"}, "lon -181.5 is out of range"),
    ({"lat": "north"}, "lat 'north' is not a number"),
    ({"lat": "nan"}, "lat must be a finite number"),
    ({"lat": ""}, "lat is missing"),
    ({"lat": "0", "lon": "0"}, "coordinates 0,0"),
    ({"age_min_months": "24", "age_max_months": "12"}, "age_min_months 24 is more than age_max_months 12"),
    ({"age_max_months": "120"}, "age_max_months 120 is out of range"),
    ({"age_min_months": "6.5"}, "is not a whole number"),
    ({"fee_min_cny": "9000", "fee_max_cny": "4000"}, "fee_min_cny 9000 is more than fee_max_cny 4000"),
    ({"fee_min_cny": "-5"}, "fee_min_cny -5 is out of range"),
    ({"vacancies": "80", "capacity": "60"}, "vacancies 80 is more than capacity 60"),
    ({"type": "castle"}, "type 'castle' is not one of"),
    ({"type": ""}, "type is missing"),
    ({"registration": "maybe"}, "registration 'maybe' is not one of"),
    ({"name_en": "", "name_zh": ""}, "needs name_en or name_zh"),
    ({"name_en": "x" * 201}, "name_en is 201 characters long; the limit is 200"),
    ({"address_en": "y" * 501}, "address_en is 501 characters long; the limit is 500"),
    ({"name_en": "Bad\x07Name"}, "contains control characters"),
    ({"phone": "call us maybe"}, "phone 'call us maybe' may contain only"),
    ({"id": "has spaces"}, "id 'has spaces' may contain only"),
    ({"id": ""}, "id is missing"),
    ({"last_inspection": "2026-13-01"}, "last_inspection '2026-13-01' is not a date"),
    ({"updated": "2030-01-01"}, "updated 2030-01-01 is in the future"),
    ({"is_demo": "perhaps"}, "is_demo 'perhaps' must be"),
])
def test_an_invalid_row_is_rejected_with_its_line_and_reason(db, tmp_path, changes, reason):
    path = write_csv(tmp_path / "s.csv", [row(id="good-1"), row(**changes)])
    report = import_services(db, path, today=TODAY)
    assert report.accepted == 1 and get_service(db, "good-1") is not None
    assert [p.line for p in report.rejected] == [3]
    assert reason in report.rejected[0].reason


def test_a_nul_byte_in_a_field_rejects_the_row(db, tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"id,name_en,type,lat,lon\nx,N\x00ul,private,31,121\n")
    report = import_services(db, path, today=TODAY)
    assert report.rejected[0].line == 2 and "control characters" in report.rejected[0].reason


def test_every_problem_in_a_row_is_listed(db, tmp_path):
    report = import_services(db, write_csv(tmp_path / "s.csv", [row(lat="95", type="zoo")]), today=TODAY)
    assert "lat 95 is out of range" in report.rejected[0].reason and "type 'zoo'" in report.rejected[0].reason


def test_rejected_rows_are_reported_on_their_physical_line(db, tmp_path):
    # Row 1 spans lines 2-3 (a quoted line break); the next row starts on line 4.
    path = tmp_path / "s.csv"
    path.write_text("id,name_en,type,lat,lon\n"
                    "a,\"Two\nLines\",private,31.2,121.4\n"
                    "b,Fine,private,99,121.4\n", encoding="utf-8")
    report = import_services(db, path, today=TODAY)
    assert [p.line for p in report.rejected] == [2, 4]


def test_a_row_with_the_wrong_number_of_fields_is_rejected(db, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id,name_en,type,lat,lon\nshort,Short,private\n", encoding="utf-8")
    report = import_services(db, path, today=TODAY)
    assert report.rejected[0].line == 2 and "has 3 fields but the header has 5" in report.rejected[0].reason


def test_a_duplicate_id_in_one_file_rejects_the_second_row(db, tmp_path):
    report = import_services(db, write_csv(tmp_path / "s.csv", [row(), row(name_en="Copy")]), today=TODAY)
    assert get_service(db, "sh-001").name_en == "Little Acorn Nursery"
    assert report.rejected[0].line == 3 and "duplicate id 'sh-001' (first seen on line 2)" in report.rejected[0].reason


# Broken files ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"  \n\n", "the file is empty"),
    (b"id,name_en,type,lat,lon\n", "has a header but no rows"),
    (b"id,name_en,type,lon\nx,X,private,121\n", "missing columns: lat"),
    (b"id,name_en,type,lattitude,lat,lon\n", "unknown columns: 'lattitude'"),
    (b"id,name_en,type,lat,lat,lon\n", "repeated columns: lat"),
    (b"id,type,lat,lon\nx,private,31,121\n", "needs a name_en or name_zh column"),
    ("id,name_zh,type,lat,lon\nx,小橡果,private,31,121\n".encode("gbk"), "not UTF-8"),
    (b"id,name_en,type,lat,lon\nx,\"" + b"z" * 200_000 + b"\",private,31,121\n", "far too large"),
])
def test_a_broken_csv_file_is_a_clear_error_and_changes_nothing(db, tmp_path, content, message):
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(ServiceImportError, match=message):
        import_services(db, path, today=TODAY)
    assert count_services(db) == 0


@pytest.mark.parametrize("content, message", [
    ("{\"type\": \"FeatureCollection\", ", "not valid JSON"),
    ("[1, 2, 3]", "not a GeoJSON FeatureCollection"),
    ("{\"type\": \"FeatureCollection\", \"features\": []}", "no features"),
])
def test_a_broken_geojson_file_is_a_clear_error(db, tmp_path, content, message):
    path = tmp_path / "broken.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ServiceImportError, match=message):
        import_services(db, path, today=TODAY)


def test_the_non_utf8_error_names_the_line(db, tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("id,name_zh,type,lat,lon\nx,小橡果,private,31,121\n".encode("gbk"))
    with pytest.raises(ServiceImportError, match="on line 2.*save it as UTF-8"):
        import_services(db, path, today=TODAY)


# Strict mode, transactions, re-imports ------------------------------------------------------------------------

def test_strict_mode_rejects_the_whole_file_when_one_row_is_bad(db, tmp_path):
    path = write_csv(tmp_path / "s.csv", [row(id="a"), row(id="b", lat="200")])
    report = import_services(db, path, strict=True, today=TODAY)
    assert not report.committed and len(report.rejected) == 1 and count_services(db) == 0


def test_strict_mode_imports_a_clean_file(db, tmp_path):
    report = import_services(db, write_csv(tmp_path / "s.csv", [row(id="a"), row(id="b")]), strict=True, today=TODAY)
    assert report.committed and count_services(db) == 2


def test_a_failure_while_writing_leaves_nothing_half_imported(db, tmp_path, monkeypatch):
    import knowledge.service_import as module

    import_services(db, write_csv(tmp_path / "first.csv", [row(id="kept", fee_min_cny="100", fee_max_cny="200")]),
                    today=TODAY)

    def explode(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(module, "place_rows", explode)  # after the rows are staged, before the swap
    changed = write_csv(tmp_path / "second.csv", [row(id="kept", fee_min_cny="999", fee_max_cny="999"), row(id="new")])
    with pytest.raises(RuntimeError):
        import_services(db, changed, today=TODAY)
    assert count_services(db) == 1 and get_service(db, "kept").fee_min_cny == 100


def test_reimporting_updates_rows_in_place_by_id(db, tmp_path):
    import_services(db, write_csv(tmp_path / "s.csv", [row(id="a"), row(id="b")]), today=TODAY)
    report = import_services(db, write_csv(tmp_path / "s.csv", [row(id="a", vacancies="0"), row(id="c")]), today=TODAY)
    assert (report.inserted, report.updated) == (1, 1)
    assert count_services(db) == 3 and get_service(db, "a").vacancies == 0


def test_a_moved_service_is_found_at_its_new_place(db, tmp_path):
    import_services(db, write_csv(tmp_path / "s.csv", [row(lat="31.19", lon="121.438")]), today=TODAY)
    import_services(db, write_csv(tmp_path / "s.csv", [row(lat="31.30", lon="121.50")]), today=TODAY)
    assert search_services(db, 31.19, 121.438, radius_km=1).total == 0
    assert search_services(db, 31.30, 121.50, radius_km=1).total == 1


def test_reimporting_an_osm_export_keeps_the_same_ids(db, tmp_path):
    path = write_geojson(tmp_path / "osm.geojson", [OSM_NODE])
    import_services(db, path, today=TODAY)
    report = import_services(db, path, today=TODAY)
    assert (report.inserted, report.updated, count_services(db)) == (0, 1, 1)


# The bundled demo data ------------------------------------------------------------------------------------------

@pytest.fixture
def content_copy(tmp_path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR / "services", target / "services")
    return target


def test_bundled_data_loads_once_until_the_file_changes(db, content_copy):
    first = ensure_bundled_services(db, content_copy, today=TODAY)
    again = ensure_bundled_services(db, content_copy, today=TODAY)
    assert first.inserted >= 320 and first.rejected == [] and again is None


def test_a_changed_bundled_file_updates_and_drops_removed_rows(db, content_copy):
    ensure_bundled_services(db, content_copy, today=TODAY)
    path = content_copy / "services" / "demo_shanghai.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    report = ensure_bundled_services(db, content_copy, today=TODAY)
    assert (report.removed, report.updated, count_services(db)) == (1, len(lines) - 2, len(lines) - 2)


def test_a_broken_bundled_file_is_reported_not_raised(db, content_copy):
    (content_copy / "services" / "broken.csv").write_bytes(b"\xff\xfe not utf-8")
    report = ensure_bundled_services(db, content_copy, today=TODAY)
    assert report.errors and "broken.csv" in report.errors[0] and count_services(db) >= 320


DEMO = list(csv.DictReader((CONTENT_DIR / "services" / "demo_shanghai.csv").read_text(encoding="utf-8").splitlines()))
DISTRICTS = ["Huangpu", "Xuhui", "Changning", "Jing'an", "Putuo", "Hongkou", "Yangpu", "Minhang", "Baoshan",
             "Jiading", "Pudong", "Jinshan", "Songjiang", "Qingpu", "Fengxian", "Chongming"]


def test_the_demo_data_covers_all_16_districts_with_at_least_320_services():
    assert len(DEMO) >= 320 and sorted({r["district"] for r in DEMO}) == sorted(DISTRICTS)


def test_every_demo_row_is_marked_as_demo_data():
    for item in DEMO:
        assert item["name_en"].startswith("Demo: ") and "（演示）" in item["name_zh"], item["id"]
        assert item["is_demo"] == "1" and item["source"] == "Sprout demo data", item["id"]
        assert item["phone"].startswith("021-5550") and len(item["phone"]) == 12, item["id"]
        assert not item["registration_number"] or item["registration_number"].startswith("DEMO-"), item["id"]


def test_demo_services_lie_near_their_district():
    gazetteer = Gazetteer.load(CONTENT_DIR / "services" / "gazetteer.yaml")
    for item in DEMO:
        centre = gazetteer.exact(normalise(item["district"]))
        # Central districts are small; Pudong reaches Lingang (50 km), Chongming island is 80 km long and
        # Jinshan's Fengjing is 35 km from the seat at Shihua.
        limit = {"Pudong": 60, "Chongming": 50, "Jinshan": 40}.get(item["district"], 20)
        if DISTRICTS.index(item["district"]) < 7:
            limit = 10
        assert haversine_km(centre.lat, centre.lon, float(item["lat"]), float(item["lon"])) < limit, item["id"]


def test_the_demo_generator_reproduces_the_committed_file(tmp_path):
    spec = importlib.util.spec_from_file_location("make_demo", CONTENT_DIR / "services" / "make_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.OUTPUT = tmp_path / "demo.csv"
    module.main()
    assert module.OUTPUT.read_bytes() == (CONTENT_DIR / "services" / "demo_shanghai.csv").read_bytes()


# The command line -----------------------------------------------------------------------------------------------

def run_cli(tmp_path, *args):
    from bot.cli import cli

    env = {"SPROUT_DATA_DIR": str(tmp_path / "var")}
    return CliRunner().invoke(cli, ["services", *args], env=env, catch_exceptions=False)


def test_cli_import_lists_rejected_rows_and_counts(tmp_path):
    path = write_csv(tmp_path / "s.csv", [row(id="a"), row(id="b", lon="500")])
    result = run_cli(tmp_path, "import", str(path))
    assert result.exit_code == 0
    assert "s.csv:line 3: rejected: lon 500 is out of range" in result.output
    assert "2 row(s) read: 1 added, 0 updated, 1 rejected" in result.output


def test_cli_import_strict_fails_without_importing(tmp_path):
    path = write_csv(tmp_path / "s.csv", [row(id="a"), row(id="b", lon="500")])
    result = run_cli(tmp_path, "import", str(path), "--strict", "--json")
    report = json.loads(result.output)
    assert result.exit_code == 1 and report["committed"] is False and report["rejected"][0]["line"] == 3


@pytest.mark.parametrize("content, message", [
    ("id,name_zh,type,lat,lon\nx,小橡果,private,31,121\n".encode("gbk"), "not UTF-8"),
    (b"", "the file is empty"),
])
def test_cli_import_of_a_broken_file_prints_an_error_not_a_traceback(tmp_path, content, message):
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    result = run_cli(tmp_path, "import", str(path))
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_cli_import_of_a_missing_file_is_a_clear_error(tmp_path):
    result = run_cli(tmp_path, "import", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1 and "file not found" in result.output


@pytest.mark.parametrize("content, message", [
    ("[" * 100_000 + "]" * 100_000, "nested far too deeply"),
])
def test_hostile_json_is_a_clear_error(db, tmp_path, content, message):
    path = tmp_path / "hostile.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ServiceImportError, match=message):
        import_services(db, path, today=TODAY)


def test_a_feature_with_nested_property_values_is_rejected(db, tmp_path):
    props = {**{k: v for k, v in GOOD.items() if k not in ("lat", "lon")}, "name_en": ["a", "list"]}
    report = import_services(db, write_geojson(tmp_path / "s.geojson", [feature(props)]), today=TODAY)
    assert report.rejected[0].feature == 1 and "property 'name_en' is not text or a number" in report.rejected[0].reason


def test_thousands_of_unknown_columns_give_a_short_error(db, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("id,name_en,type,lat,lon," + ",".join(f"c{i}" for i in range(5000)) + "\n", encoding="utf-8")
    with pytest.raises(ServiceImportError) as caught:
        import_services(db, path, today=TODAY)
    assert "and 4990 more" in str(caught.value) and len(str(caught.value)) < 1000


# Big and endless files ------------------------------------------------------------------------------------------

def test_reading_dev_zero_stops_at_the_size_limit_with_a_clear_error(db):
    """stat() says 0 bytes for /dev/zero; the limit is counted on the bytes actually read."""
    with pytest.raises(ServiceImportError, match="larger than the 1 MB limit"):
        import_services(db, "/dev/zero", max_bytes=2**20, today=TODAY)
    assert count_services(db) == 0


def test_cli_import_of_dev_zero_is_refused_at_the_limit(tmp_path, monkeypatch):
    import knowledge.service_import as module
    from bot.cli import cli

    monkeypatch.setattr(module, "MAX_FILE_BYTES", 2**20)
    result = CliRunner().invoke(cli, ["services", "import", "/dev/zero"], env={"SPROUT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert "zero: the file is larger than the 1 MB limit" in result.output and "Traceback" not in result.output


def test_a_big_import_is_staged_in_chunks_and_never_holds_the_lock_between_them(db, tmp_path, monkeypatch):
    """Another connection that will not wait at all (timeout 0) can write between every two chunks, and what it
    reads is always the whole old directory or the whole new one, never half an import."""
    import sqlite3

    import knowledge.service_import as module

    monkeypatch.setattr(module, "CHUNK_ROWS", 10)
    import_services(db, write_csv(tmp_path / "first.csv", [row(id="kept")]), today=TODAY)
    other = sqlite3.connect(tmp_path / "sprout.db", timeout=0, isolation_level=None)
    seen: list[int] = []

    def between_transactions(sql: str) -> None:
        if sql.strip().lower() == "begin immediate":
            other.execute("begin immediate")  # raises "database is locked" if the importer held the lock
            other.execute("insert into audit_log (at, actor, action) values ('now', 'bot', 'write')")
            other.execute("commit")
            seen.append(other.execute("select count(*) from services").fetchone()[0])

    db.conn.set_trace_callback(between_transactions)
    rows = [row(id=f"new-{i:03d}", lat=f"31.{i:03d}") for i in range(95)] + [row(id="kept", vacancies="1")]
    report = import_services(db, write_csv(tmp_path / "big.csv", rows), today=TODAY)
    db.conn.set_trace_callback(None)
    assert (report.inserted, report.updated, report.committed) == (95, 1, True)
    assert len(seen) >= 20  # copy, upsert and R*Tree chunks, each its own transaction
    assert seen[0] == 1 and seen[-1] == 96 and set(seen) == {1, 96}
    assert other.execute("select count(*) from audit_log").fetchone()[0] == len(seen)
    assert count_services(db) == 96 and search_services(db, 31.05, 121.438, radius_km=1).total >= 1
    assert get_service(db, "kept").vacancies == 1
    tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
    assert not tables & {"services_next", "services_next_rtree", "service_places_next", "services_old"}


def test_an_import_fails_while_another_holds_the_import_lease(db, tmp_path):
    db.execute("insert into leases (name, holder, expires_at) values ('services-import', 'elsewhere:1:x', "
               "'2999-01-01T00:00:00Z')")
    with pytest.raises(ServiceImportError, match="another services import is running"):
        import_services(db, write_csv(tmp_path / "s.csv", [row()]), today=TODAY)
    assert count_services(db) == 0
