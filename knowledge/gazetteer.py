"""Offline place names: typed districts, neighbourhoods and streets (English or Chinese) resolved to coordinates,
from content/services/gazetteer.yaml and from the district and street names found in the imported services."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
import yaml

from .content import safe_load

KINDS = ("city", "district", "neighbourhood", "street")
_KEY = re.compile(r"^[a-z0-9-]{1,24}$")
_DROP = re.compile(r"[\s'’‘`\-.,·・()（）/]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
# Words people wrap around a place name: "near Xujiahui", "徐家汇附近".
_FILLERS = re.compile(r"^(?:near|nearby|around|in|at)\s+|\s+(?:nearby|area)$|附近$|周边$|周围$|一带$", re.I)
_CITY_PREFIX = ("shanghai", "上海市", "上海")
_ZH_ADMIN = re.compile(r"^(?:[\u4e00-\u9fff]{1,6}?(?:省|市|新区|区|县|镇|街道))+")
_ZH_STREET = re.compile(r"^([\u4e00-\u9fff]{1,12}?(?:大道|公路|路|街))")
_EN_STREET = re.compile(r"^\s*(?:No\.\s*)?[\d\-–A-Za-z]*\d[\dA-Za-z\-–]*\s+(.{3,60}?\b(?:Road|Street|Avenue|Lane|"
                        r"Boulevard|Highway|Lu)(?:\s+(?:North|South|East|West|Middle|Central))?)\s*$", re.I)


class GazetteerError(ValueError):
    """The gazetteer file cannot be used; the message says where."""


@dataclass(frozen=True)
class Place:
    key: str | None          # gazetteer key; None for a name found only in the data
    kind: str
    name_en: str
    name_zh: str
    lat: float
    lon: float

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


def normalise(text: str) -> str:
    """Fold case, width and punctuation so "Jing'an Temple", "jingan temple" and "静安寺 " compare equal."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    previous = None
    while previous != text:
        previous = text
        text = _FILLERS.sub("", text).strip()
    folded = _DROP.sub("", text.casefold())
    for prefix in _CITY_PREFIX:
        if folded.startswith(prefix) and len(folded) > len(prefix):
            folded = folded[len(prefix):]
            break
    return folded


def _long_enough(norm: str) -> bool:
    """Short fragments match only exactly: two Chinese characters, or four Latin letters."""
    return len(norm) >= (2 if _CJK.search(norm) else 4)


def street_names(address_en: str | None, address_zh: str | None) -> list[str]:
    """Street names in an address: "123 Tianyaoqiao Road, Xuhui District" and "上海市徐汇区天钥桥路123号"."""
    names = []
    if address_en:
        match = _EN_STREET.match(address_en.split(",")[0])
        if match:
            names.append(match[1].strip())
    if address_zh:
        rest = _ZH_ADMIN.sub("", address_zh.strip())
        match = _ZH_STREET.match(rest)
        if match:
            names.append(match[1])
    return names


class Gazetteer:
    """The city's places from the gazetteer file, looked up by any of their names in either language."""

    def __init__(self, places: list[Place], aliases: dict[str, Place], city: dict[str, str]):
        self.places = places
        self.aliases = aliases
        self.city = city

    @classmethod
    def load(cls, path: Path) -> "Gazetteer":
        try:
            data = safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise GazetteerError(f"{path}: file not found") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise GazetteerError(f"{path}: not valid UTF-8 YAML ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("places"), list):
            raise GazetteerError(f"{path}: needs a 'places' list")
        places: list[Place] = []
        aliases: dict[str, Place] = {}
        for number, item in enumerate(data["places"], 1):
            where = f"{path.name}: place {number}"
            if not isinstance(item, dict):
                raise GazetteerError(f"{where}: must be a mapping")
            key, kind = str(item.get("key", "")), item.get("kind")
            if not _KEY.match(key) or kind not in KINDS or not item.get("en") or not item.get("zh"):
                raise GazetteerError(f"{where}: needs key (a-z 0-9 -, at most 24), kind ({', '.join(KINDS)}), en, zh")
            try:
                lat, lon = float(item["lat"]), float(item["lon"])
            except (KeyError, TypeError, ValueError):
                raise GazetteerError(f"{where} ({key}): lat and lon must be numbers") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise GazetteerError(f"{where} ({key}): coordinates out of range")
            place = Place(key, kind, str(item["en"]), str(item["zh"]), lat, lon)
            if any(p.key == key for p in places):
                raise GazetteerError(f"{where}: duplicate key {key!r}")
            places.append(place)
            for name in [place.name_en, place.name_zh, *(str(a) for a in item.get("aliases") or [])]:
                norm = normalise(name)
                if norm and norm not in aliases:  # the first place to claim a name keeps it
                    aliases[norm] = place
        city = data.get("city") if isinstance(data.get("city"), dict) else {}
        return cls(places, aliases, {"en": str(city.get("en", "")), "zh": str(city.get("zh", ""))})

    def get(self, key: str) -> Place | None:
        return next((p for p in self.places if p.key == key), None)

    def exact(self, norm: str) -> Place | None:
        return self.aliases.get(norm)

    def contained(self, norm: str) -> tuple[int, Place] | None:
        """The place with the longest name inside the query ("静安寺附近的托儿所" finds 静安寺, not 静安)."""
        best: tuple[int, Place] | None = None
        for alias, place in self.aliases.items():
            if _long_enough(alias) and alias in norm and (best is None or len(alias) > best[0]):
                best = (len(alias), place)
        return best

    def resolve(self, text: str, db: sqlite_utils.Database | None = None) -> Place | None:
        """The place a typed name means: gazetteer names first, then district and street names in the data."""
        norm = normalise(text)
        if not norm:
            return None
        found = self.exact(norm) or (_data_exact(db, norm) if db is not None else None)
        if found:
            return found
        in_gazetteer = self.contained(norm)
        in_data = _data_contained(db, norm) if db is not None else None
        if in_gazetteer and (in_data is None or in_gazetteer[0] >= in_data[0]):
            return in_gazetteer[1]
        if in_data:
            return in_data[1]
        return _data_prefix(db, norm) if db is not None and _long_enough(norm) else None


def _place_from_row(row: tuple) -> Place:
    name, kind, lat, lon = row
    return Place(None, kind, name, name, lat, lon)


def _data_exact(db: sqlite_utils.Database, norm: str) -> Place | None:
    row = db.execute("select name, kind, lat, lon from service_places where norm = ?", [norm]).fetchone()
    return _place_from_row(row) if row else None


def _data_contained(db: sqlite_utils.Database, norm: str) -> tuple[int, Place] | None:
    min_length = 2 if _CJK.search(norm) else 4
    row = db.execute("select name, kind, lat, lon, length(norm) from service_places "
                     "where length(norm) >= ? and instr(?, norm) > 0 "
                     "order by length(norm) desc, services desc limit 1", [min_length, norm]).fetchone()
    return (row[4], _place_from_row(row[:4])) if row else None


def _data_prefix(db: sqlite_utils.Database, norm: str) -> Place | None:
    """A street typed without its suffix: "天钥桥" for 天钥桥路, "tianyaoqiao" for Tianyaoqiao Road."""
    row = db.execute("select name, kind, lat, lon from service_places where norm like ? escape '\\' "
                     "order by services desc, length(norm) limit 1",
                     [norm.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"]).fetchone()
    return _place_from_row(row) if row else None


def refresh_places(db: sqlite_utils.Database) -> int:
    """Rebuild the district and street names known from the data (centre = mean of their services' points)."""
    rows = place_rows(db)
    db.execute("delete from service_places")
    db.conn.executemany("insert into service_places (norm, name, kind, lat, lon, services) values (?, ?, ?, ?, ?, ?)",
                        rows)
    return len(rows)


def place_rows(db: sqlite_utils.Database, services: str = "services") -> list[tuple]:
    """The rows of service_places for the services in table `services` (the importer reads its staging table
    outside any write transaction, then writes the few thousand rows in a short one)."""
    sums: dict[str, list] = defaultdict(lambda: [None, None, 0.0, 0.0, 0])
    for district, address_en, address_zh, lat, lon in db.execute(
            f"select district, address_en, address_zh, lat, lon from {services}"):
        names = [(district, "district")] if district else []
        names += [(street, "street") for street in street_names(address_en, address_zh)]
        for name, kind in names:
            norm = normalise(name)
            if not norm:
                continue
            entry = sums[norm]
            if entry[0] is None or (kind == "district" and entry[1] == "street"):
                entry[0], entry[1] = name, kind
            entry[2] += lat
            entry[3] += lon
            entry[4] += 1
    return [(norm, name, kind, lat / count, lon / count, count) for norm, (name, kind, lat, lon, count) in sums.items()]
