"""Service search benchmark: import rate of a generated 100,000-row CSV through the real importer, then top-10
nearest (within 5 km, with an age filter) via the R*Tree against a full-scan baseline in the same run."""

from __future__ import annotations

import csv
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from .db import open_database
from .service_import import CSV_COLUMNS, import_services
from .services import DISTANCE_SQL, SearchFilters, distance_params, ensure_math_functions, search_services

SEED = 7
# Generated services cluster around these Shanghai centres (lat, lon, spread in km, weight) like real demand:
# dense in the centre, sparser in the suburbs.
CLUSTERS = [(31.2304, 121.4737, 6.0, 5), (31.1885, 121.4370, 4.0, 2), (31.2215, 121.5447, 8.0, 4),
            (31.1128, 121.3817, 7.0, 3), (31.4050, 121.4891, 7.0, 2), (31.3747, 121.2655, 7.0, 2),
            (31.0320, 121.2277, 7.0, 2), (31.1497, 121.1241, 7.0, 1), (30.9180, 121.4740, 7.0, 1),
            (30.7418, 121.3420, 6.0, 1), (31.6230, 121.3972, 8.0, 1)]
TYPES = ("public_inclusive", "private", "employer", "kindergarten_class", "community_centre", "home_based")


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]  # noqa: E731
    return {"p50_ms": round(pick(0.5) * 1000, 3), "p95_ms": round(pick(0.95) * 1000, 3),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3)}


def _point(rng: random.Random) -> tuple[float, float]:
    lat, lon, spread, _ = rng.choices(CLUSTERS, weights=[c[3] for c in CLUSTERS])[0]
    return (round(lat + rng.gauss(0, spread) / 111.195, 6), round(lon + rng.gauss(0, spread) / 95.0, 6))


def write_services_csv(path: Path, n: int, seed: int = SEED) -> None:
    """n plausible services (every column filled) in the documented CSV format."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for i in range(n):
            lat, lon = _point(rng)
            age_min = rng.choice((0, 3, 6, 12, 18, 24))
            fee_min = rng.randrange(0, 9000, 100)
            capacity = rng.randint(5, 150)
            row = {"id": f"bench-{i:06d}", "name_en": f"Bench nursery {i}", "name_zh": f"测试托育{i}",
                   "type": rng.choice(TYPES), "address_en": f"{rng.randint(1, 2000)} Bench Road {i % 500}",
                   "address_zh": f"上海市测试区测试{i % 500}路{rng.randint(1, 2000)}号", "district": f"D{i % 16}",
                   "city": "Shanghai", "lat": lat, "lon": lon, "age_min_months": age_min,
                   "age_max_months": rng.choice((36, 36, 48, 72)), "opening_hours": "Mo-Fr 07:30-18:00",
                   "fee_min_cny": fee_min, "fee_max_cny": fee_min + rng.randrange(0, 3000, 100),
                   "capacity": capacity, "vacancies": rng.randint(0, capacity),
                   "registration": rng.choice(("registered", "registered", "pending", "unknown")),
                   "registration_number": f"BENCH-{i}", "phone": f"021-5550{i % 10000:04d}",
                   "last_inspection": "2026-03-01", "source": "benchmark", "updated": "2026-11-01", "is_demo": 1}
            writer.writerow([row[c] for c in CSV_COLUMNS])


def _full_scan(db, lat: float, lon: float, age: float, radius_km: float, limit: int) -> list[tuple[str, float]]:
    """Baseline: the same exact distance for every row of the table, no spatial index."""
    params = {**distance_params(lat, lon), "age": int(age), "radius": radius_km, "limit": limit}
    sql = (f"select id, distance from (select s.id, {DISTANCE_SQL} as distance from services s "
           "where s.age_min_months <= :age and s.age_max_months >= :age) where distance <= :radius "
           "order by distance, id limit :limit")
    return db.execute(sql, params).fetchall()


def run_services_benchmark(n: int = 100_000, queries: int = 500) -> dict[str, Any]:
    rng = random.Random(SEED + 1)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        source = base / "services.csv"
        write_services_csv(source, n)
        db = open_database(base / "bench.db")
        started = time.perf_counter()
        report = import_services(db, source)
        import_s = time.perf_counter() - started
        ensure_math_functions(db)
        centres = [(*_point(rng), rng.uniform(0, 36)) for _ in range(queries)]
        for lat, lon, age in centres[:20]:  # warm the page cache for both paths
            search_services(db, lat, lon, SearchFilters(age_months=age), radius_km=5, page_size=10)
            _full_scan(db, lat, lon, age, 5, 10)
        indexed, counted, scanned, agree, candidates = [], [], [], 0, []
        for lat, lon, age in centres:
            started = time.perf_counter()
            page = search_services(db, lat, lon, SearchFilters(age_months=age), radius_km=5, page_size=10,
                                   count_total=False)
            indexed.append(time.perf_counter() - started)
            # What the bot does: the same page plus the count of every match ("1-5 of 240").
            started = time.perf_counter()
            with_count = search_services(db, lat, lon, SearchFilters(age_months=age), radius_km=5, page_size=10)
            counted.append(time.perf_counter() - started)
            started = time.perf_counter()
            baseline = _full_scan(db, lat, lon, age, 5, 10)
            scanned.append(time.perf_counter() - started)
            agree += ([r.service.id for r in page.results] == [row[0] for row in baseline]
                      == [r.service.id for r in with_count.results])
            candidates.append(with_count.total)
        db.conn.close()
    rtree, full = _percentiles(indexed), _percentiles(scanned)
    return {
        "services": n, "queries": queries, "radius_km": 5, "top": 10,
        "import": {"rows": report.rows, "accepted": report.accepted, "seconds": round(import_s, 3),
                   "rows_per_s": round(report.rows / import_s, 1)},
        "rtree": rtree, "rtree_with_total_count": _percentiles(counted), "full_scan": full,
        "speedup_p50": round(full["p50_ms"] / max(rtree["p50_ms"], 1e-6), 1),
        "speedup_p95": round(full["p95_ms"] / max(rtree["p95_ms"], 1e-6), 1),
        "matches_within_radius_median": statistics.median(candidates),
        "results_agree": f"{agree}/{queries}",
        "target_p95_ms": 5.0, "meets_target": rtree["p95_ms"] < 5.0,
    }


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run_services_benchmark(), indent=2))
