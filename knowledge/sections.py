"""An entry body as whole sections: the opening paragraph(s), then one section per heading line ("**Dummies**",
"## Storing milk"). A reply opens with the section that answers the question, and a section is never cut, so no
"do not" sentence loses its other half."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A line that is only a bold phrase (with an optional colon) or a Markdown heading.
_HEADING = re.compile(r"^\s*(?:\*\*(?P<bold>[^*\n]{1,80}?)\*\*\s*[:：]?|#{1,6}\s+(?P<hash>.{1,80}?))\s*$")


@dataclass(frozen=True)
class Section:
    heading: str | None  # None for the opening paragraphs before the first heading
    text: str            # the section as written, its heading line included


def split_sections(body: str) -> list[Section]:
    """The body's sections in order; together they are the whole body (blank lines between them aside)."""
    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []

    def close() -> None:
        text = "\n".join(lines).strip()
        if text:
            sections.append(Section(heading, text))

    for line in body.strip().splitlines():
        match = _HEADING.match(line)
        if match:
            close()
            heading, lines = (match.group("bold") or match.group("hash")).strip().rstrip(":：").strip(), [line]
        else:
            lines.append(line)
    close()
    return sections


def rest_of_body(sections: list[Section], shown: int) -> str:
    """Every section but the one already shown, in the body's order."""
    return "\n\n".join(s.text for i, s in enumerate(sections) if i != shown)
