"""The infant-care service directory: the service model, its SQLite schema (table + R*Tree), and nearby search."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo

import sqlite_utils

from .opening_hours import OpeningHours, OpeningHoursError, parse_opening_hours

SERVICE_TYPES = ("public_inclusive", "private", "employer", "kindergarten_class", "community_centre", "home_based")
# "Public / inclusive only": run or subsidised as public provision (普惠/公办 centres and community care points).
PUBLIC_TYPES = ("public_inclusive", "community_centre")
REGISTRATION = ("registered", "pending", "unregistered", "unknown")
# Every service in the data set is in mainland China, which keeps one time zone; opening hours are local time.
SERVICE_TIMEZONE = "Asia/Shanghai"
EARTH_RADIUS_KM = 6371.0  # mean radius; the tests check distances against this value
KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180
PAGE_SIZE = 5

# Column order shared by the schema, the importer and row decoding.
COLUMNS = (
    "id", "dataset", "name_en", "name_zh", "type", "address_en", "address_zh", "district", "city", "lat", "lon",
    "age_min_months", "age_max_months", "opening_hours", "fee_min_cny", "fee_max_cny", "capacity", "vacancies",
    "registration", "registration_number", "phone", "last_inspection", "source", "updated", "is_demo",
)

SCHEMA = [
    f"""create table services (
        key integer primary key,               -- integer key shared with the R*Tree
        id text not null unique,               -- stable id from the source, e.g. 'osm:node/123'
        dataset text not null,                 -- the file it was imported from (its name)
        name_en text,
        name_zh text,
        type text not null check (type in ({", ".join(repr(t) for t in SERVICE_TYPES)})),
        address_en text,
        address_zh text,
        district text,
        city text,
        lat real not null check (lat between -90 and 90),
        lon real not null check (lon between -180 and 180),
        age_min_months integer,
        age_max_months integer,
        opening_hours text,
        fee_min_cny integer,
        fee_max_cny integer,
        capacity integer,
        vacancies integer,
        registration text not null check (registration in ({", ".join(repr(r) for r in REGISTRATION)})),
        registration_number text,
        phone text,
        last_inspection text,                  -- ISO date
        source text not null,
        updated text not null,                 -- ISO date the source last changed the row
        is_demo integer not null default 0 check (is_demo in (0, 1)),
        check (name_en is not null or name_zh is not null)
    )""",
    "create index services_dataset on services(dataset)",
    # Points stored as zero-size boxes; the R*Tree narrows a search to a bounding box before exact distances.
    "create virtual table services_rtree using rtree(key, min_lat, max_lat, min_lon, max_lon)",
    """create trigger services_rtree_insert after insert on services begin
        insert into services_rtree (key, min_lat, max_lat, min_lon, max_lon)
        values (new.key, new.lat, new.lat, new.lon, new.lon);
    end""",
    # Re-imports rewrite every column; only a moved point needs the (costly) R*Tree update.
    """create trigger services_rtree_update after update of lat, lon on services
        when old.lat is not new.lat or old.lon is not new.lon begin
        update services_rtree set min_lat = new.lat, max_lat = new.lat, min_lon = new.lon, max_lon = new.lon
        where key = new.key;
    end""",
    """create trigger services_rtree_delete after delete on services begin
        delete from services_rtree where key = old.key;
    end""",
    # District and street names found in the data, so a typed name resolves even when the gazetteer lacks it.
    """create table service_places (
        norm text primary key,                 -- normalised name (see knowledge.gazetteer.normalise)
        name text not null,
        kind text not null check (kind in ('district', 'street')),
        lat real not null,
        lon real not null,
        services integer not null
    )""",
    # Bundled files already loaded, by content hash, so start-up re-imports only what changed.
    """create table service_datasets (
        name text primary key,
        content_hash text not null,
        bundled integer not null default 0,
        rows integer not null,
        loaded_at text not null
    )""",
]


def create_schema(db: sqlite_utils.Database) -> None:
    """Create the service tables; called by migration 3 inside its transaction."""
    for sql in SCHEMA:
        db.execute(sql)


@dataclass(frozen=True)
class Service:
    id: str
    dataset: str
    name_en: str | None
    name_zh: str | None
    type: str
    address_en: str | None
    address_zh: str | None
    district: str | None
    city: str | None
    lat: float
    lon: float
    age_min_months: int | None
    age_max_months: int | None
    opening_hours: str | None
    fee_min_cny: int | None
    fee_max_cny: int | None
    capacity: int | None
    vacancies: int | None
    registration: str
    registration_number: str | None
    phone: str | None
    last_inspection: date | None
    source: str
    updated: date
    is_demo: bool

    def name(self, lang: str) -> str:
        preferred, other = (self.name_zh, self.name_en) if lang == "zh" else (self.name_en, self.name_zh)
        return preferred or other or self.id

    def address(self, lang: str) -> str | None:
        preferred, other = (self.address_zh, self.address_en) if lang == "zh" else (self.address_en, self.address_zh)
        return preferred or other

    @property
    def is_public(self) -> bool:
        return self.type in PUBLIC_TYPES

    @property
    def map_url(self) -> str:
        lat, lon = f"{self.lat:.6f}", f"{self.lon:.6f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"

    def hours(self) -> OpeningHours | None:
        """Parsed opening hours, or None when unknown or not in the supported syntax."""
        if not self.opening_hours:
            return None
        try:
            return parse_opening_hours(self.opening_hours)
        except OpeningHoursError:
            return None

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in COLUMNS}
        data["last_inspection"] = self.last_inspection.isoformat() if self.last_inspection else None
        data["updated"] = self.updated.isoformat()
        return data


def service_from_row(row: Mapping[str, Any]) -> Service:
    values = {name: row[name] for name in COLUMNS}
    values["last_inspection"] = date.fromisoformat(row["last_inspection"]) if row["last_inspection"] else None
    values["updated"] = date.fromisoformat(row["updated"])
    values["is_demo"] = bool(row["is_demo"])
    return Service(**values)


def get_service(db: sqlite_utils.Database, service_id: str) -> Service | None:
    rows = list(db.query("select * from services where id = ?", [service_id]))
    return service_from_row(rows[0]) if rows else None


def count_services(db: sqlite_utils.Database) -> int:
    return db.execute("select count(*) from services").fetchone()[0]


# Distances -------------------------------------------------------------------------------------------------

def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere of the Earth's mean radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_boxes(lat: float, lon: float, radius_km: float) -> list[tuple[float, float, float, float]]:
    """(min_lat, max_lat, min_lon, max_lon) boxes that together contain every point within radius_km.
    Split in two where the circle crosses the antimeridian; the whole longitude range near a pole."""
    dlat = radius_km / KM_PER_DEGREE
    min_lat, max_lat = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    if min_lat <= -90.0 or max_lat >= 90.0:
        return [(min_lat, max_lat, -180.0, 180.0)]
    # The widest longitude span of the circle is at the latitude farthest from the equator.
    widest = max(abs(min_lat), abs(max_lat))
    dlon = dlat / max(math.cos(math.radians(widest)), 1e-9)
    if dlon >= 180:
        return [(min_lat, max_lat, -180.0, 180.0)]
    west, east = lon - dlon, lon + dlon
    if west < -180:
        return [(min_lat, max_lat, west + 360, 180.0), (min_lat, max_lat, -180.0, east)]
    if east > 180:
        return [(min_lat, max_lat, west, 180.0), (min_lat, max_lat, -180.0, east - 360)]
    return [(min_lat, max_lat, west, east)]


# Search ------------------------------------------------------------------------------------------------------

# The haversine formula in SQL, so SQLite ranks candidates without handing every row to Python. It computes the
# same doubles as haversine_km (same formula, same C library), which the tests check.
DISTANCE_SQL = (f"2 * {EARTH_RADIUS_KM!r} * asin(min(1.0, sqrt(power(sin((radians(s.lat) - :lat_r) / 2), 2) + "
                ":cos_lat * cos(radians(s.lat)) * power(sin((radians(s.lon) - :lon_r) / 2), 2))))")
_MATH = {"asin": (1, math.asin), "sqrt": (1, math.sqrt), "sin": (1, math.sin), "cos": (1, math.cos),
         "radians": (1, math.radians), "power": (2, math.pow)}


def ensure_math_functions(db: sqlite_utils.Database) -> None:
    """SQLite builds without SQLITE_ENABLE_MATH_FUNCTIONS lack sin, cos...: supply Python ones (slower, same
    answers)."""
    try:
        db.execute("select asin(0.5), sqrt(2.0), sin(1.0), cos(1.0), radians(1.0), power(2.0, 2)").fetchone()
    except sqlite3.OperationalError:
        for name, (arity, function) in _MATH.items():
            db.conn.create_function(name, arity, function, deterministic=True)


def distance_params(lat: float, lon: float) -> dict[str, float]:
    return {"lat_r": math.radians(lat), "lon_r": math.radians(lon), "cos_lat": math.cos(math.radians(lat))}


@dataclass(frozen=True)
class SearchFilters:
    """What a family needs. Unknown values never match a filter that asks about them."""

    age_months: float | None = None        # the child fits the service's accepted ages
    types: tuple[str, ...] = ()             # any of these types
    public_only: bool = False               # types in PUBLIC_TYPES
    registered_only: bool = False           # registration == 'registered'
    open_at: datetime | None = None         # naive = service local time; aware = converted to it
    max_fee: int | None = None              # the cheapest monthly fee is at most this (CNY)
    vacancies: bool = False                 # at least one vacancy

    def where(self) -> tuple[list[str], dict[str, Any]]:
        """SQL conditions on the services table (alias s) and their named parameters; opening hours are checked
        afterwards in Python."""
        clauses: list[str] = []
        params: dict[str, Any] = {}
        if self.age_months is not None:
            # Ages are whole months inclusive: a child of 36.5 months is "36 months" for a 0-36 service.
            clauses.append("s.age_min_months <= :age and s.age_max_months >= :age")
            params["age"] = math.floor(self.age_months)
        if self.types or self.public_only:
            chosen = set(self.types) if self.types else set(SERVICE_TYPES)
            if self.public_only:
                chosen &= set(PUBLIC_TYPES)
            names = [f"type{i}" for i in range(len(chosen))]
            clauses.append(f"s.type in ({', '.join(':' + n for n in names)})" if chosen else "0")
            params.update(zip(names, sorted(chosen)))
        if self.registered_only:
            clauses.append("s.registration = 'registered'")
        if self.max_fee is not None:
            clauses.append("s.fee_min_cny <= :max_fee")
            params["max_fee"] = self.max_fee
        if self.vacancies:
            clauses.append("s.vacancies > 0")
        return clauses, params

    def local_open_at(self) -> datetime | None:
        if self.open_at is None:
            return None
        if self.open_at.tzinfo is None:
            return self.open_at
        return self.open_at.astimezone(ZoneInfo(SERVICE_TIMEZONE)).replace(tzinfo=None)


@dataclass(frozen=True)
class NearbyService:
    service: Service
    distance_km: float


@dataclass(frozen=True)
class SearchPage:
    results: list[NearbyService]
    page: int
    page_size: int
    total: int | None          # every match within the radius; None when the caller did not ask for the count
    radius_km: float
    has_more: bool
    filters: SearchFilters = field(default_factory=SearchFilters)

    @property
    def first(self) -> int:
        return (self.page - 1) * self.page_size + 1 if self.results else 0

    @property
    def last(self) -> int:
        return self.first + len(self.results) - 1 if self.results else 0


def _is_open(rows: list[tuple], when: datetime) -> list[tuple]:
    parsed: dict[str, OpeningHours | None] = {}
    kept = []
    for row in rows:
        text = row[-1]
        if not text:
            continue
        if text not in parsed:  # many services share the same hours string
            try:
                parsed[text] = parse_opening_hours(text)
            except OpeningHoursError:
                parsed[text] = None
        hours = parsed[text]
        if hours is not None and hours.is_open(when):
            kept.append(row)
    return kept


def _candidates_sql(lat: float, lon: float, radius_km: float, clauses: list[str], params: dict[str, Any]) -> str:
    """Rows in the bounding box(es) of the circle that pass the SQL filters, with their exact distance."""
    boxes = []
    for number, box in enumerate(bounding_boxes(lat, lon, radius_km)):
        names = [f"b{number}_{i}" for i in range(4)]
        params.update(zip(names, box))
        boxes.append(f"select r.key from services_rtree r where r.max_lat >= :{names[0]} and r.min_lat <= :{names[1]} "
                     f"and r.max_lon >= :{names[2]} and r.min_lon <= :{names[3]}")
    return (f"select s.key, s.id, s.opening_hours, {DISTANCE_SQL} as distance from ({' union all '.join(boxes)}) b "
            f"join services s on s.key = b.key" + "".join(f" and {c}" for c in clauses))


def search_services(db: sqlite_utils.Database, lat: float, lon: float, filters: SearchFilters | None = None,
                    radius_km: float = 5.0, page: int = 1, page_size: int = PAGE_SIZE,
                    count_total: bool = True) -> SearchPage:
    """Services within radius_km of (lat, lon) that pass the filters, nearest first, one page at a time.
    The R*Tree narrows to a bounding box; exact great-circle distances rank (ties broken by id).
    Without count_total, dense areas are searched in growing circles and stop once the page is full: the
    nearest N within a small circle are the nearest N overall."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("coordinates out of range")
    if radius_km <= 0 or page < 1 or page_size < 1:
        raise ValueError("radius, page and page size must be positive")
    filters = filters or SearchFilters()
    ensure_math_functions(db)
    clauses, params = filters.where()
    params.update(distance_params(lat, lon))
    offset = (page - 1) * page_size
    when = filters.local_open_at()
    total: int | None = None
    if when is not None:
        # Opening hours are checked in Python, so every match within the radius is ranked here.
        params["radius"] = radius_km
        inner = _candidates_sql(lat, lon, radius_km, clauses, params)
        rows = db.execute(f"select key, distance, opening_hours from ({inner}) where distance <= :radius "
                          "order by distance, id", params).fetchall()
        rows = _is_open(rows, when)
        total = len(rows)
        chosen = [(row[0], row[1]) for row in rows[offset:offset + page_size]]
        more = offset + page_size < total
    elif count_total:
        params.update(radius=radius_km, limit=page_size, offset=offset)
        inner = _candidates_sql(lat, lon, radius_km, clauses, params)
        rows = db.execute(f"select key, distance, count(*) over () from ({inner}) where distance <= :radius "
                          "order by distance, id limit :limit offset :offset", params).fetchall()
        total = rows[0][2] if rows else db.execute(
            f"select count(*) from ({inner}) where distance <= :radius", params).fetchone()[0]
        chosen = [(row[0], row[1]) for row in rows]
        more = offset + page_size < total
    else:
        wanted = offset + page_size + 1  # one extra row tells whether there is a next page
        for radius in (radius_km / 16, radius_km / 4, radius_km):
            step = {**params, "radius": radius, "limit": wanted}
            inner = _candidates_sql(lat, lon, radius, clauses, step)
            rows = db.execute(f"select key, distance from ({inner}) where distance <= :radius "
                              "order by distance, id limit :limit", step).fetchall()
            if len(rows) >= wanted:
                break
        chosen = rows[offset:offset + page_size]
        more = len(rows) >= wanted
    by_key = {}
    if chosen:
        marks = ", ".join("?" * len(chosen))
        by_key = {row["key"]: service_from_row(row)
                  for row in db.query(f"select * from services where key in ({marks})", [k for k, _ in chosen])}
    results = [NearbyService(by_key[key], distance) for key, distance in chosen]
    return SearchPage(results, page, page_size, total, radius_km, more, filters)


# The service types that look after babies and toddlers for a working day (not kindergarten nursery classes, which
# start at about 2 years), by the care a parent chose in /return_to_work.
DAY_CARE_TYPES = {"nursery": ("public_inclusive", "private", "community_centre", "home_based"),
                  "employer": ("employer",),
                  "undecided": ("public_inclusive", "private", "community_centre", "home_based", "employer")}


def youngest_care_age(db, care: str) -> int | None:
    """The youngest age in months any service of the chosen kind takes, from the service data; None when the data
    has no such service (then nothing is claimed)."""
    types = DAY_CARE_TYPES.get(care)
    if not types or "services" not in db.table_names():
        return None
    marks = ", ".join("?" for _ in types)
    row = db.execute(f"select min(age_min_months) from services where type in ({marks}) "
                     "and age_min_months is not null", list(types)).fetchone()
    return row[0] if row and row[0] is not None else None

def find_services(db: sqlite_utils.Database, text: str, limit: int = 50) -> list[Service]:
    """Records whose id, name, district or city contains `text` (the console's search box), by name."""
    like = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = db.query("select * from services where id like :q escape '\\' or name_en like :q escape '\\' or "
                    "name_zh like :q escape '\\' or district like :q escape '\\' or city like :q escape '\\' "
                    "order by coalesce(name_en, name_zh), id limit :limit", {"q": like, "limit": limit})
    return [service_from_row(r) for r in rows]


def registration_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Records per registration status (registered, pending, unregistered, unknown), every status present."""
    found = dict(db.execute("select registration, count(*) from services group by registration").fetchall())
    return {status: found.get(status, 0) for status in REGISTRATION}
