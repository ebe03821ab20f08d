"""The web console's routes: a thin front end over knowledge/ (curation workflow, gaps, usage statistics, services,
announcements, sign-in). Every page checks the role by numeric Telegram id; every form carries a CSRF token;
every change is audited by the functions it calls."""

from __future__ import annotations

import difflib
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from knowledge.content import LANGUAGES, TOPICS, Entry, EntryText, render_entry_file, safe_load
from knowledge.curation import (AGE_BANDS, CURATOR, REVIEWER, Announcements, Check, CurationError, Workflow,
                                allows, audit, check_announcement, check_entry, clean_text, entry_links,
                                parse_questions, parse_red_flags, parse_sources, red_flags_text, role_of, slug_id,
                                staff_actor)
from knowledge.web_access import AccessError, audit_rows, check_password, redeem_link, signing_key

from . import charts
from .session import COOKIE, Session, Sessions

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
GAP_DAYS = 90
STATS_DAYS = 30
MAX_UPLOAD = 20 * 1024 * 1024


class Refused(Exception):
    """Signed out (go and sign in) or signed in without the role the page needs."""

    def __init__(self, signed_in: bool, needed: str):
        self.signed_in, self.needed = signed_in, needed


@dataclass
class Page:
    """One request as the templates see it: who, in which language, and the CSRF token for its forms."""

    request: Request
    session: Session
    role: str | None
    t: Callable[..., str]

    @property
    def user(self) -> int | None:
        return self.session.user if self.role else None

    @property
    def actor(self) -> str:
        return staff_actor(self.session.user)


def _catalogues() -> dict[str, dict[str, str]]:
    return {lang: {str(k): str(v) for k, v in (safe_load((HERE / "locales" / f"{lang}.yaml").read_text("utf-8"))
                                                or {}).items()} for lang in LANGUAGES}


class Console:
    """Holds what every route needs: the runtime's parts, the workflow writing content files, the templates."""

    def __init__(self, runtime, clock: Callable[[], datetime] | None = None,
                 on_published: Callable[[], None] | None = None):
        self.runtime = runtime
        self.settings = runtime.settings
        self.db = runtime.db
        self.clock = clock or runtime.clock
        self.workflow = Workflow(self.db, self.clock, content_dir=self.settings.content_dir)
        self.announcements = Announcements(self.db, self.clock)
        self.on_published = on_published
        self.index_lock = threading.Lock()
        self.sessions = Sessions(signing_key(self.settings), self.settings.web_base_url.startswith("https://"))
        self.catalogues = _catalogues()
        self.strings = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                                      undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)

    # Requests ------------------------------------------------------------------------------------------------------

    def page(self, request: Request) -> Page:
        session = self.sessions.load(request.cookies.get(COOKIE), self.settings.language)
        role = role_of(self.settings, session.user)
        lang = session.lang

        bot = self.runtime.renderer.catalogues[lang]

        def t(key: str, **kw: Any) -> str:
            # Topic and language names are the bot's own (cur.topic.*, cur.lang.*): one wording everywhere.
            text = self.catalogues[lang].get(key) or bot.get(f"cur.{key}") or self.catalogues["en"].get(key, key)
            return self.strings.from_string(text).render(**kw) if kw else text

        return Page(request, session, role, t)

    def need(self, page: Page, needed: str = CURATOR) -> None:
        if page.session.user is None:
            raise Refused(False, needed)
        if not allows(page.role, needed):
            audit(self.db, self.clock(), staff_actor(page.session.user), "refused:web",
                  page.request.url.path, after={"needed": needed, "role": page.role})
            raise Refused(True, needed)

    async def form(self, page: Page) -> Any:
        """The posted form, after its CSRF token is checked (403 without it)."""
        form = await page.request.form(max_part_size=MAX_UPLOAD)
        if not page.session.csrf_ok(form.get("csrf")):
            audit(self.db, self.clock(), staff_actor(page.session.user) if page.session.user else "web:anonymous",
                  "refused:csrf", page.request.url.path)
            raise HTTPException(403, "csrf")
        return form

    def render(self, page: Page, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(
            page=page, t=page.t, lang=page.session.lang, csrf=page.session.csrf, role=page.role,
            user=page.user, path=page.request.url.path, topics=TOPICS, languages=LANGUAGES, **context)
        response = HTMLResponse(html, status_code=status)
        response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                                       "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        self.sessions.store(response, page.session)
        return response

    def redirect(self, page: Page, url: str) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        self.sessions.store(response, page.session)
        return response

    def issues(self, page: Page, issues) -> list[str]:
        """The bot's own wording of each problem, so the chat and the console say the same thing."""
        return [self.runtime.renderer.t(f"cur.problem.{i.code}", page.session.lang, field=i.field, detail=i.detail)
                for i in issues]

    def error(self, page: Page, error: CurationError) -> str:
        return self.runtime.renderer.t(f"cur.error.{error.code}", page.session.lang, **error.detail)

    def refresh_index(self) -> bool:
        """What the bot does after publishing: rebuild what changed and swap the live snapshot in place."""
        try:
            with self.index_lock:
                self.runtime.builder.build()
                self.runtime.live.reload()
                if self.on_published is not None:
                    self.on_published()
            return True
        except Exception:  # the change is saved; `sprout index build` can finish the job
            log.exception("index refresh after a console publish failed")
            return False

    # Sign-in ---------------------------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        page = self.page(request)
        return self.redirect(page, "/review" if page.role else "/signin")

    async def signin(self, request: Request) -> Response:
        page = self.page(request)
        error = None
        if request.method == "POST":
            form = await self.form(page)
            raw_id = str(form.get("telegram_id", "")).strip()
            client = request.client.host if request.client else "unknown"
            try:
                if not raw_id.isdigit():
                    raise AccessError("password")
                user = check_password(self.db, self.settings, int(raw_id), str(form.get("password", "")), client,
                                      self.clock())
            except AccessError as exc:
                error = page.t(f"signin.error.{exc.code}")
            else:
                page.session.sign_in(user)
                return self.redirect(page, "/review")
        return self.render(page, "signin.html", status=401 if error else 200, error=error)

    async def signin_link(self, request: Request) -> Response:
        """GET shows a button (link previews and scanners must not use the link up); POST signs in."""
        page = self.page(request)
        token = request.path_params["token"]
        if request.method == "GET":
            return self.render(page, "signin_link.html", token=token)
        await self.form(page)
        try:
            user = redeem_link(self.db, self.settings, token, self.clock())
        except AccessError as exc:
            return self.render(page, "signin.html", status=401, error=page.t(f"signin.error.{exc.code}"))
        page.session.sign_in(user)
        return self.redirect(page, "/review")

    async def signout(self, request: Request) -> Response:
        page = self.page(request)
        await self.form(page)
        if page.session.user is not None:
            audit(self.db, self.clock(), staff_actor(page.session.user), "web_signout", None)
        page.session.sign_out()
        return self.redirect(page, "/signin")

    async def language(self, request: Request) -> Response:
        page = self.page(request)
        form = await self.form(page)
        if form.get("lang") in LANGUAGES:
            page.session.lang, page.session.changed = str(form["lang"]), True
        back = str(form.get("next") or "/")
        return self.redirect(page, back if back.startswith("/") and not back.startswith("//") else "/")

    # Review queue ----------------------------------------------------------------------------------------------

    async def review(self, request: Request) -> Response:
        page = self.page(request)
        self.need(page)
        proposals = self.workflow.in_review()
        rows = [{"p": p, "reviews": self.workflow.reviews(p.id)} for p in proposals]
        return self.render(page, "review.html", rows=rows, recent=self.workflow.recent(10))

    def previews(self, entry: Entry) -> dict[str, dict[str, Any]]:
        """The entry as the bot will send it: the reply text, its Telegram HTML, and the local chat's text."""
        from bot.features.ask import render_result
        from bot.telegram_app import split_text, to_html
        from retrieval.answer import answer_result, lead_with_section

        region = self.runtime.kb.regions.get(self.settings.region)
        shown = {}
        for lang in LANGUAGES:
            body = entry.text(lang).body
            result = answer_result(entry, lang, lang, None, related=[])
            lead_with_section(result, body, None)
            text = render_result(self.runtime.renderer, result, region, body)
            shown[lang] = {"telegram": [to_html(part) for part in split_text(text)],
                           "local": text.replace("**", "")}
        return shown

    async def proposal(self, request: Request) -> Response:
        page = self.page(request)
        self.need(page)
        return self._proposal_page(page, int(request.path_params["pid"]))

    def _proposal_page(self, page: Page, pid: int, error: str | None = None, status: int = 200) -> Response:
        proposal = self.workflow.get(pid)
        if proposal is None:
            raise HTTPException(404)
        current = self.workflow.store.get(proposal.entry_id)
        base = current if current is not None and current.status == "published" else None
        before = render_entry_file(base).splitlines() if base else []
        diff = list(difflib.unified_diff(before, render_entry_file(proposal.entry).splitlines(),
                                         "published", "proposed", lineterm="", n=2))
        own = page.actor in (proposal.author, proposal.entry.author)
        return self.render(page, "proposal.html", status=status, p=proposal, diff=diff, base=base,
                           previews=self.previews(proposal.entry), flags=self.issues(page, proposal.flags),
                           reviews=self.workflow.reviews(pid), own=own, error=error,
                           reviewer=page.role == REVIEWER)

    async def proposal_action(self, request: Request) -> Response:
        page = self.page(request)
        self.need(page, REVIEWER)
        form = await self.form(page)
        pid, action = int(request.path_params["pid"]), request.path_params["action"]
        try:
            if action == "approve":
                self.workflow.approve(pid, page.actor, clean_text(str(form.get("comment", ""))) or None)
            elif action == "changes":
                self.workflow.request_changes(pid, page.actor, str(form.get("comment", "")))
            elif action == "publish":
                self.workflow.publish(pid, page.actor, self.clock().date())
                if not self.refresh_index():
                    return self._proposal_page(page, pid, page.t("review.index_failed"))
            else:
                raise HTTPException(404)
        except CurationError as error:
            found = error.detail.get("check")
            message = "; ".join(self.issues(page, found.problems)) if found else self.error(page, error)
            return self._proposal_page(page, pid, message, status=409)
        return self.redirect(page, f"/review/{pid}")

    # Editor ----------------------------------------------------------------------------------------------------

    async def entries(self, request: Request) -> Response:
        page = self.page(request)
        self.need(page)
        query = request.query_params.get("q", "").strip().casefold()
        found = [e for e in self.workflow.store.all() if not query or query in e.id or any(
            query in t.title.casefold() for t in e.texts.values())]
        return self.render(page, "entries.html", entries=found[:200], q=request.query_params.get("q", ""),
                           stale={e.id for e in self.workflow.stale(self.clock().date())})

    def _gap_cluster(self, key: int):
        from knowledge.gaps import find_gaps, idf_by_language

        snapshot = self.runtime.live.snapshot
        calibration = self.runtime.retriever.calibration
        clusters = find_gaps(self.db, self.runtime.model(), self.runtime.segmenter, self.clock(), GAP_DAYS,
                             dense_weight=calibration.dense_weight, thresholds=calibration.gap_thresholds,
                             idf=idf_by_language(snapshot.terms) if snapshot else None)
        return clusters, next((c for c in clusters if c.key == key), None)

    async def editor(self, request: Request) -> Response:
        page = self.page(request)
        self.need(page)
        entry_id = request.query_params.get("entry")
        data: dict[str, Any] = {"entry_id": "", "topic": TOPICS[0], "age_min": 0, "age_max": 36, "sources": "",
                                "red_flags": "",
                                "gap_key": "", "gap_lang": "", "gap_ids": ""}
        for lang in LANGUAGES:
            data.update({f"{lang}_title": "", f"{lang}_body": "", f"{lang}_questions": ""})
        if entry_id:
            entry = self.workflow.store.get(entry_id)
            if entry is None:
                raise HTTPException(404)
            data = {**data, **_form_data(entry)}
        gap = request.query_params.get("gap", "")
        if gap.isdigit():
            _, cluster = self._gap_cluster(int(gap))
            if cluster is not None:
                data[f"{cluster.lang}_questions"] = "\n".join(cluster.examples(6))
                data.update({"gap_key": cluster.key, "gap_lang": cluster.lang,
                             "gap_ids": ",".join(str(i) for i in cluster.ids)})
        return self.render(page, "editor.html", data=data, problems=[], flags=[], saved=None)

    def _checked_form(self, page: Page, form) -> tuple[dict[str, str], Entry | None, list[str], Check]:
        """The editor's fields, the entry they make, and what the proposal and file validators say about it."""
        data = {key: str(form.get(key, "")) for key in
                ("entry_id", "topic", "age_min", "age_max", "sources", "red_flags", "gap_key", "gap_lang", "gap_ids",
                 *(f"{lang}_{field}" for lang in LANGUAGES for field in ("title", "body", "questions")))}
        entry, problems = self._entry_from_form(page, data)
        check = Check()
        if entry is not None:
            current = self.workflow.store.get(entry.id)
            editing = current is not None and current.status == "published"
            check = check_entry(entry, entry_links(current) if editing else ())
            problems += self.issues(page, check.problems)
        return data, entry, problems, check

    async def editor_check(self, request: Request) -> Response:
        """The live check while typing (editor.js): the same checks as saving, nothing written."""
        page = self.page(request)
        self.need(page)
        _, _, problems, check = self._checked_form(page, await self.form(page))
        return JSONResponse({"problems": problems, "flags": self.issues(page, check.flags),
                             "ok": page.t("editor.valid")})

    async def editor_post(self, request: Request) -> Response:
        page = self.page(request)
        self.need(page)
        form = await self.form(page)
        data, entry, problems, check = self._checked_form(page, form)
        if problems or form.get("action") != "save":
            return self.render(page, "editor.html", status=422 if problems else 200, data=data, problems=problems,
                               flags=self.issues(page, check.flags), saved=None, checked=not problems)
        origin = "gap" if data["gap_ids"] else "web"
        try:
            proposal = self.workflow.propose(entry, page.actor, origin=origin)
        except CurationError as error:
            found = error.detail.get("check")
            problems = self.issues(page, found.problems) if found else [self.error(page, error)]
            return self.render(page, "editor.html", status=422, data=data, problems=problems, flags=[], saved=None)
        if data["gap_ids"] and data["gap_lang"] in LANGUAGES:
            from knowledge.gaps import record_action

            ids = [int(i) for i in data["gap_ids"].split(",") if i.strip().isdigit()]
            record_action(self.db, data["gap_lang"], ids, "draft", page.actor, self.clock(), entry_id=entry.id,
                          proposal_id=proposal.id)
        return self.redirect(page, f"/review/{proposal.id}")

    def _entry_from_form(self, page: Page, data: dict[str, str]) -> tuple[Entry | None, list[str]]:
        problems: list[str] = []
        topic = data["topic"] if data["topic"] in TOPICS else None
        if topic is None:
            problems.append(page.t("editor.bad_topic"))
        ages = (data["age_min"].strip(), data["age_max"].strip())
        if not all(a.isdigit() for a in ages) or not int(ages[0]) <= int(ages[1]) <= 36:
            problems.append(page.t("editor.bad_ages"))
        sources, source_problems = parse_sources(clean_text(data["sources"]))
        red_flags, flag_problems = parse_red_flags(clean_text(data["red_flags"]))
        problems += self.issues(page, source_problems + flag_problems)
        if problems:
            return None, problems
        texts = {lang: EntryText(clean_text(data[f"{lang}_title"]), clean_text(data[f"{lang}_body"]),
                                 tuple(parse_questions(clean_text(data[f"{lang}_questions"])))) for lang in LANGUAGES}
        entry_id = data["entry_id"].strip()
        current = self.workflow.store.get(entry_id) if entry_id else None
        if current is None:
            entry_id = slug_id(topic, texts["en"].title, lambda c: self.workflow.store.get(c) is not None)
        base = dict(author=page.actor, reviewer=None, reviewed=None, review_by=None, red_flags=red_flags)
        return Entry(entry_id, topic, int(ages[0]), int(ages[1]), "in_review", sources=tuple(sources), texts=texts,
                     **base), []

    # Gaps ------------------------------------------------------------------------------------------------------

    async def gaps(self, request: Request) -> Response:
        page = self.page(request)
        self.need(page)
        clusters, _ = self._gap_cluster(-1)
        now = self.clock()
        rows = [{"c": c, "d": c.as_dict(), "spark": charts.sparkline(c.weekly_counts(now), page.t("gaps.trend"))}
                for c in clusters[:50]]
        return self.render(page, "gaps.html", rows=rows, days=GAP_DAYS)

    # Feedback and usage ----------------------------------------------------------------------------------------

    async def stats(self, request: Request) -> Response:
        from knowledge.usage_stats import least_helpful, questions_by_day_and_language, usage_stats

        page = self.page(request)
        self.need(page)
        now = self.clock()
        data = usage_stats(self.db, now, STATS_DAYS)
        per_day = questions_by_day_and_language(self.db, now, STATS_DAYS)
        labels = {"en": page.t("lang.en"), "zh": page.t("lang.zh")}
        worst = least_helpful(data, 10)
        by_entry = sorted(data["helpfulness"]["by_entry"].items())
        return self.render(page, "stats.html", data=data, worst=worst, by_entry=by_entry, days=STATS_DAYS,
                           day_chart=charts.stacked_bars(per_day, page.t("stats.per_day"), labels),
                           vote_chart=charts.hbars([(e, r["helpful"], r["not_helpful"]) for e, r in by_entry[:30]],
                                                   page.t("stats.votes"),
                                                   (page.t("stats.helpful"), page.t("stats.not_helpful"))))

    # Red flags -------------------------------------------------------------------------------------------------

    async def redflags(self, request: Request) -> Response:
        page = self.page(request)
        self.need(page)
        tried = None
        if request.method == "POST":
            form = await self.form(page)
            text = clean_text(str(form.get("message", "")))[:self.settings.max_message_chars]
            lang = form.get("lang") if form.get("lang") in LANGUAGES else None
            if text:
                triage = self.runtime.triage.check(text, None)
                result = self.runtime.answerer.answer(text, lang, log_question=False)
                tried = {"text": text, "triage": triage, "result": result}
        table = self.runtime.triage.triage.table
        return self.render(page, "redflags.html", table=table, tried=tried)

    # Services --------------------------------------------------------------------------------------------------

    async def services(self, request: Request) -> Response:
        from knowledge.services import count_services, find_services, registration_counts

        page = self.page(request)
        self.need(page)
        query = request.query_params.get("q", "").strip()
        found = find_services(self.db, query) if query else []
        return self.render(page, "services.html", q=query, found=found, total=count_services(self.db),
                           registration=registration_counts(self.db), report=None, upload=None)

    def _uploads(self) -> Path:
        from knowledge.db import private_folder

        folder = self.settings.data_dir / "uploads"
        private_folder(folder)
        return folder

    async def services_import(self, request: Request) -> Response:
        from knowledge.service_import import ServiceImportError, import_services
        from knowledge.services import count_services, registration_counts

        page = self.page(request)
        self.need(page, REVIEWER)
        form = await self.form(page)
        upload_id = str(form.get("upload", ""))
        commit = form.get("action") == "commit"
        if commit:
            if not upload_id.isalnum():
                raise HTTPException(400)
            matches = list(self._uploads().glob(f"{upload_id}.*"))
            if not matches:
                raise HTTPException(404)
            path = matches[0]
        else:
            upload = form.get("file")
            name = getattr(upload, "filename", "") or ""
            suffix = Path(name).suffix.lower()
            if suffix not in (".csv", ".geojson", ".json"):
                return self.render(page, "services.html", status=422, q="", found=[], total=count_services(self.db),
                                   registration=registration_counts(self.db), report=None, upload=None,
                                   error=page.t("services.bad_file"))
            upload_id = secrets.token_hex(12)
            path = self._uploads() / f"{upload_id}{suffix}"
            path.write_bytes(await upload.read())
            await upload.close()
        try:
            report = import_services(self.db, path, dataset=f"web-{path.stem[:8]}{path.suffix}", dry_run=not commit,
                                     today=self.clock().date())
        except ServiceImportError as exc:
            path.unlink(missing_ok=True)
            return self.render(page, "services.html", status=422, q="", found=[], total=count_services(self.db),
                               registration=registration_counts(self.db), report=None, upload=None, error=str(exc))
        if commit:
            path.unlink(missing_ok=True)
            audit(self.db, self.clock(), page.actor, "services_import", report.source,
                  after={"inserted": report.inserted, "updated": report.updated, "rejected": len(report.rejected)})
        return self.render(page, "services.html", q="", found=[], total=count_services(self.db),
                           registration=registration_counts(self.db), report=report,
                           upload=None if commit else upload_id)

    async def service(self, request: Request) -> Response:
        from knowledge.service_import import CSV_COLUMNS, edit_service
        from knowledge.services import get_service

        page = self.page(request)
        self.need(page)
        service_id = request.path_params["sid"]
        errors: list[str] = []
        saved = False
        if request.method == "POST":
            self.need(page, REVIEWER)
            form = await self.form(page)
            changes = {c: str(form.get(c, "")) for c in CSV_COLUMNS if c != "id" and c in form}
            _, errors = edit_service(self.db, service_id, changes, page.actor, self.clock().date())
            saved = not errors
        service = get_service(self.db, service_id)
        if service is None:
            raise HTTPException(404)
        values = {c: ("" if v is None else v) for c, v in service.as_dict().items()}
        return self.render(page, "service.html", status=422 if errors else 200, s=service, values=values,
                           columns=[c for c in CSV_COLUMNS if c != "id"], errors=errors, saved=saved)

    # Announcements ---------------------------------------------------------------------------------------------

    async def announcements_page(self, request: Request) -> Response:
        page = self.page(request)
        self.need(page, REVIEWER)
        return self.render(page, "announcements.html", recent=self.announcements.recent(), preview=None,
                           problems=[], data={"en": "", "zh": "", "region": "", "band": ""},
                           regions=self._regions(page), bands=list(AGE_BANDS))

    def _regions(self, page: Page) -> list[tuple[str, str]]:
        regions = self.runtime.kb.regions
        return [(code, regions.get(code)["name"][page.session.lang]) for code in regions.codes()]

    async def announcements_post(self, request: Request) -> Response:
        page = self.page(request)
        self.need(page, REVIEWER)
        form = await self.form(page)
        data = {k: str(form.get(k, "")) for k in ("en", "zh", "region", "band")}
        region = data["region"] if data["region"] in self.runtime.kb.regions.codes() else None
        band = data["band"] if data["band"] in AGE_BANDS else None
        texts = {lang: clean_text(data[lang]) for lang in LANGUAGES}
        try:
            announcement = self.announcements.create(texts, region, band, page.actor)
        except CurationError as error:
            found = error.detail.get("check")
            problems = self.issues(page, found.problems) if found else [self.error(page, error)]
            return self.render(page, "announcements.html", status=422, recent=self.announcements.recent(),
                               preview=None, problems=problems, data=data, regions=self._regions(page),
                               bands=list(AGE_BANDS))
        from bot.telegram_app import to_html

        renderer = self.runtime.renderer
        preview = {"a": announcement, "count": len(self.announcements.recipients(region, band)),
                   "html": {lang: to_html(renderer.render("curation_announcement", lang, text=texts[lang]))
                            for lang in LANGUAGES},
                   "flags": self.issues(page, check_announcement(texts).flags)}
        return self.render(page, "announcements.html", recent=self.announcements.recent(), preview=preview,
                           problems=[], data=data, regions=self._regions(page), bands=list(AGE_BANDS))

    async def announcement_send(self, request: Request) -> Response:
        page = self.page(request)
        self.need(page, REVIEWER)
        form = await self.form(page)
        aid = int(request.path_params["aid"])
        when = str(form.get("when", "")).strip()
        due = None
        if when:
            try:
                due = datetime.fromisoformat(when)
                due = due.replace(tzinfo=timezone.utc) if due.tzinfo is None else due
            except ValueError:
                raise HTTPException(422, "when") from None
        try:
            self.announcements.enqueue(aid, page.actor, due)
        except CurationError:
            raise HTTPException(404) from None
        return self.redirect(page, "/announcements")

    # Audit log ------------------------------------------------------------------------------------------------

    async def audit_page(self, request: Request) -> Response:
        page = self.page(request)
        self.need(page)
        return self.render(page, "audit.html", rows=audit_rows(self.db, 300))


def _form_data(entry: Entry) -> dict[str, Any]:
    data: dict[str, Any] = {"entry_id": entry.id, "topic": entry.topic, "age_min": entry.age_min,
                            "age_max": entry.age_max,
                            "sources": "\n".join(f"{s.publisher} | {s.title} | {s.url} | {s.year}" for s in entry.sources),
                            "red_flags": red_flags_text(entry.red_flags)}
    for lang in LANGUAGES:
        text = entry.texts.get(lang)
        data.update({f"{lang}_title": text.title if text else "", f"{lang}_body": text.body if text else "",
                     f"{lang}_questions": "\n".join(text.questions) if text else ""})
    return data


def create_app(runtime, clock: Callable[[], datetime] | None = None,
               on_published: Callable[[], None] | None = None) -> Starlette:
    """The console over a runtime of its own (its own database connection; `on_published` tells a bot running
    beside it to reload its index)."""
    console = Console(runtime, clock, on_published)

    async def refused(request: Request, exc: Refused) -> Response:
        page = console.page(request)
        if not exc.signed_in:
            if request.method == "GET":
                return console.redirect(page, "/signin")
            return console.render(page, "refused.html", status=401, signed_in=False)
        return console.render(page, "refused.html", status=403, signed_in=True)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        page = console.page(request)
        key = "csrf" if exc.detail == "csrf" else str(exc.status_code)
        return console.render(page, "error.html", status=exc.status_code, code=key)

    c = console
    routes = [
        Route("/", c.home),
        Route("/signin", c.signin, methods=["GET", "POST"]),
        Route("/signin/link/{token}", c.signin_link, methods=["GET", "POST"]),
        Route("/signout", c.signout, methods=["POST"]),
        Route("/language", c.language, methods=["POST"]),
        Route("/review", c.review),
        Route("/review/{pid:int}", c.proposal),
        Route("/review/{pid:int}/{action}", c.proposal_action, methods=["POST"]),
        Route("/entries", c.entries),
        Route("/editor", c.editor),
        Route("/editor", c.editor_post, methods=["POST"]),
        Route("/editor/check", c.editor_check, methods=["POST"]),
        Route("/gaps", c.gaps),
        Route("/stats", c.stats),
        Route("/redflags", c.redflags, methods=["GET", "POST"]),
        Route("/services", c.services),
        Route("/services/import", c.services_import, methods=["POST"]),
        Route("/services/{sid:path}", c.service, methods=["GET", "POST"]),
        Route("/announcements", c.announcements_page),
        Route("/announcements", c.announcements_post, methods=["POST"]),
        Route("/announcements/{aid:int}/send", c.announcement_send, methods=["POST"]),
        Route("/audit", c.audit_page),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={Refused: refused, HTTPException: http_error})
    app.state.console = console
    return app
