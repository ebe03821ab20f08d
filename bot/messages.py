"""What goes in and out of the conversation engine: plain data, no Telegram types."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # callback data, at most 64 bytes (Telegram's limit)

    def __post_init__(self) -> None:
        if len(self.data.encode("utf-8")) > 64:
            raise ValueError(f"callback data too long: {self.data!r}")


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    mime_type: str = "application/json"


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: Document | None = None
    request_location: bool = False  # offer a "share my location" button
    location_label: str = ""
    # The rest of an answer's guide: Telegram keeps it behind the "Read the whole guide" button, a terminal
    # (the local chat) prints it straight after the answer.
    rest: str = ""
    # What a button press does to the message the button belonged to (Telegram; the local chat has no such
    # message): "mark" keeps only the pressed button, ticked; "drop" removes the pressed button and keeps the
    # others; "edit" turns that message into this reply (one message per step, e.g. the milestone check-in).
    # Only the first reply of a press decides.
    on_press: str = "mark"

    def __post_init__(self) -> None:
        if self.on_press not in ("mark", "drop", "edit"):
            raise ValueError(f"on_press must be mark, drop or edit, not {self.on_press!r}")


@dataclass(frozen=True)
class Incoming:
    """One thing a user did: a message, a command, a button press or a shared location."""

    user_key: str                        # 'tg:<id>' or 'local:<name>'
    chat_id: int | None = None
    text: str | None = None
    command: str | None = None           # without the slash
    args: str = ""
    callback: str | None = None
    location: tuple[float, float] | None = field(default=None, repr=False)  # never logged
    language_hint: str | None = None     # e.g. Telegram's language_code on first contact
    telegram_user_id: int | None = None  # numeric id, used for curator roles
    # False for a group or channel: personal features are refused there, and the chat is never stored as the
    # place the user's messages go. The Telegram front end always sets it; the local chat is one person.
    private: bool = True


BUTTON_LABEL = 60  # characters of a button label: Telegram shows about this much on a phone before cutting it


def button_label(text: str, limit: int = BUTTON_LABEL) -> str:
    """A label that fits `limit` characters: cut at the last word boundary with an ellipsis, or, in text without
    spaces (Chinese), at a character boundary with an ellipsis. Never cut inside a word or a surrogate pair."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:-–—，、；：") + "…"


def keyboard(*rows: list[Button] | tuple[Button, ...]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(row) for row in rows if row)
