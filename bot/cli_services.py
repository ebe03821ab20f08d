"""`sprout services`: import infant-care service data and search it from the command line."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from knowledge.db import open_database
from knowledge.gazetteer import Gazetteer, GazetteerError
from knowledge.service_import import ServiceImportError, ensure_bundled_services, import_services
from knowledge.services import SERVICE_TYPES, SearchFilters, search_services

from .cli_types import FiniteRange


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group("services")
def services_group() -> None:
    """Infant-care services: import data files and search near a point or a place."""


@services_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Reject the whole file if any row is invalid.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def import_command(ctx: click.Context, file: Path, strict: bool, as_json: bool) -> None:
    """Import a CSV or GeoJSON file (OpenStreetMap exports too); rows with the same id are updated in place."""
    settings = ctx.find_object(dict)["settings"]
    db = open_database(settings.db_path)
    try:
        report = import_services(db, file, strict=strict)
    except ServiceImportError as exc:
        if as_json:
            _echo_json({"source": file.name, "committed": False, "error": str(exc)})
            sys.exit(1)
        raise click.ClickException(f"{file.name}: {exc}") from None
    if as_json:
        _echo_json(report.as_dict())
    else:
        for problem in report.rejected:
            click.echo(f"{file.name}:{problem.where}: rejected: {problem.reason}")
        for problem in report.warnings:
            click.echo(f"{file.name}:{problem.where}: warning: {problem.reason}")
        if report.committed:
            click.echo(f"{report.rows} row(s) read: {report.inserted} added, {report.updated} updated, "
                       f"{len(report.rejected)} rejected")
        else:
            click.echo(f"strict mode: {len(report.rejected)} invalid row(s), so nothing was imported", err=True)
    if not report.committed:
        sys.exit(1)


@services_group.command("near")
@click.option("--lat", type=FiniteRange(-90, 90), default=None, help="Latitude of the centre.")
@click.option("--lon", type=FiniteRange(-180, 180), default=None, help="Longitude of the centre.")
@click.option("--place", default=None, help="A district, neighbourhood or street, in English or Chinese.")
@click.option("--radius-km", type=FiniteRange(0.1, 100), default=5.0, show_default=True)
@click.option("--age-months", type=FiniteRange(0, 84), default=None, help="Only services taking this age.")
@click.option("--type", "types", type=click.Choice(SERVICE_TYPES), multiple=True, help="Only these types.")
@click.option("--max-fee", type=click.IntRange(0), default=None, help="Cheapest monthly fee at most this (CNY).")
@click.option("--registered-only", is_flag=True, help="Only registered (filed) services.")
@click.option("--public-only", is_flag=True, help="Only public / inclusive services.")
@click.option("--vacancies", is_flag=True, help="Only services with vacancies.")
@click.option("--open-at", type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]), default=None,
              help="Only services open at this local time, e.g. 2026-12-01T09:00.")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option("--page-size", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Names in this language.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def near_command(ctx: click.Context, lat: float | None, lon: float | None, place: str | None, radius_km: float,
                 age_months: float | None, types: tuple[str, ...], max_fee: int | None, registered_only: bool,
                 public_only: bool, vacancies: bool, open_at: datetime | None, page: int, page_size: int, lang: str,
                 as_json: bool) -> None:
    """Services near --lat/--lon or --place, nearest first, one page at a time."""
    if place is None and (lat is None or lon is None):
        raise click.UsageError("give --lat and --lon, or --place")
    if place is not None and (lat is not None or lon is not None):
        raise click.UsageError("give either --lat/--lon or --place, not both")
    settings = ctx.find_object(dict)["settings"]
    db = open_database(settings.db_path)
    ensure_bundled_services(db, settings.content_dir)
    centre = None
    if place is not None:
        try:
            gazetteer = Gazetteer.load(settings.content_dir / "services" / "gazetteer.yaml")
        except GazetteerError as exc:
            raise click.ClickException(str(exc)) from None
        centre = gazetteer.resolve(place, db)
        if centre is None:
            raise click.ClickException(f"no place called {place!r} in the gazetteer or the data; try a district, "
                                       "neighbourhood or street name, or --lat/--lon")
        lat, lon = centre.lat, centre.lon
    filters = SearchFilters(age_months=age_months, types=types, public_only=public_only,
                            registered_only=registered_only, open_at=open_at, max_fee=max_fee, vacancies=vacancies)
    found = search_services(db, lat, lon, filters, radius_km=radius_km, page=page, page_size=page_size)
    if as_json:
        _echo_json({
            "centre": {"lat": lat, "lon": lon,
                       "place": None if centre is None else {"key": centre.key, "kind": centre.kind,
                                                             "en": centre.name_en, "zh": centre.name_zh}},
            "radius_km": radius_km, "page": found.page, "page_size": found.page_size, "total": found.total,
            "has_more": found.has_more,
            "results": [{"distance_km": round(r.distance_km, 3), **r.service.as_dict()} for r in found.results],
        })
        return
    where = f"{centre.name(lang)} ({lat:.4f}, {lon:.4f})" if centre else f"{lat:.4f}, {lon:.4f}"
    click.echo(f"{found.total} service(s) within {radius_km:g} km of {where}; page {found.page}")
    for number, item in enumerate(found.results, found.first):
        service = item.service
        demo = " [DEMO DATA]" if service.is_demo else ""
        click.echo(f"{number:>3}. {service.name(lang)}{demo}  {item.distance_km:.2f} km  {service.type}  "
                   f"{service.registration}  id={service.id}")
    if found.has_more:
        click.echo(f"more: --page {found.page + 1}")
