"""What the digest tests share: the console channel, an injected clock, papers, and a run that
checks what was sent is what the deliverer returned.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.chat.service import Service
from bot.model.messages import Digest
from bot.model.papers import PaperRecord

__all__ = [
    "GENERAL",
    "START",
    "Clock",
    "paper",
    "run",
    "titles",
]

GENERAL = "console:local/general"
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def paper(n: int, title: str, *, day: date = date(2024, 1, 1), **extra: object) -> PaperRecord:
    return PaperRecord(id=f"2401.{n:05d}", title=title, authors=("Ann Lee", "Bo Li"),
                       abstract=f"{title}. More text.", published=day, **extra)  # type: ignore[arg-type]


def run(service: Service, **kwargs: object) -> Digest | None:
    sent: list[Digest] = []
    digest = service.deliverer.digest(GENERAL, send=sent.append, **kwargs)  # type: ignore[arg-type]
    assert sent == ([digest] if digest else [])
    return digest


def titles(digest: Digest | None) -> list[str]:
    return [item.title for item in digest.items] if digest else []
