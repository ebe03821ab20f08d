"""/nearby: infant-care services near a shared location or a typed place name, with filters and paging."""

# A shared location is used for the search only: it is kept in memory under a short random token (for the filter
# and "more" buttons) and expires; it is never written to the database or the logs.
#
#     /nearby ──> ask: share location / type a place ──> results (page 1)
#                      │ location  │ place name            │ filter button: same search, filter toggled, page 1
#                      └───────────┴──> results ◀──────────┤ "More": same search, next page
#                                                          └ guidance buttons (ask:<entry id>, handled by Ask)

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils

from knowledge.ages import age_months
from knowledge.gazetteer import Gazetteer, Place
from knowledge.service_import import ensure_bundled_services
from knowledge.services import SearchFilters, SearchPage, search_services
from knowledge.users import CONSENT_VERSION

from ..engine import Turn
from ..messages import Button, Reply

FLOW = "nearby_place"
# Filter letters in callback data (Telegram allows 64 bytes, so the whole search state is spelled compactly).
FLAGS = (("a", "fits_age", "age"), ("p", "public_only", "public"), ("r", "registered_only", "registered"),
         ("o", "open_now", "open"), ("v", "vacancies", "vacancies"))
FEE_STEPS = (0, 3000, 5000, 8000)                 # "max fee" button cycles through these (0 = any)
RADII_KM = (5.0, 20.0)                            # look further only when nothing is near
TOKEN_TTL = timedelta(minutes=30)
MAX_TOKENS = 10_000
GUIDANCE = (("care-questions-to-ask-nursery-visit", "nearby.guide.questions"),
            ("care-types-of-childcare-under-3", "nearby.guide.types"))
_QUESTION = re.compile(r"[?？]")


@dataclass(frozen=True)
class NearbyOptions:
    """The filters a family picked with the buttons."""

    fits_age: bool = False
    public_only: bool = False
    registered_only: bool = False
    open_now: bool = False
    vacancies: bool = False
    max_fee: int = 0  # 0 = any

    def encode(self) -> str:
        flags = "".join(letter for letter, name, _ in FLAGS if getattr(self, name)) or "-"
        return f"{flags}:{self.max_fee}"

    @classmethod
    def decode(cls, flags: str, fee: str) -> "NearbyOptions":
        letters = {letter: name for letter, name, _ in FLAGS}
        if not fee.isdigit() or int(fee) not in FEE_STEPS or any(c not in letters and c != "-" for c in flags):
            raise ValueError("bad options")
        return cls(**{letters[c]: True for c in flags if c in letters}, max_fee=int(fee))

    def toggled(self, name: str) -> "NearbyOptions":
        return replace(self, **{name: not getattr(self, name)})

    def next_fee(self) -> "NearbyOptions":
        return replace(self, max_fee=FEE_STEPS[(FEE_STEPS.index(self.max_fee) + 1) % len(FEE_STEPS)])


@dataclass(frozen=True)
class _Centre:
    user_id: int
    lat: float
    lon: float
    place: Place | None
    expires: datetime


def youngest_age_months(turn: Turn) -> float | None:
    """The youngest child's age from their birth date (nurseries admit by date of birth, not corrected age),
    only when the user consented to Sprout keeping it."""
    if turn.user.consent_version != CONSENT_VERSION:
        return None
    ages = [age_months(c.birth_date, turn.today) for c in turn.engine.users.children(turn.user.id)]
    return min(ages) if ages else None


class Nearby:
    def __init__(self, db: sqlite_utils.Database, content_dir: Path):
        self.db = db
        self.gazetteer = Gazetteer.load(Path(content_dir) / "services" / "gazetteer.yaml")
        ensure_bundled_services(db, content_dir)  # the demo data is there from the first search
        self._centres: dict[str, _Centre] = {}
        self._lock = threading.Lock()
        self.commands = {"nearby": self.start}
        self.callbacks = {"nb": self.on_button}
        self.flows = {FLOW: self.on_place}

    # Steps ---------------------------------------------------------------------------------------------------

    def start(self, turn: Turn) -> list[Reply]:
        """Ask for a location or a place name (or search straight away for "/nearby Xuhui")."""
        if turn.incoming.args.strip():
            return self._search_text(turn, turn.incoming.args.strip())
        return [self._ask(turn, "nearby.ask")]

    def on_location(self, turn: Turn) -> list[Reply]:
        """A shared location: search around it; keep it only in memory, under a token, for the buttons."""
        lat, lon = turn.incoming.location
        if turn.pending and turn.pending.get("flow") == FLOW:
            turn.clear_pending()
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return [turn.reply(turn.t("nearby.bad_location"))]
        token = self._remember(turn.user.id, lat, lon, None, turn.now)
        return [self._results(turn, f"t{token}", lat, lon, None, NearbyOptions(), 1)]

    def on_place(self, turn: Turn, state: dict) -> list[Reply]:
        """A typed place name while /nearby waits for one."""
        return self._search_text(turn, turn.incoming.text.strip())

    def on_button(self, turn: Turn, parts: list[str]) -> list[Reply]:
        """A filter, fee or "more" button: the button carries the whole search state it leads to."""
        try:
            source, flags, fee, page = parts
            options, page_number = NearbyOptions.decode(flags, fee), int(page)
            if not 1 <= page_number <= 200:
                raise ValueError
        except ValueError:
            return [turn.reply(turn.t("error.stale_button"))]
        if source.startswith("p"):
            place = self.gazetteer.get(source[1:])
            if place is None:
                return [turn.reply(turn.t("error.stale_button"))]
            return [self._results(turn, source, place.lat, place.lon, place, options, page_number)]
        centre = self._recall(source[1:], turn.user.id, turn.now) if source.startswith("t") else None
        if centre is None:
            return [self._ask(turn, "nearby.expired")]
        return [self._results(turn, source, centre.lat, centre.lon, centre.place, options, page_number)]

    # For other features ----------------------------------------------------------------------------------------

    def search_reply(self, turn: Turn, centre: tuple[float, float] | Place,
                     options: NearbyOptions = NearbyOptions()) -> Reply:
        """Results around a point or a place, with the usual buttons; e.g. a return-to-work plan can offer care
        near the workplace. A point is treated like a shared location (memory only)."""
        if isinstance(centre, Place):
            if centre.key and self.gazetteer.get(centre.key) is not None:
                return self._results(turn, f"p{centre.key}", centre.lat, centre.lon, centre, options, 1)
            token = self._remember(turn.user.id, centre.lat, centre.lon, centre, turn.now)
            return self._results(turn, f"t{token}", centre.lat, centre.lon, centre, options, 1)
        lat, lon = centre
        token = self._remember(turn.user.id, lat, lon, None, turn.now)
        return self._results(turn, f"t{token}", lat, lon, None, options, 1)

    # Helpers ---------------------------------------------------------------------------------------------------

    def _ask(self, turn: Turn, key: str) -> Reply:
        turn.set_pending(FLOW)  # only the fact that we wait for a place; never a location
        return Reply(turn.t(key), request_location=True, location_label=turn.t("nearby.share_location"))

    def _search_text(self, turn: Turn, text: str) -> list[Reply]:
        place = self.gazetteer.resolve(text, self.db)
        if place is not None:
            if turn.pending and turn.pending.get("flow") == FLOW:
                turn.clear_pending()
            return [self.search_reply(turn, place)]
        engine = turn.engine
        if _QUESTION.search(text) and engine.text_handler is not None:
            turn.clear_pending()  # a question, not a place: let the question answerer have it
            return engine.text_handler(turn)
        turn.set_pending(FLOW)
        return [turn.reply(turn.t("nearby.not_found", text=text[:40]))]

    def _remember(self, user_id: int, lat: float, lon: float, place: Place | None, now: datetime) -> str:
        token = secrets.token_urlsafe(6)
        with self._lock:
            for key in [k for k, c in self._centres.items() if c.expires <= now]:
                del self._centres[key]
            while len(self._centres) >= MAX_TOKENS:
                del self._centres[next(iter(self._centres))]  # oldest first
            self._centres[token] = _Centre(user_id, lat, lon, place, now + TOKEN_TTL)
        return token

    def _recall(self, token: str, user_id: int, now: datetime) -> _Centre | None:
        with self._lock:
            centre = self._centres.get(token)
        if centre is None or centre.user_id != user_id or centre.expires <= now:
            return None
        return centre

    def _search(self, lat: float, lon: float, filters: SearchFilters, page: int) -> SearchPage:
        result = None
        for radius in RADII_KM:
            result = search_services(self.db, lat, lon, filters, radius_km=radius, page=page)
            if result.total:
                break
        return result

    def _results(self, turn: Turn, source: str, lat: float, lon: float, place: Place | None,
                 options: NearbyOptions, page: int) -> Reply:
        age = youngest_age_months(turn) if options.fits_age else None
        note = None
        if options.fits_age and age is None:
            options, note = replace(options, fits_age=False), turn.t("nearby.age_unknown")
        filters = SearchFilters(age_months=age, public_only=options.public_only,
                                registered_only=options.registered_only,
                                open_at=turn.now if options.open_now else None,
                                max_fee=options.max_fee or None, vacancies=options.vacancies)
        found = self._search(lat, lon, filters, page)
        day_names = turn.t("nearby.days").split(",")
        cards = []
        for number, item in enumerate(found.results, found.first):
            hours = item.service.hours()
            described = hours.describe(day_names, turn.t("nearby.through"), turn.t("nearby.rule_sep"),
                                       turn.t("nearby.always")) if hours else None
            cards.append({"number": number, "service": item.service, "km": item.distance_km, "hours": described})
        text = turn.render("nearby_results", place=place.name(turn.lang) if place else None, page=found, cards=cards,
                           options=options, age=age, note=note, filtered=options != NearbyOptions(),
                           widened=found.radius_km > RADII_KM[0] and bool(cards),
                           any_demo=any(c["service"].is_demo for c in cards))
        return turn.reply(text, *self._buttons(turn, source, options, found))

    def _buttons(self, turn: Turn, source: str, options: NearbyOptions, found: SearchPage) -> list[list[Button]]:
        def data(chosen: NearbyOptions, page: int = 1) -> str:
            return f"nb:{source}:{chosen.encode()}:{page}"

        def toggle(name: str, label_key: str) -> Button:
            mark = "nearby.on" if getattr(options, name) else "nearby.off"
            return Button(turn.t(mark, label=turn.t(f"nearby.filter.{label_key}")), data(options.toggled(name)))

        toggles = [toggle(name, key) for _, name, key in FLAGS]
        fee_label = (turn.t("nearby.filter.fee", fee=f"{options.max_fee:,}") if options.max_fee
                     else turn.t("nearby.filter.fee_any"))
        toggles.append(Button(fee_label, data(options.next_fee())))
        rows = [toggles[i:i + 2] for i in range(0, len(toggles), 2)]
        if found.has_more:
            rows.append([Button(turn.t("nearby.more"), data(options, found.page + 1))])
        rows.append([Button(turn.t(label), f"ask:{entry_id}") for entry_id, label in GUIDANCE])
        return rows
