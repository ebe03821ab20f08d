"""Curator and reviewer tools in the chat: /review, /propose, /stale, /retire, /gaps, /stats, /announce.
Every command, button and typed step checks the role by numeric Telegram id; refusals and changes are audited."""

# /propose [id] ─> topic ─> ages ─> en title ─> en body (one or more messages, then Next) ─> en questions
#     ─> zh title ─> zh body ─> zh questions ─> sources ─> summary ─┬─ Submit ─> in_review (or the problems)
#     (with an id: straight to the summary of that entry)          └─ ✏️ a field ─> that step ─> summary
# /review ─> one card per proposal ─> Publish (index rebuilt, live snapshot swapped) | Reject
# /gaps ─> clusters ─┬─ Attach: pick or type an entry id ─> the edit goes to review
#                    └─ Draft: the /propose steps with the cluster's questions offered
# /announce ─> region ─> age band ─> en text ─> zh text ─> preview with recipient count ─> Send (queued once per user)

from __future__ import annotations

import logging
from typing import Any, Callable

from knowledge.content import LANGUAGES, TOPICS, Entry, EntryText, Source, render_entry_file
from knowledge.curation import (AGE_BANDS, CURATOR, QUESTIONS, REVIEWER, Announcements, Check, CurationError,
                                Issue, Proposal, Workflow, allows, audit, check_announcement, check_entry, clean_text,
                                entry_links, parse_age_range, parse_questions, parse_sources, role_of, slug_id,
                                size_issues, staff_actor, text_limits, with_questions)
from knowledge.gaps import LOW_CONFIDENCE, find_cluster, find_gaps, idf_by_language, record_action
from knowledge.usage_stats import usage_stats

from ..engine import Turn
from ..messages import Button, Reply

log = logging.getLogger(__name__)

FLOW_PROPOSE, FLOW_ATTACH, FLOW_ANNOUNCE, FLOW_RETIRE = "cur_propose", "cur_attach", "cur_announce", "cur_retire"
STEPS = ("topic", "ages", "en_title", "en_body", "en_questions", "zh_title", "zh_body", "zh_questions", "sources")
GAP_DAYS = 90
STATS_DAYS = 30
SHOWN_CLUSTERS = 5
SHOWN_PROPOSALS = 10


class Curation:
    def __init__(self, runtime: Any):
        self.db = runtime.db
        self.answerer, self.model, self.segmenter = runtime.answerer, runtime.model, runtime.segmenter
        self.live, self.builder, self.kb = runtime.live, runtime.builder, runtime.kb
        self.workflow = Workflow(runtime.db, runtime.clock)
        self.announcements = Announcements(runtime.db, runtime.clock)
        self.export_dir = runtime.settings.data_dir / "curated"
        commands: dict[str, tuple[str, Callable[[Turn], list[Reply]]]] = {
            "review": (CURATOR, self.review), "propose": (CURATOR, self.propose), "stale": (CURATOR, self.stale),
            "retire": (CURATOR, self.retire), "gaps": (CURATOR, self.gaps), "stats": (CURATOR, self.stats),
            "announce": (REVIEWER, self.announce), "web": (CURATOR, self.web),
        }
        self.commands = {name: self._guarded(needed, f"/{name}", handler) for name, (needed, handler) in commands.items()}
        self.callbacks = {"cur": self.on_button}
        self.flows = {FLOW_PROPOSE: self._guarded_flow(CURATOR, self.on_propose_text),
                      FLOW_ATTACH: self._guarded_flow(CURATOR, self.on_attach_text),
                      FLOW_ANNOUNCE: self._guarded_flow(REVIEWER, self.on_announce_text)}
        # button action -> (role needed, handler)
        self.buttons: dict[str, tuple[str, Callable[[Turn, list[str]], list[Reply]]]] = {
            "topic": (CURATOR, self._on_topic), "next": (CURATOR, self._on_next), "useq": (CURATOR, self._on_use_questions),
            "edit": (CURATOR, self._on_edit), "sum": (CURATOR, self._on_summary), "submit": (CURATOR, self._on_submit),
            "cancel": (CURATOR, self._on_cancel), "retire": (CURATOR, self._on_retire),
            "gap": (CURATOR, self._on_gap), "att": (CURATOR, self._on_attach_choice),
            "pub": (REVIEWER, self._on_publish), "rej": (REVIEWER, self._on_reject),
            "annr": (REVIEWER, self._on_announce_region), "annb": (REVIEWER, self._on_announce_band),
            "anns": (REVIEWER, self._on_announce_send), "annx": (REVIEWER, self._on_announce_cancel),
        }

    # Roles: checked on every command, button and typed step ---------------------------------------------------

    @staticmethod
    def _role(turn: Turn) -> str | None:
        return role_of(turn.engine.settings, turn.incoming.telegram_user_id)

    def _refuse(self, turn: Turn, what: str, needed: str) -> list[Reply]:
        role = self._role(turn)
        # Refusals name the internal user id, not the Telegram id: a parent who types /review keeps a pseudonym.
        audit(self.db, turn.now, f"user:{turn.user.id}", "refused", what, after={"needed": needed, "role": role})
        if turn.pending and str(turn.pending.get("flow", "")).startswith("cur_"):
            turn.clear_pending()
        key = "cur.refused_reviewer" if role == CURATOR else "cur.refused"
        return [turn.reply(turn.t(key))]

    def _guarded(self, needed: str, what: str, handler: Callable[[Turn], list[Reply]]):
        def guarded(turn: Turn) -> list[Reply]:
            if not allows(self._role(turn), needed):
                return self._refuse(turn, what, needed)
            return handler(turn)

        guarded.__doc__ = handler.__doc__
        return guarded

    def _guarded_flow(self, needed: str, handler: Callable[[Turn, dict[str, Any]], list[Reply]]):
        def guarded(turn: Turn, state: dict[str, Any]) -> list[Reply]:
            if not allows(self._role(turn), needed):
                return self._refuse(turn, f"flow:{state.get('flow')}", needed)
            return handler(turn, {k: v for k, v in state.items() if k != "flow"})

        guarded.__doc__ = handler.__doc__
        return guarded

    def on_button(self, turn: Turn, parts: list[str]) -> list[Reply]:
        """Every curation button: cur:<action>:<arguments>."""
        action = parts[0] if parts else ""
        needed, handler = self.buttons.get(action, (CURATOR, None))
        if not allows(self._role(turn), needed):
            return self._refuse(turn, f"button:cur:{action}", needed)
        if handler is None:
            return [turn.reply(turn.t("error.stale_button"))]
        return handler(turn, parts[1:])

    @staticmethod
    def _actor(turn: Turn) -> str:
        return staff_actor(turn.incoming.telegram_user_id)

    def _error(self, turn: Turn, error: CurationError) -> list[Reply]:
        check: Check | None = error.detail.get("check")
        if check is not None:
            return [turn.reply(turn.render("curation_problems", problems=self._issues(turn, check.problems),
                                           flags=self._issues(turn, check.flags)))]
        return [turn.reply(turn.t(f"cur.error.{error.code}", **error.detail))]

    @staticmethod
    def _issues(turn: Turn, issues: tuple[Issue, ...] | list[Issue]) -> list[str]:
        return [turn.t(f"cur.problem.{i.code}", field=i.field, detail=i.detail) for i in issues]

    def _refresh_index(self) -> bool:
        """Rebuild what changed and swap the live snapshot; readers keep the old one until the swap."""
        try:
            self.builder.build()
            self.live.reload()
            return True
        except Exception:  # the change is saved; `sprout index build` can finish the job
            log.exception("index refresh after a curation change failed")
            return False

    def _export(self, entry: Entry) -> None:
        """Write the entry as a content file under the data folder, so a change made in the chat can be committed
        to content/ (files stay the source of truth for anyone reading the repository)."""
        path = self.export_dir / entry.topic / f"{entry.id}.md"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render_entry_file(entry), encoding="utf-8")
        except OSError:
            log.warning("could not export a curated entry file")

    # /review, Publish, Reject ------------------------------------------------------------------------------------

    def review(self, turn: Turn) -> list[Reply]:
        """Proposals waiting for review, one card each; reviewers get Publish and Reject."""
        proposals = self.workflow.in_review()
        if not proposals:
            return [turn.reply(turn.t("cur.review_empty"))]
        reviewer = self._role(turn) == REVIEWER
        replies = [turn.reply(turn.t("cur.review_intro", count=len(proposals), shown=min(len(proposals),
                                                                                           SHOWN_PROPOSALS)))]
        for proposal in proposals[:SHOWN_PROPOSALS]:
            rows = [[Button(turn.t("cur.publish"), f"cur:pub:{proposal.id}"),
                     Button(turn.t("cur.reject"), f"cur:rej:{proposal.id}")]] if reviewer else []
            replies.append(turn.reply(self._card(turn, proposal), *rows))
        return replies

    def _card(self, turn: Turn, proposal: Proposal) -> str:
        base = self.workflow.store.get(proposal.entry_id) if proposal.kind == "edit" else None
        return turn.render("curation_review_card", proposal_id=proposal.id, kind=proposal.kind,
                           origin=proposal.origin, author=proposal.author, view=_view(proposal.entry),
                           topic=turn.t(f"cur.topic.{proposal.entry.topic}"),
                           changes=[turn.t(f"cur.step.{s}") for s in _changed_steps(base, proposal.entry)],
                           flags=self._issues(turn, proposal.flags), problems=[])

    def _on_publish(self, turn: Turn, parts: list[str]) -> list[Reply]:
        if not parts or not parts[0].isdigit():
            return [turn.reply(turn.t("error.stale_button"))]
        try:
            entry = self.workflow.publish(int(parts[0]), self._actor(turn), turn.today)
        except CurationError as error:
            return self._error(turn, error)
        self._export(entry)
        key = "cur.published" if self._refresh_index() else "cur.published_index_failed"
        return [turn.reply(turn.t(key, id=entry.id, title=entry.text(turn.lang).title, review_by=entry.review_by))]

    def _on_reject(self, turn: Turn, parts: list[str]) -> list[Reply]:
        if not parts or not parts[0].isdigit():
            return [turn.reply(turn.t("error.stale_button"))]
        try:
            proposal = self.workflow.reject(int(parts[0]), self._actor(turn), "rejected in review")
        except CurationError as error:
            return self._error(turn, error)
        return [turn.reply(turn.t("cur.rejected", id=proposal.entry_id))]

    # /stale and /retire ----------------------------------------------------------------------------------------

    def stale(self, turn: Turn) -> list[Reply]:
        """Published entries past their review-by date."""
        entries = self.workflow.stale(turn.today)
        items = [{"id": e.id, "title": e.text(turn.lang).title, "review_by": e.review_by} for e in entries]
        return [turn.reply(turn.render("curation_stale", items=items, today=turn.today))]

    def retire(self, turn: Turn) -> list[Reply]:
        """/retire <id>: confirm, then take a published entry out of answers."""
        entry_id = turn.incoming.args.strip()
        if not entry_id:
            return [turn.reply(turn.t("cur.retire_usage"))]
        entry = self.workflow.store.get(entry_id)
        if entry is None or entry.status != "published":
            return [turn.reply(turn.t("cur.error.not_published", entry=entry_id[:80]))]
        turn.set_pending(FLOW_RETIRE, entry_id=entry.id)
        return [turn.reply(turn.t("cur.retire_confirm", id=entry.id, title=entry.text(turn.lang).title),
                           [Button(turn.t("cur.retire_yes"), "cur:retire"), Button(turn.t("cur.cancel"), "cur:cancel")])]

    def _on_retire(self, turn: Turn, parts: list[str]) -> list[Reply]:
        pending = turn.pending or {}
        if pending.get("flow") != FLOW_RETIRE:
            return [turn.reply(turn.t("error.stale_button"))]
        turn.clear_pending()
        try:
            entry = self.workflow.retire(pending["entry_id"], self._actor(turn))
        except CurationError as error:
            return self._error(turn, error)
        self._export(entry)
        key = "cur.retired" if self._refresh_index() else "cur.retired_index_failed"
        return [turn.reply(turn.t(key, id=entry.id))]

    # /propose: the step-by-step flow and its summary ---------------------------------------------------------------

    def propose(self, turn: Turn) -> list[Reply]:
        """/propose for a new entry, /propose <id> to edit one."""
        entry_id = turn.incoming.args.strip()
        if entry_id:
            current = self.workflow.store.get(entry_id)
            if current is None:
                return [turn.reply(turn.t("cur.unknown_entry", id=entry_id[:80]))]
            state = {"mode": "edit", "entry_id": current.id, "data": _data_from_entry(current), "step": None}
            return self._summary(turn, state)
        state = {"mode": "new", "entry_id": None, "data": {}, "step": "topic"}
        return [turn.reply(turn.t("cur.propose_intro"))] + self._ask(turn, state)

    def _ask(self, turn: Turn, state: dict[str, Any]) -> list[Reply]:
        """Store the state and ask for its step."""
        step = state["step"]
        state["fresh"] = True  # the first message of a body step replaces the old text, later ones add to it
        turn.set_pending(FLOW_PROPOSE, **state)
        back = [Button(turn.t("cur.keep"), "cur:sum")] if state.get("back") else []
        cancel = [Button(turn.t("cur.cancel"), "cur:cancel")]
        data = state["data"]
        if step == "topic":
            buttons = [Button(turn.t(f"cur.topic.{t}"), f"cur:topic:{t}") for t in TOPICS]
            return [turn.reply(turn.t("cur.ask_topic"), *[buttons[i:i + 2] for i in range(0, len(buttons), 2)],
                               back + cancel)]
        if step == "ages":
            return [turn.reply(turn.t("cur.ask_ages"), back + cancel)]
        if step == "sources":
            return [turn.reply(turn.t("cur.ask_sources"), back + cancel)]
        lang, field = step.split("_")
        language = turn.t(f"cur.lang.{lang}")
        if field == "title":
            return [turn.reply(turn.t("cur.ask_title", language=language, current=data.get(step, "")),
                               back + cancel)]
        if field == "body":
            return [turn.reply(turn.t("cur.ask_body", language=language, current=bool(data.get(step))),
                               back + cancel)]
        prefill = (state.get("prefill") or {}).get(lang) or []
        text = turn.render("curation_ask_questions", language=language, low=QUESTIONS[0], high=QUESTIONS[1],
                           prefill=prefill, usable=len(prefill) >= QUESTIONS[0], current=data.get(step) or [])
        # Too few to stand alone: they are shown, for the curator to type with more of their own.
        use = [Button(turn.t("cur.use_questions"), "cur:useq")] if len(prefill) >= QUESTIONS[0] else []
        return [turn.reply(text, use, back + cancel)]

    def _advance(self, turn: Turn, state: dict[str, Any]) -> list[Reply]:
        step = state["step"]
        if state.get("back") or step == STEPS[-1]:
            return self._summary(turn, state)
        state["step"] = STEPS[STEPS.index(step) + 1]
        return self._ask(turn, state)

    def on_propose_text(self, turn: Turn, state: dict[str, Any]) -> list[Reply]:
        """A typed answer to the current step."""
        step, data = state.get("step"), state["data"]
        text = clean_text(turn.incoming.text or "")
        if step is None:
            return self._summary(turn, state)
        if not text:
            return [turn.reply(turn.t("error.empty"))]
        if step == "topic":
            topic = next((t for t in TOPICS if text.casefold() in (t, turn.t(f"cur.topic.{t}").casefold())), None)
            if topic is None:
                return [turn.reply(turn.t("cur.error.topic"))]
            data["topic"] = topic
        elif step == "ages":
            ages = parse_age_range(text)
            if ages is None:
                return [turn.reply(turn.t("cur.error.ages"))]
            data["age_min"], data["age_max"] = ages
        elif step.endswith("_body"):
            body = text if state.get("fresh", True) else f"{data.get(step, '')}\n\n{text}"
            _, high = text_limits("body", step.split("_")[0])
            if len(body) > high:  # said now, while the curator still has the text at hand
                return [self._size_problem(turn, size_issues(step.replace("_", "."), body, "body", step[:2]))]
            data[step] = body
            state["fresh"] = False
            turn.set_pending(FLOW_PROPOSE, **state)
            return [turn.reply(turn.t("cur.body_added", chars=len(data[step])),
                               [Button(turn.t("cur.next"), "cur:next"), Button(turn.t("cur.cancel"), "cur:cancel")])]
        elif step.endswith("_questions"):
            questions = parse_questions(text)
            if not QUESTIONS[0] <= len(questions) <= QUESTIONS[1]:
                return [turn.reply(turn.t("cur.error.questions", low=QUESTIONS[0], high=QUESTIONS[1]))]
            issues = [i for q in questions for i in size_issues(step.replace("_", "."), q, "question", step[:2])]
            if issues:
                return [self._size_problem(turn, issues[:1])]
            data[step] = questions
        elif step.endswith("_title"):
            issues = size_issues(step.replace("_", "."), text, "title", step[:2])
            if issues:
                return [self._size_problem(turn, issues)]
            data[step] = text
        elif step == "sources":
            sources, problems = parse_sources(text)
            if problems:
                return [turn.reply(turn.render("curation_problems", problems=self._issues(turn, problems), flags=[]))]
            data["sources"] = [s.as_dict() for s in sources]
        else:
            data[step] = text
        return self._advance(turn, state)

    def _flow_state(self, turn: Turn) -> dict[str, Any] | None:
        pending = turn.pending
        if not pending or pending.get("flow") != FLOW_PROPOSE:
            return None
        return {k: v for k, v in pending.items() if k != "flow"}

    def _on_topic(self, turn: Turn, parts: list[str]) -> list[Reply]:
        state = self._flow_state(turn)
        if state is None or state.get("step") != "topic" or not parts or parts[0] not in TOPICS:
            return [turn.reply(turn.t("error.stale_button"))]
        state["data"]["topic"] = parts[0]
        return self._advance(turn, state)

    def _size_problem(self, turn: Turn, issues: list[Issue]) -> Reply:
        return turn.reply(turn.render("curation_problems", problems=self._issues(turn, issues), flags=[]))

    def _on_next(self, turn: Turn, parts: list[str]) -> list[Reply]:
        state = self._flow_state(turn)
        if state is None or not str(state.get("step", "")).endswith("_body"):
            return [turn.reply(turn.t("error.stale_button"))]
        if not state["data"].get(state["step"]):
            return [turn.reply(turn.t("cur.error.body_empty"))]
        step = state["step"]
        issues = size_issues(step.replace("_", "."), state["data"][step], "body", step[:2])
        if issues:  # the body is checked against its own language's minimum before the next step
            return [self._size_problem(turn, issues),
                    turn.reply(turn.t("cur.body_added", chars=len(state["data"][step])),
                               [Button(turn.t("cur.next"), "cur:next"), Button(turn.t("cur.cancel"), "cur:cancel")])]
        return self._advance(turn, state)

    def _on_use_questions(self, turn: Turn, parts: list[str]) -> list[Reply]:
        state = self._flow_state(turn)
        step = (state or {}).get("step") or ""
        prefill = ((state or {}).get("prefill") or {}).get(step.split("_")[0]) if step.endswith("_questions") else None
        if not prefill or len(prefill) < QUESTIONS[0]:
            return [turn.reply(turn.t("error.stale_button"))]
        state["data"][step] = prefill[:QUESTIONS[1]]
        return self._advance(turn, state)

    def _on_edit(self, turn: Turn, parts: list[str]) -> list[Reply]:
        state = self._flow_state(turn)
        if state is None or not parts or parts[0] not in STEPS:
            return [turn.reply(turn.t("error.stale_button"))]
        state.update(step=parts[0], back=True)
        return self._ask(turn, state)

    def _on_summary(self, turn: Turn, parts: list[str]) -> list[Reply]:
        state = self._flow_state(turn)
        if state is None:
            return [turn.reply(turn.t("error.stale_button"))]
        return self._summary(turn, state)

    def _on_cancel(self, turn: Turn, parts: list[str]) -> list[Reply]:
        turn.clear_pending()
        return [turn.reply(turn.t("cancelled"))]

    def _draft_entry(self, state: dict[str, Any], author: str) -> tuple[Entry | None, list[str]]:
        """The entry the answers so far describe, or the steps still missing."""
        data = state["data"]
        missing = [s for s in STEPS if (s == "ages" and "age_min" not in data) or (s != "ages" and not data.get(s))]
        if missing:
            return None, missing
        entry_id = state.get("entry_id") or slug_id(data["topic"], data["en_title"],
                                                    lambda i: self.workflow.store.get(i) is not None)
        texts = {lang: EntryText(data[f"{lang}_title"], data[f"{lang}_body"], tuple(data[f"{lang}_questions"]))
                 for lang in LANGUAGES}
        entry = Entry(entry_id, data["topic"], data["age_min"], data["age_max"], "in_review", author, None, None, None,
                      tuple(Source(**s) for s in data["sources"]), texts)
        return entry, []

    def _summary(self, turn: Turn, state: dict[str, Any], check: Check | None = None) -> list[Reply]:
        """Everything entered so far, its check, and buttons to change any field or submit."""
        state.update(step=None, back=True)
        turn.set_pending(FLOW_PROPOSE, **state)
        entry, missing = self._draft_entry(state, self._actor(turn))
        current = self.workflow.store.get(state["entry_id"]) if state.get("entry_id") else None
        if entry is not None and check is None:
            check = check_entry(entry, entry_links(current) if current and current.status == "published" else ())
        text = turn.render("curation_review_card", proposal_id=None, kind=state["mode"], origin="telegram",
                           author=self._actor(turn), view=_view(entry) if entry else _view_from_data(state["data"]),
                           topic=turn.t(f"cur.topic.{state['data']['topic']}") if state["data"].get("topic") else "",
                           changes=[turn.t(f"cur.step.{s}") for s in _changed_steps(current, entry)] if entry else [],
                           flags=self._issues(turn, check.flags) if check else [],
                           problems=(self._issues(turn, check.problems) if check else [])
                           + [turn.t("cur.problem.missing_step", field=turn.t(f"cur.step.{s}")) for s in missing])
        edit = [Button("✏️ " + turn.t(f"cur.step.{s}"), f"cur:edit:{s}") for s in STEPS]
        rows = [edit[i:i + 3] for i in range(0, len(edit), 3)]
        submit = [Button(turn.t("cur.submit"), "cur:submit")] if entry is not None and check and check.ok else []
        return [turn.reply(text, *rows, submit + [Button(turn.t("cur.cancel"), "cur:cancel")])]

    def _on_submit(self, turn: Turn, parts: list[str]) -> list[Reply]:
        state = self._flow_state(turn)
        if state is None:
            return [turn.reply(turn.t("error.stale_button"))]
        actor = self._actor(turn)
        entry, missing = self._draft_entry(state, actor)
        if entry is None:
            return self._summary(turn, state)
        try:
            proposal = self.workflow.propose(entry, actor, origin="gap" if state.get("gap_ids") else "telegram")
        except CurationError as error:
            if error.code == "problems":
                return self._summary(turn, state, error.detail["check"])
            return self._error(turn, error)
        turn.clear_pending()
        if state.get("gap_ids"):
            record_action(self.db, state["gap_lang"], state["gap_ids"], "draft", actor, turn.now,
                          entry_id=proposal.entry_id, proposal_id=proposal.id)
        return [turn.reply(turn.t("cur.submitted", id=proposal.entry_id, number=proposal.id))]

    # /gaps: clusters, attach to an entry, or draft a new one ------------------------------------------------------

    def _answered_well(self, question: str, lang: str) -> tuple[bool, str | None]:
        result = self.answerer.answer(question, lang, log_question=False)
        return result.kind == "answer" and (result.score or 0.0) >= LOW_CONFIDENCE, result.entry_id

    def _clusters(self, turn: Turn, check: bool, limit: int | None = None):
        snapshot = self.live.snapshot
        retriever = self.answerer.retriever
        return find_gaps(self.db, self.model(), self.segmenter, turn.now, GAP_DAYS,
                         check=self._answered_well if check else None, limit=limit,
                         dense_weight=retriever.calibration.dense_weight if retriever else None,
                         thresholds=retriever.calibration.gap_thresholds if retriever else None,
                         idf=idf_by_language(snapshot.terms) if snapshot else None)

    def gaps(self, turn: Turn) -> list[Reply]:
        """The biggest clusters of questions Sprout did not answer well, with what was done about them."""
        clusters = self._clusters(turn, check=True, limit=SHOWN_CLUSTERS)
        if not clusters:
            return [turn.reply(turn.t("cur.gaps_empty", days=GAP_DAYS))]
        rows = [[Button(turn.t("cur.gap_attach", number=n), f"cur:gap:a:{c.key}"),
                 Button(turn.t("cur.gap_draft", number=n), f"cur:gap:d:{c.key}")] for n, c in enumerate(clusters, 1)]
        text = turn.render("curation_gaps", clusters=[c.as_dict() for c in clusters], days=GAP_DAYS)
        return [turn.reply(text, *rows)]

    def _on_gap(self, turn: Turn, parts: list[str]) -> list[Reply]:
        if len(parts) != 2 or parts[0] not in ("a", "d") or not parts[1].isdigit():
            return [turn.reply(turn.t("error.stale_button"))]
        cluster = find_cluster(self._clusters(turn, check=False), int(parts[1]))
        if cluster is None:
            return [turn.reply(turn.t("error.stale_button"))]
        examples = cluster.examples(QUESTIONS[1])
        if parts[0] == "d":
            state = {"mode": "new", "entry_id": None, "data": {}, "step": "topic", "prefill": {cluster.lang: examples},
                     "gap_ids": cluster.ids, "gap_lang": cluster.lang}
            return [turn.reply(turn.t("cur.draft_intro", count=cluster.count))] + self._ask(turn, state)
        suggestions = self._suggest_entries(cluster.lang, examples, cluster.as_dict()["entries"])
        turn.set_pending(FLOW_ATTACH, lang=cluster.lang, ids=cluster.ids, examples=examples, suggest=suggestions)
        store = self.workflow.store
        buttons = [[Button(store.get(e).text(turn.lang).title[:60], f"cur:att:{i}")] for i, e in enumerate(suggestions)]
        return [turn.reply(turn.t("cur.attach_ask"), *buttons, [Button(turn.t("cur.cancel"), "cur:cancel")])]

    def _suggest_entries(self, lang: str, examples: list[str], hit: dict[str, int]) -> list[str]:
        """Entries the cluster's questions reached, then the nearest entries for its most asked wording."""
        found = list(hit)
        retriever = self.answerer.retriever
        if retriever is not None and examples:
            found += [c.entry.id for c in retriever.search(examples[0], lang).candidates]
        published = {e.id for e in self.workflow.store.published()}
        return [e for e in dict.fromkeys(found) if e in published][:4]

    def _on_attach_choice(self, turn: Turn, parts: list[str]) -> list[Reply]:
        pending = turn.pending or {}
        suggestions = pending.get("suggest") or []
        if pending.get("flow") != FLOW_ATTACH or not parts or not parts[0].isdigit() or int(parts[0]) >= len(suggestions):
            return [turn.reply(turn.t("error.stale_button"))]
        return self._attach(turn, pending, suggestions[int(parts[0])])

    def on_attach_text(self, turn: Turn, state: dict[str, Any]) -> list[Reply]:
        """The entry id typed for an attach."""
        return self._attach(turn, state, clean_text(turn.incoming.text or "")[:80])

    def _attach(self, turn: Turn, state: dict[str, Any], entry_id: str) -> list[Reply]:
        """The cluster's questions become example questions of the entry: an edit that goes to review."""
        current = self.workflow.store.get(entry_id)
        if current is None or current.status != "published":
            return [turn.reply(turn.t("cur.error.not_published", entry=entry_id))]
        edited = with_questions(current, state["lang"], state["examples"])
        if edited == current:
            turn.clear_pending()
            return [turn.reply(turn.t("cur.attach_nothing", id=entry_id))]
        actor = self._actor(turn)
        try:
            proposal = self.workflow.propose(edited, actor, origin="gap")
        except CurationError as error:
            return self._error(turn, error)
        turn.clear_pending()
        record_action(self.db, state["lang"], state["ids"], "attach", actor, turn.now, entry_id=entry_id,
                      proposal_id=proposal.id)
        return [turn.reply(turn.t("cur.attached", id=entry_id, number=proposal.id)),
                turn.reply(self._card(turn, proposal))]

    # /web ----------------------------------------------------------------------------------------------------------

    def web(self, turn: Turn) -> list[Reply]:
        """A one-time link that signs this curator in to the web console (private chat only: it is a key)."""
        from knowledge.web_access import issue_link, sign_in_url

        if not turn.private:
            return [turn.reply(turn.t("cur.web_private"))]
        settings = turn.engine.settings
        token = issue_link(self.db, settings, turn.incoming.telegram_user_id, turn.now)
        return [turn.reply(turn.t("cur.web_link", url=sign_in_url(settings, token),
                                  minutes=settings.web_link_minutes))]

    # /stats --------------------------------------------------------------------------------------------------------

    def stats(self, turn: Turn) -> list[Reply]:
        """Usage and helpfulness over the last 30 days (counts only, no personal data)."""
        data = usage_stats(self.db, turn.now, STATS_DAYS)
        entries = sorted(data["helpfulness"]["by_entry"].items(),
                         key=lambda kv: (kv[1]["rate"], -(kv[1]["helpful"] + kv[1]["not_helpful"])))
        last_days = sorted(data["questions"]["per_day"].items())[-7:]
        return [turn.reply(turn.render("curation_stats", stats=data, least_helpful=entries[:5], last_days=last_days,
                                       topic_name=lambda t: turn.t(f"cur.topic.{t}") if t in TOPICS else t))]

    # /announce -----------------------------------------------------------------------------------------------------

    def announce(self, turn: Turn) -> list[Reply]:
        """A short message to the subscribers of a region and/or age band: preview, count, confirm."""
        regions = self.kb.regions
        buttons = [Button(turn.t("cur.ann_all_regions"), "cur:annr:all")]
        buttons += [Button(regions.get(code)["name"][turn.lang], f"cur:annr:{code}") for code in regions.codes()]
        turn.set_pending(FLOW_ANNOUNCE, step="region")
        return [turn.reply(turn.t("cur.ann_region"), *[buttons[i:i + 3] for i in range(0, len(buttons), 3)])]

    def _announce_state(self, turn: Turn, step: str) -> dict[str, Any] | None:
        pending = turn.pending or {}
        if pending.get("flow") != FLOW_ANNOUNCE or pending.get("step") != step:
            return None
        return {k: v for k, v in pending.items() if k != "flow"}

    def _on_announce_region(self, turn: Turn, parts: list[str]) -> list[Reply]:
        state = self._announce_state(turn, "region")
        codes = self.kb.regions.codes()
        if state is None or not parts or (parts[0] != "all" and parts[0] not in codes):
            return [turn.reply(turn.t("error.stale_button"))]
        turn.set_pending(FLOW_ANNOUNCE, step="band", region=None if parts[0] == "all" else parts[0])
        buttons = [Button(turn.t("cur.ann_all_ages"), "cur:annb:all")]
        buttons += [Button(turn.t("cur.ann_band", band=band), f"cur:annb:{band}") for band in AGE_BANDS]
        return [turn.reply(turn.t("cur.ann_band_ask"), *[buttons[i:i + 3] for i in range(0, len(buttons), 3)])]

    def _on_announce_band(self, turn: Turn, parts: list[str]) -> list[Reply]:
        state = self._announce_state(turn, "band")
        if state is None or not parts or (parts[0] != "all" and parts[0] not in AGE_BANDS):
            return [turn.reply(turn.t("error.stale_button"))]
        turn.set_pending(FLOW_ANNOUNCE, step="en", region=state.get("region"),
                         band=None if parts[0] == "all" else parts[0])
        return [turn.reply(turn.t("cur.ann_ask_text", language=turn.t("cur.lang.en")))]

    def on_announce_text(self, turn: Turn, state: dict[str, Any]) -> list[Reply]:
        """The announcement text, English then Chinese; then the preview."""
        text = clean_text(turn.incoming.text or "")
        if state.get("step") not in ("en", "zh") or not text:
            return [turn.reply(turn.t("cur.ann_use_buttons"))]
        if state["step"] == "en":
            turn.set_pending(FLOW_ANNOUNCE, **{**state, "step": "zh", "en": text})
            return [turn.reply(turn.t("cur.ann_ask_text", language=turn.t("cur.lang.zh")))]
        texts = {"en": state["en"], "zh": text}
        try:
            announcement = self.announcements.create(texts, state.get("region"), state.get("band"), self._actor(turn))
        except CurationError as error:
            # Start the texts again; the audience chosen stays.
            turn.set_pending(FLOW_ANNOUNCE, step="en", region=state.get("region"), band=state.get("band"))
            return self._error(turn, error) + [turn.reply(turn.t("cur.ann_ask_text", language=turn.t("cur.lang.en")))]
        turn.clear_pending()
        count = len(self.announcements.recipients(announcement.region, announcement.band))
        renderer = turn.engine.renderer
        previews = {lang: renderer.render("curation_announcement", lang, text=texts[lang]) for lang in LANGUAGES}
        region = self.kb.regions.get(announcement.region)["name"][turn.lang] if announcement.region else None
        text = turn.render("curation_announce_preview", previews=previews, count=count, region=region,
                           band=announcement.band, flags=self._issues(turn, check_announcement(texts).flags))
        return [turn.reply(text, [Button(turn.t("cur.ann_send", count=count), f"cur:anns:{announcement.id}"),
                                  Button(turn.t("cur.cancel"), f"cur:annx:{announcement.id}")])]

    def _on_announce_send(self, turn: Turn, parts: list[str]) -> list[Reply]:
        if not parts or not parts[0].isdigit():
            return [turn.reply(turn.t("error.stale_button"))]
        try:
            before = self.announcements.get(int(parts[0]))
            added = self.announcements.enqueue(int(parts[0]), self._actor(turn))
        except CurationError as error:
            return self._error(turn, error)
        if added == 0 and before.state == "queued":
            return [turn.reply(turn.t("cur.ann_already"))]
        return [turn.reply(turn.t("cur.ann_queued", count=added))]

    def _on_announce_cancel(self, turn: Turn, parts: list[str]) -> list[Reply]:
        if parts and parts[0].isdigit():
            audit(self.db, turn.now, self._actor(turn), "announcement_cancelled", f"announcement:{parts[0]}")
        return [turn.reply(turn.t("cancelled"))]


def _data_from_entry(entry: Entry) -> dict[str, Any]:
    data: dict[str, Any] = {"topic": entry.topic, "age_min": entry.age_min, "age_max": entry.age_max,
                            "sources": [s.as_dict() for s in entry.sources]}
    for lang, text in entry.texts.items():
        data.update({f"{lang}_title": text.title, f"{lang}_body": text.body, f"{lang}_questions": list(text.questions)})
    return data


def _view(entry: Entry) -> dict[str, Any]:
    return _view_from_data({**_data_from_entry(entry), "id": entry.id})


def _view_from_data(data: dict[str, Any]) -> dict[str, Any]:
    """What the card template shows, with every field present (empty when not entered yet)."""
    return {
        "id": data.get("id", ""), "age_min": data.get("age_min", ""), "age_max": data.get("age_max", ""),
        "texts": {lang: {"title": data.get(f"{lang}_title", ""), "body": data.get(f"{lang}_body", ""),
                         "questions": data.get(f"{lang}_questions") or []} for lang in LANGUAGES},
        "sources": data.get("sources") or [],
    }


def _changed_steps(before: Entry | None, after: Entry | None) -> list[str]:
    if before is None or after is None:
        return []
    old, new = _data_from_entry(before), _data_from_entry(after)
    return [s for s in STEPS if (s == "ages" and (old["age_min"], old["age_max"]) != (new["age_min"], new["age_max"]))
            or (s != "ages" and old.get(s) != new.get(s))]
