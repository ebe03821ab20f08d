"""Rendering: every user-facing message comes from a jinja2 template or a catalogue string, per language."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import jinja2

from knowledge.content import safe_load

LANGUAGES = ("en", "zh")
TEMPLATE_DIR = Path(__file__).parent / "templates"
LOCALE_DIR = Path(__file__).parent / "locales"


def _format_date(value: Any, lang: str = "en") -> str:
    if value is None:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {day.strftime('%B')} {day.year}"


def _format_age(child: Any, today: date, lang: str = "en") -> str:
    """A child's age as a parent says it: days for the first two weeks, weeks until 8 weeks, then months with
    one decimal (corrected for prematurity while that applies; before the due date, the age since birth)."""
    from knowledge.ages import age_days

    days = age_days(child.birth_date, today, child.weeks_premature)
    if days < 0:  # born early and not yet at the due date: corrected age has not started
        days = (today - child.birth_date).days
    if days < 14:
        return f"出生{days}天" if lang == "zh" else f"{days} day{'s' if days != 1 else ''}"
    if days < 56:
        weeks = days // 7
        return f"{weeks}周" if lang == "zh" else f"{weeks} weeks"
    months = child.age_months(today)
    return f"{months:.1f} 个月" if lang == "zh" else f"{months:.1f} months"


class Renderer:
    """Loads templates and catalogues once; `render` for multi-line messages, `t` for short strings."""

    def __init__(self, template_dir: Path = TEMPLATE_DIR, locale_dir: Path = LOCALE_DIR):
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(template_dir)),
            autoescape=False,  # replies are plain text; the Telegram adapter escapes when it formats
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["date"] = _format_date
        self.env.filters["age"] = _format_age
        self.catalogues: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            text = (locale_dir / f"{lang}.yaml").read_text(encoding="utf-8")
            data = safe_load(text) or {}
            self.catalogues[lang] = {str(k): str(v) for k, v in data.items()}
        self._compiled: dict[tuple[str, str], jinja2.Template] = {}

    def render(self, template: str, lang: str, **context: Any) -> str:
        lang = lang if lang in LANGUAGES else "en"
        loaded = self.env.get_template(f"{lang}/{template}.j2")
        return loaded.render(lang=lang, t=lambda key, **kw: self.t(key, lang, **kw), **context).strip()

    def t(self, key: str, lang: str, **context: Any) -> str:
        lang = lang if lang in LANGUAGES else "en"
        compiled = self._compiled.get((lang, key))
        if compiled is None:
            compiled = self.env.from_string(self.catalogues[lang][key])
            self._compiled[(lang, key)] = compiled
        return compiled.render(**context)

    def template_names(self, lang: str) -> list[str]:
        return sorted(p.stem for p in (TEMPLATE_DIR / lang).glob("*.j2"))
