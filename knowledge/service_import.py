"""Importing infant-care services from CSV and GeoJSON (including OpenStreetMap exports): validate every row,
report each rejected one, write the rest in one transaction, and load the bundled data sets when they change."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

from .db import utcnow_iso
from .gazetteer import place_rows, refresh_places
from .opening_hours import OpeningHoursError, parse_opening_hours
from .services import COLUMNS, REGISTRATION, SERVICE_TYPES

log = logging.getLogger(__name__)

# The columns a CSV file may have (see content/services/README.md); the dataset column comes from the file name.
CSV_COLUMNS = tuple(c for c in COLUMNS if c != "dataset")
REQUIRED_COLUMNS = ("id", "type", "lat", "lon")
NAME_COLUMNS = ("name_en", "name_zh")
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_AGE_MONTHS = 84          # kindergartens take children to 6; anything older is a data error
MAX_FEE_CNY = 200_000
MAX_CAPACITY = 5_000
# Longest accepted text per field; 500 for anything not listed.
FIELD_LIMITS = {"id": 100, "name_en": 200, "name_zh": 200, "district": 100, "city": 100, "registration_number": 100,
                "phone": 60}
TEXT_LIMIT = 500
_TYPED = ("lat", "lon", "age_min_months", "age_max_months", "fee_min_cny", "fee_max_cny", "capacity", "vacancies",
          "is_demo", "last_inspection", "updated")
_TEXT_LIMITS = tuple((c, FIELD_LIMITS.get(c, TEXT_LIMIT)) for c in CSV_COLUMNS if c not in _TYPED)
OSM_SOURCE = "OpenStreetMap contributors (ODbL)"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:/_.\-]*$")
_PHONE = re.compile(r"^[0-9+()\-\s;,/]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CJK = re.compile(r"[\u3400-\u9fff]")
_OSM_REF = re.compile(r"^(node|way|relation)/(\d+)$")
_TRUE, _FALSE = ("1", "true", "yes", "y"), ("0", "false", "no", "n", "")


class ServiceImportError(ValueError):
    """The whole file cannot be read (encoding, emptiness, columns, size); the message says what to fix."""


@dataclass(frozen=True)
class Problem:
    where: str                  # "line 7" (CSV, the physical line the row starts on) or "feature 3"
    reason: str
    id: str | None = None
    line: int | None = None
    feature: int | None = None


@dataclass
class ImportReport:
    source: str
    format: str
    strict: bool
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    removed: int = 0
    rejected: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)   # whole files that could not be read (bundled loads)
    committed: bool = False

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["accepted"] = self.accepted
        return data


# Validation ----------------------------------------------------------------------------------------------------

def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any, name: str, errors: list[str]) -> float | None:
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            errors.append(f"{name} must be a number")
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            errors.append(f"{name} {text[:30]!r} is not a number")
            return None
    if not math.isfinite(number):
        errors.append(f"{name} must be a finite number")
        return None
    return number


def _ordered_whole(raw: dict[str, Any], smaller: str, larger: str, high: int,
                   errors: list[str]) -> tuple[int | None, int | None]:
    """Two whole numbers from 0 to `high` where the first may not exceed the second (a range, or vacancies and
    capacity)."""
    low_value = _whole(raw.get(smaller), smaller, 0, high, errors)
    high_value = _whole(raw.get(larger), larger, 0, high, errors)
    if low_value is not None and high_value is not None and low_value > high_value:
        errors.append(f"{smaller} {low_value} is more than {larger} {high_value}")
    return low_value, high_value


def _whole(value: Any, name: str, low: int, high: int, errors: list[str]) -> int | None:
    number = _number(value, name, errors)
    if number is None:
        return None
    if number != int(number):
        errors.append(f"{name} {number:g} is not a whole number")
        return None
    if not low <= number <= high:
        errors.append(f"{name} {int(number)} is out of range {low}..{high}")
        return None
    return int(number)


def _iso_date(value: Any, name: str, today: date, errors: list[str]) -> str | None:
    """A date like 2026-05-31; a timestamp starting with one (OSM's @timestamp) is cut to its date."""
    text = _text(value)
    if text is None:
        return None
    try:
        if len(text) > 10 and text[10] not in "T ":
            raise ValueError
        day = date.fromisoformat(text[:10])
    except ValueError:
        errors.append(f"{name} {text[:30]!r} is not a date like 2026-05-31")
        return None
    if day > today + timedelta(days=1):
        errors.append(f"{name} {day.isoformat()} is in the future")
        return None
    return day.isoformat()


def validate_record(raw: dict[str, Any], today: date, hours_seen: dict[str, str | None] | None = None
                    ) -> tuple[dict[str, Any] | None, list[str], list[str]]:
    """Check one row; returns (clean values or None, errors, warnings). Every problem is listed, not just the first.
    hours_seen caches opening-hours checks across the rows of one file (most rows share a few strings)."""
    errors: list[str] = []
    warnings: list[str] = []
    clean: dict[str, Any] = {}
    for name, limit in _TEXT_LIMITS:
        text = _text(raw.get(name))
        if text is not None:
            if len(text) > limit:
                errors.append(f"{name} is {len(text)} characters long; the limit is {limit}")
                text = None
            elif _CONTROL.search(text):
                errors.append(f"{name} contains control characters (tabs, line breaks or similar)")
                text = None
        clean[name] = text
    if clean["id"] is None:
        if not any(e.startswith("id ") for e in errors):
            errors.append("id is missing")
    elif not _ID.match(clean["id"]):
        errors.append(f"id {clean['id'][:40]!r} may contain only letters, digits and : / _ . -")
    if not clean["name_en"] and not clean["name_zh"] and not any(e.startswith("name_") for e in errors):
        errors.append("needs name_en or name_zh")
    if clean["type"] is None:
        errors.append("type is missing")
    elif clean["type"] not in SERVICE_TYPES:
        errors.append(f"type {clean['type'][:40]!r} is not one of {', '.join(SERVICE_TYPES)}")
    registration = (clean["registration"] or "unknown").lower()
    if registration not in REGISTRATION:
        errors.append(f"registration {registration[:40]!r} is not one of {', '.join(REGISTRATION)}")
    clean["registration"] = registration
    if clean["phone"] and not _PHONE.match(clean["phone"]):
        errors.append(f"phone {clean['phone'][:40]!r} may contain only digits, spaces and + - ( ) ; , /")
    hours = clean["opening_hours"]
    if hours:
        seen = hours_seen if hours_seen is not None else {}
        if hours not in seen:
            try:
                parse_opening_hours(hours)
                seen[hours] = None
            except OpeningHoursError as exc:
                seen[hours] = str(exc)
        if seen[hours] is not None:
            # Kept as text (shown to families) but never counted as open: OSM data uses rules we do not parse.
            warnings.append(f"opening_hours not understood ({seen[hours]}); shown as written, left out of 'open now'")

    for axis in ("lat", "lon"):
        if _text(raw.get(axis)) is None:
            errors.append(f"{axis} is missing")
    lat = _number(raw.get("lat"), "lat", errors)
    lon = _number(raw.get("lon"), "lon", errors)
    if lat is not None and not -90 <= lat <= 90:
        errors.append(f"lat {lat:g} is out of range -90..90")
    if lon is not None and not -180 <= lon <= 180:
        errors.append(f"lon {lon:g} is out of range -180..180")
    if lat == 0 and lon == 0:
        errors.append("coordinates 0,0 are a missing location, not a place")
    clean["lat"], clean["lon"] = lat, lon

    for smaller, larger, high in (("age_min_months", "age_max_months", MAX_AGE_MONTHS),
                                  ("fee_min_cny", "fee_max_cny", MAX_FEE_CNY),
                                  ("vacancies", "capacity", MAX_CAPACITY)):
        clean[smaller], clean[larger] = _ordered_whole(raw, smaller, larger, high, errors)

    clean["last_inspection"] = _iso_date(raw.get("last_inspection"), "last_inspection", today, errors)
    clean["updated"] = _iso_date(raw.get("updated"), "updated", today, errors) or today.isoformat()
    demo = raw.get("is_demo")
    demo_text = str(demo).strip().lower() if demo is not None else ""
    if isinstance(demo, bool):
        clean["is_demo"] = int(demo)
    elif demo_text in _TRUE or demo_text in _FALSE:
        clean["is_demo"] = int(demo_text in _TRUE)
    else:
        errors.append(f"is_demo {demo_text[:20]!r} must be 1/0, true/false or yes/no")
    return (None if errors else clean), errors, warnings


# Reading files -------------------------------------------------------------------------------------------------

def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ServiceImportError(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as UTF-8 (in Excel: 'CSV UTF-8') and import it again") from None
    if not text.strip():
        raise ServiceImportError("the file is empty")
    return text


def read_csv(text: str) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(physical line the row starts on, values by column) per row; a string instead of values for a row of the
    wrong width. Raises ServiceImportError for a bad header or a field too large for the CSV reader."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ServiceImportError(f"line 1: the header cannot be read ({exc})") from None
    columns = [c.strip().lower() for c in header]
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    problems = []
    if duplicates:
        problems.append(f"repeated columns: {', '.join(duplicates)}")
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if not any(c in columns for c in NAME_COLUMNS):
        problems.append("needs a name_en or name_zh column")
    if unknown:
        shown = ", ".join(repr(c[:40]) for c in unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10
                                                                  else "")
        problems.append(f"unknown columns: {shown}")
    if problems:
        raise ServiceImportError(f"line 1: wrong columns ({'; '.join(problems)}). Accepted columns: "
                                 f"{', '.join(CSV_COLUMNS)}; see content/services/README.md")
    previous_end = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = previous_end + 1
            if "field larger than field limit" in str(exc):
                raise ServiceImportError(f"line {line}: a field is far too large ({exc}); fields may be at most "
                                         f"{TEXT_LIMIT} characters") from None
            raise ServiceImportError(f"line {line}: the CSV cannot be read ({exc})") from None
        start, previous_end = previous_end + 1, reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines are allowed
        if len(row) != len(columns):
            yield start, f"has {len(row)} fields but the header has {len(columns)}"
            continue
        yield start, dict(zip(columns, row))


def _centroid(geometry: Any) -> tuple[float, float] | str:
    """(lat, lon) of a Point, or the mean of a (Multi)Polygon's outer ring (OSM exports buildings as areas)."""
    if not isinstance(geometry, dict):
        return "has no geometry"
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    try:
        if kind == "Point":
            points = [coords]
        elif kind == "Polygon":
            points = coords[0][:-1] or coords[0]
        elif kind == "MultiPolygon":
            points = coords[0][0][:-1] or coords[0][0]
        else:
            return f"geometry {str(kind)[:20]!r} is not a Point or Polygon"
        pairs = [(float(p[1]), float(p[0])) for p in points]
    except (TypeError, ValueError, IndexError, KeyError):
        return "geometry coordinates cannot be read"
    if not pairs:
        return "geometry has no coordinates"
    return sum(p[0] for p in pairs) / len(pairs), sum(p[1] for p in pairs) / len(pairs)


def _osm_ref(feature: dict[str, Any], props: dict[str, Any]) -> str | None:
    for candidate in (feature.get("id"), props.get("@id"), props.get("id")):
        if isinstance(candidate, str) and _OSM_REF.match(candidate.strip()):
            return candidate.strip()
    if props.get("osm_type") in ("node", "way", "relation") and str(props.get("osm_id", "")).isdigit():
        return f"{props['osm_type']}/{props['osm_id']}"
    return None


_OSM_TYPES = {"public": "public_inclusive", "government": "public_inclusive", "municipal": "public_inclusive",
              "state": "public_inclusive", "community": "community_centre"}


def _years_to_months(value: Any, tag: str, errors: list[str]) -> Any:
    if value is None:
        return None
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(?:years?|y)?\s*$", str(value))
    if not match:
        errors.append(f"{tag} {str(value)[:20]!r} is not a number of years")
        return None
    return round(float(match[1]) * 12)


def osm_record(feature: dict[str, Any], today: date) -> tuple[dict[str, Any] | None, list[str]]:
    """An OpenStreetMap childcare or kindergarten feature as a Sprout row (before validation)."""
    props = feature.get("properties") or {}
    tags = props.get("tags") if isinstance(props.get("tags"), dict) else props  # some exporters nest the tags
    tag = lambda key: _text(tags.get(key))  # noqa: E731
    ref = _osm_ref(feature, props)
    if ref is None:
        return None, ["has no OpenStreetMap id (node/…, way/… or relation/…)"]
    amenity = tag("amenity")
    if amenity not in ("childcare", "kindergarten"):
        return None, [f"amenity={amenity or '(none)'} is not childcare or kindergarten"]
    errors: list[str] = []
    name = tag("name")
    name_zh = tag("name:zh") or tag("name:zh-Hans") or tag("name:zh-CN") or (name if name and _CJK.search(name)
                                                                             else None)
    name_en = tag("name:en") or (name if name and not _CJK.search(name) else None)
    operator = (tag("operator:type") or "").lower()
    kind = "kindergarten_class" if amenity == "kindergarten" else _OSM_TYPES.get(operator, "private")
    street, house = tag("addr:street"), tag("addr:housenumber")
    district, city = tag("addr:district") or tag("addr:suburb"), tag("addr:city")
    address_en = address_zh = None
    full = tag("addr:full")
    if full or street:
        if _CJK.search(full or street or ""):
            number = f"{house}号" if house and house.isdigit() else (house or "")
            address_zh = full or f"{city or ''}{district or ''}{street}{number}"
        else:
            parts = [f"{house} {street}".strip() if street else None, district, city]
            address_en = full or ", ".join(p for p in parts if p)
    centre = _centroid(feature.get("geometry"))
    if isinstance(centre, str):
        return None, [centre]
    timestamp = _text(props.get("@timestamp")) or _text(props.get("timestamp"))
    record = {
        "id": f"osm:{ref}", "name_en": name_en, "name_zh": name_zh, "type": kind,
        "address_en": address_en, "address_zh": address_zh, "district": district, "city": city,
        "lat": centre[0], "lon": centre[1],
        "age_min_months": _years_to_months(tags.get("min_age"), "min_age", errors),
        "age_max_months": _years_to_months(tags.get("max_age"), "max_age", errors),
        "opening_hours": tag("opening_hours"), "phone": tag("phone") or tag("contact:phone"),
        "capacity": tag("capacity"), "registration": "unknown", "source": OSM_SOURCE,
        "updated": timestamp[:10] if timestamp else today.isoformat(), "is_demo": "0",
    }
    return (None if errors else record), errors


def read_geojson(text: str, today: date) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(feature number, row values) per feature; a string instead of values for a feature that cannot be used.
    OpenStreetMap features (an amenity tag or an OSM id) are mapped; others must use the CSV column names."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ServiceImportError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise ServiceImportError("not usable JSON: nested far too deeply") from None
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = {"type": "FeatureCollection", "features": [data]}
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"),
                                                                                                list):
        raise ServiceImportError("not a GeoJSON FeatureCollection (needs \"type\": \"FeatureCollection\" and a "
                                 "\"features\" list)")
    if not data["features"]:
        raise ServiceImportError("the file is empty (the FeatureCollection has no features)")
    for number, feature in enumerate(data["features"], 1):
        if not isinstance(feature, dict) or not isinstance(feature.get("properties") or {}, dict):
            yield number, "is not a GeoJSON Feature with properties"
            continue
        props = feature.get("properties") or {}
        tags = props.get("tags") if isinstance(props.get("tags"), dict) else props
        nested = [k for k, v in tags.items() if isinstance(v, (dict, list)) and k != "tags"]
        if nested:
            yield number, f"property {str(nested[0])[:40]!r} is not text or a number"
            continue
        if "amenity" in tags or _osm_ref(feature, props):
            record, errors = osm_record(feature, today)
            yield number, record if record is not None else "; ".join(errors)
            continue
        centre = _centroid(feature.get("geometry"))
        if isinstance(centre, str):
            yield number, centre
            continue
        unknown = [k for k in props if k not in CSV_COLUMNS]
        if unknown:
            yield number, f"unknown properties: {', '.join(repr(k[:40]) for k in unknown[:5])}"
            continue
        yield number, {**props, "lat": centre[0], "lon": centre[1]}


# Writing -------------------------------------------------------------------------------------------------------

_UPSERT = (f"insert into services ({', '.join(COLUMNS)}) values ({', '.join('?' * len(COLUMNS))}) "
           f"on conflict(id) do update set {', '.join(f'{c} = excluded.{c}' for c in COLUMNS if c != 'id')}")


def _detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return "geojson"
    if suffix == ".csv":
        return "csv"
    return "geojson" if text.lstrip().startswith("{") else "csv"


def _read_bytes(path: Path, limit: int) -> bytes:
    """At most `limit` bytes: counted as they are read, never taken from stat(), which says 0 for /dev/zero, a
    pipe or a growing file."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise ServiceImportError(f"the file is larger than the {limit / 2**20:g} MB limit (reading stopped there); "
                                     "split it into smaller files")
        return data
    except FileNotFoundError:
        raise ServiceImportError("file not found") from None
    except IsADirectoryError:
        raise ServiceImportError("that is a folder, not a file") from None
    except PermissionError:
        raise ServiceImportError("the file cannot be read (permission denied)") from None


def import_services(db: sqlite_utils.Database, path: Path | str, strict: bool = False, today: date | None = None,
                    dataset: str | None = None, bundled: bool = False, max_bytes: int | None = None,
                    dry_run: bool = False) -> ImportReport:
    """Validate every row of a CSV or GeoJSON file, then write the valid ones in one transaction, updating rows
    with the same id in place. With strict=True any rejected row rejects the whole file. Raises
    ServiceImportError when the file as a whole cannot be read. Bundled imports also remove rows of the same data
    set that are no longer in the file. With dry_run=True nothing is written: the report says what would be."""
    path = Path(path)
    today = today or date.today()
    data = _read_bytes(path, MAX_FILE_BYTES if max_bytes is None else max_bytes)
    text = _decode(data)
    kind = _detect_format(path, text)
    rows = read_csv(text) if kind == "csv" else read_geojson(text, today)
    report = ImportReport(source=path.name, format=kind, strict=strict)
    accepted: list[tuple] = []
    seen: dict[str, str] = {}
    hours_seen: dict[str, str | None] = {}
    for position, values in rows:
        report.rows += 1
        where = f"line {position}" if kind == "csv" else f"feature {position}"
        located = {"line": position} if kind == "csv" else {"feature": position}
        row_id = values.get("id") if isinstance(values, dict) else None
        row_id = str(row_id).strip()[:100] if row_id is not None else None
        if isinstance(values, str):
            report.rejected.append(Problem(where, values, row_id, **located))
            continue
        clean, errors, warnings = validate_record(values, today, hours_seen)
        if clean is not None and clean["id"] in seen:
            errors = [f"duplicate id {clean['id']!r} (first seen on {seen[clean['id']]})"]
            clean = None
        if clean is None:
            report.rejected.append(Problem(where, "; ".join(errors), row_id, **located))
            continue
        report.warnings += [Problem(where, w, clean["id"], **located) for w in warnings]
        seen[clean["id"]] = where
        clean["dataset"] = dataset or path.name
        clean["source"] = clean["source"] or path.name  # where a row came from is never blank
        accepted.append(tuple(clean[c] for c in COLUMNS))
    if report.rows == 0:
        raise ServiceImportError("the file has a header but no rows")
    if strict and report.rejected:
        return report  # nothing written: strict means all or nothing
    if dry_run:
        ids = {row[0] for row in accepted}
        live = {r[0] for r in db.execute("select id from services")} if ids else set()
        report.updated = len(ids & live)
        report.inserted = len(ids) - report.updated
        return report
    _write(db, report, accepted, dataset or path.name, hashlib.sha256(data).hexdigest(), bundled)
    return report


# An import builds the new directory beside the live one, a chunk per short transaction, and swaps it in with a
# few renames: the bot's readers never wait for it, and its writers wait at most one chunk (a 720,000-row import
# used to hold the write lock for 28 s, against a 30 s busy timeout).
CHUNK_ROWS = 5000
IMPORT_LEASE = "services-import"
LEASE_SECONDS = 600  # renewed at every chunk; a dead importer on this host is taken over at once
_STAGED = {"services": "services_next", "services_rtree": "services_next_rtree", "service_places": "service_places_next"}
_RETIRED = ("services_old", "services_old_rtree", "service_places_old")


def _staging_schema() -> list[str]:
    """The services table, its R*Tree and the place names, created under their staging names."""
    from .services import SCHEMA

    staged = []
    for sql in SCHEMA:
        for live, stage in _STAGED.items():
            for head in (f"create table {live} (", f"create virtual table {live} using"):
                if sql.startswith(head):
                    staged.append(sql.replace(live, stage, 1))
    return staged


def _triggers() -> list[str]:
    from .services import SCHEMA

    return [sql for sql in SCHEMA if sql.startswith("create trigger")]


def _drop_leftovers(db: sqlite_utils.Database) -> None:
    """Staging tables of this or an earlier, interrupted import, and live tables already swapped out."""
    with db.conn:
        db.execute("begin immediate")
        for table in (*_STAGED.values(), *_RETIRED):
            db.execute(f"drop table if exists {table}")


def _take_lease(db: sqlite_utils.Database, holder: str) -> None:
    """Imports take turns: they share the staging tables."""
    from .deliveries import holder_alive

    with db.conn:
        db.execute("begin immediate")
        row = db.execute("select holder, expires_at from leases where name = ?", [IMPORT_LEASE]).fetchone()
        if row and row[0] != holder and row[1] > utcnow_iso() and holder_alive(row[0]):
            raise ServiceImportError("another services import is running; try again when it has finished")
        db.execute("insert into leases (name, holder, expires_at) values (?, ?, ?) on conflict(name) do update set "
                   "holder = excluded.holder, expires_at = excluded.expires_at", [IMPORT_LEASE, holder, _lease_until()])


def _release_lease(db: sqlite_utils.Database, holder: str) -> None:
    with db.conn:
        db.execute("delete from leases where name = ? and holder = ?", [IMPORT_LEASE, holder])


def _renew(db: sqlite_utils.Database, holder: str) -> None:
    db.execute("update leases set expires_at = ? where name = ? and holder = ?", [_lease_until(), IMPORT_LEASE, holder])


def _lease_until() -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=LEASE_SECONDS)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _copy_by_key(db: sqlite_utils.Database, holder: str, source: str, insert: str, where: str = "",
                 params: dict[str, Any] | None = None) -> None:
    """`insert` (ending in a select from `source` with `{range}` where the key range goes) over CHUNK_ROWS keys of
    `source` at a time, each chunk its own short transaction."""
    last = -1
    while True:
        with db.conn:
            db.execute("begin immediate")
            values = {**(params or {}), "last": last, "n": CHUNK_ROWS}
            upper = db.execute(f"select max(key) from (select key from {source} where key > :last {where} "
                               "order by key limit :n)", values).fetchone()[0]
            if upper is None:
                return
            db.execute(insert.format(range=f"key > :last and key <= :upper {where}"), {**values, "upper": upper})
            _renew(db, holder)
        last = upper


def _write(db: sqlite_utils.Database, report: ImportReport, rows: list[tuple], dataset: str, content_hash: str,
           bundled: bool) -> None:
    """Stage the directory as it will be (the live rows kept, the file's rows upserted, a bundled file's stale rows
    left out, the R*Tree and the place names built) in chunks, then swap it in with one short transaction. A
    failure anywhere leaves the live directory as it was, and the staging tables are dropped."""
    from .deliveries import worker_id

    holder = worker_id()
    _take_lease(db, holder)
    try:
        _drop_leftovers(db)
        ids = {row[0] for row in rows}
        live = db.execute("select id, dataset from services").fetchall()
        report.updated = sum(1 for service_id, _ in live if service_id in ids)
        report.inserted = len(ids) - report.updated
        report.removed = sum(1 for service_id, name in live if bundled and name == dataset and service_id not in ids)
        # The dataset index grows with the chunks (built in one go it would hold the lock for seconds); index names
        # survive a rename, so the live and the staged index alternate between two names.
        index = "services_dataset_b" if db.execute("select 1 from sqlite_master where type = 'index' and "
                                                   "name = 'services_dataset'").fetchone() else "services_dataset"
        with db.conn:
            db.execute("begin immediate")
            for sql in _staging_schema():
                db.execute(sql)
            db.execute(f"create index {index} on services_next(dataset)")
        # The live rows with their keys, then the file's rows over them (same id: updated in place, same key).
        _copy_by_key(db, holder, "services", "insert into services_next select * from services where {range}",
                     where="and dataset != :dataset" if bundled else "", params={"dataset": dataset})
        upsert = _UPSERT.replace("insert into services ", "insert into services_next ", 1)
        for start in range(0, len(rows), CHUNK_ROWS):
            with db.conn:
                db.execute("begin immediate")
                db.conn.executemany(upsert, rows[start:start + CHUNK_ROWS])
                _renew(db, holder)
        _copy_by_key(db, holder, "services_next", "insert into services_next_rtree (key, min_lat, max_lat, min_lon, "
                     "max_lon) select key, lat, lat, lon, lon from services_next where {range}")
        places = place_rows(db, "services_next")
        with db.conn:
            db.execute("begin immediate")
            db.conn.executemany("insert into service_places_next (norm, name, kind, lat, lon, services) "
                                "values (?, ?, ?, ?, ?, ?)", places)
        _swap(db, dataset, content_hash, bundled, len(rows))
        report.committed = True
    finally:
        try:
            _drop_leftovers(db)  # after a swap: the old tables; after a failure: the staging ones
        finally:
            _release_lease(db, holder)


def _swap(db: sqlite_utils.Database, dataset: str, content_hash: str, bundled: bool, rows: int) -> None:
    """The staged tables become the live ones: renames and the R*Tree triggers, one short transaction (no row is
    copied, no index built). The old tables are dropped afterwards, in a transaction of their own."""
    with db.conn:
        db.execute("begin immediate")
        for sql in _triggers():
            db.execute(f"drop trigger if exists {sql.split()[2]}")
        for (live, stage), old in zip(_STAGED.items(), _RETIRED):
            db.execute(f"alter table {live} rename to {old}")
            db.execute(f"alter table {stage} rename to {live}")
        for sql in _triggers():
            db.execute(sql)
        db.execute("insert into service_datasets (name, content_hash, bundled, rows, loaded_at) values (?, ?, ?, ?, ?) "
                   "on conflict(name) do update set content_hash = excluded.content_hash, bundled = excluded.bundled, "
                   "rows = excluded.rows, loaded_at = excluded.loaded_at",
                   [dataset, content_hash, int(bundled), rows, utcnow_iso()])


def bundled_files(content_dir: Path) -> list[Path]:
    return sorted((Path(content_dir) / "services").glob("*.csv"))


def ensure_bundled_services(db: sqlite_utils.Database, content_dir: Path | str,
                            today: date | None = None) -> ImportReport | None:
    """Load content/services/*.csv when a file's content hash differs from the last load (and drop the rows of
    bundled files that are gone). Returns one report for everything loaded now, or None when nothing changed.
    A broken bundled file is logged and skipped so the bot still starts."""
    files = bundled_files(Path(content_dir))
    loaded = {row[0]: row[1] for row in db.execute("select name, content_hash from service_datasets where bundled = 1")}
    changed = [p for p in files if loaded.get(p.name) != hashlib.sha256(p.read_bytes()).hexdigest()]
    gone = [name for name in loaded if name not in {p.name for p in files}]
    if not changed and not gone:
        return None
    total = ImportReport(source=", ".join(p.name for p in changed) or "(removed files)", format="csv", strict=False,
                         committed=True)
    for path in changed:
        try:
            report = import_services(db, path, today=today, dataset=path.name, bundled=True)
        except ServiceImportError as exc:
            log.error("bundled services file %s not loaded: %s", path.name, exc)
            total.errors.append(f"{path.name}: {exc}")
            continue
        total.rows += report.rows
        total.inserted += report.inserted
        total.updated += report.updated
        total.removed += report.removed
        total.rejected += [replace(p, where=f"{path.name} {p.where}") for p in report.rejected]
        total.warnings += [replace(p, where=f"{path.name} {p.where}") for p in report.warnings]
        if report.rejected:
            log.warning("bundled services file %s: %d row(s) rejected", path.name, len(report.rejected))
    if gone:
        from .deliveries import worker_id

        holder = worker_id()
        try:
            _take_lease(db, holder)  # not under a running import's feet: it would bring the rows back
        except ServiceImportError as exc:
            log.warning("removed bundled services files not unloaded yet: %s", exc)
            total.errors.append(str(exc))
            return total
        try:
            with db.conn:
                db.execute("begin immediate")
                for name in gone:
                    total.removed += db.execute("delete from services where dataset = ?", [name]).rowcount
                    db.execute("delete from service_datasets where name = ?", [name])
                refresh_places(db)
        finally:
            _release_lease(db, holder)
    return total


def edit_service(db: sqlite_utils.Database, service_id: str, changes: dict[str, Any], actor: str,
                 today: date | None = None) -> tuple[dict[str, Any] | None, list[str]]:
    """Change some fields of one service record, checked by the importer's own row validation; returns (the clean
    record, []) when written, or (None, errors). One transaction, audited with the before and after values."""
    from .curation import audit

    today = today or date.today()
    rows = list(db.query("select * from services where id = ?", [service_id]))
    if not rows:
        return None, [f"no service with id {service_id!r}"]
    before = {c: rows[0][c] for c in COLUMNS}
    raw = {c: ("" if v is None else v) for c, v in before.items()}
    raw.update({k: v for k, v in changes.items() if k in CSV_COLUMNS and k != "id"})
    if "is_demo" in raw:
        raw["is_demo"] = "1" if str(raw["is_demo"]).strip().lower() in _TRUE else "0"
    clean, errors, _ = validate_record(raw, today)
    if clean is None:
        return None, errors
    clean["dataset"] = before["dataset"]
    clean["source"] = clean["source"] or before["source"]
    now = datetime.now(timezone.utc)
    with db.conn:
        db.execute("begin immediate")
        db.execute(f"update services set {', '.join(f'{c} = ?' for c in COLUMNS if c != 'id')} where id = ?",
                   [clean[c] for c in COLUMNS if c != "id"] + [service_id])
        audit(db, now, actor, "service_edit", f"service:{service_id}", before, {c: clean[c] for c in COLUMNS})
    return clean, []
