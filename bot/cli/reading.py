"""``digestbot save``, ``saved``, ``read`` and ``cite``: a channel's reading list from the terminal.

``saved CHANNEL --format bibtex|ris|csv`` is the export for reference
managers (Zotero, Mendeley, JabRef import each); ``--output FILE`` writes it
whole or not at all. What chat shows with ``/papers saved`` is the text format.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bot.chat.commands import paper_id_of
from bot.chat.service import Service
from bot.cli.output import CommandError, json_text, out, paper_json
from bot.config import Settings
from bot.model.address import as_address
from bot.model.papers import PaperRecord
from bot.search.lexer import show
from bot.chat.citations import Cited, bibtex, bibtex_file, csv_text, ris
from bot.text.terminal import plain
from bot.text.when import local_day

__all__ = ["FORMATS", "cmd_cite", "cmd_read", "cmd_save", "cmd_saved"]

FORMATS = ("text", "bibtex", "ris", "csv", "json")


def _record(service: Service, paper_id: str) -> PaperRecord:
    record = service.catalog.get(paper_id_of(paper_id))
    if record is None:
        raise CommandError(
            f"No paper with id {show(paper_id)!r}. Find ids with: digestbot search WORDS"
        )
    return record


def cmd_save(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    record = _record(service, args.paper_id)
    address = as_address(args.channel)
    saved = service.reading.save(address, record.id, args.user)
    info = service.channels.info(address)
    zone = info.timezone if info else "UTC"
    out(plain(f"{address}: {saved.line(zone_date=lambda when: local_day(when, zone))}"))
    return 0


def cmd_read(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    record = _record(service, args.paper_id)
    address = as_address(args.channel)
    title, new = service.reading.mark_read(address, record.id, args.user)
    done = "marked read for" if new else "was marked read already by"
    out(plain(f"{address}: “{title}” {done} {args.user}."))
    return 0


def cmd_cite(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    out(bibtex(_record(service, args.paper_id)).rstrip("\n"))
    return 0


def _text(address: str, entries: list[Cited], timezone: str) -> str:
    if not entries:
        return (f"{address}: the reading list is empty. Save a paper with: "
                f"digestbot save {address} ID")
    lines = [f"{address}: {len(entries)} saved, newest first"]
    for n, each in enumerate(entries, start=1):
        record = each.record
        when = local_day(each.saved_at, timezone) if each.saved_at else ""
        read = ", ".join(each.read_by) or "nobody yet"
        lines += [plain(f"{n}. {record.title}"),
                  plain(f"   {record.id} · saved by {each.saved_by} on {when} · read by {read}")]
    return "\n".join(lines)


def cmd_saved(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    address = as_address(args.channel)
    entries = service.reading.entries(address)
    info = service.channels.info(address)
    if info is None and not entries:
        raise CommandError(f"No channel {address} yet. See every channel with: digestbot channels")
    if args.format == "bibtex":
        text = bibtex_file(entries)
    elif args.format == "ris":
        text = ris(entries)
    elif args.format == "csv":
        text = csv_text(entries)
    elif args.format == "json":
        text = json_text([{**paper_json(each.record), "saved_by": each.saved_by,
                           "saved_at": each.saved_at.isoformat() if each.saved_at else None,
                           "read_by": list(each.read_by)} for each in entries]) + "\n"
    else:
        text = _text(str(address), entries, info.timezone if info else "UTC") + "\n"
    if args.output is None:
        out(text.rstrip("\n"))
        return 0
    _write_whole(args.output, text)
    out(f"{address}: {len(entries)} paper{'s' if len(entries) != 1 else ''} written to "
        f"{args.output} ({args.format}).")
    return 0


def _write_whole(path: Path, text: str) -> None:
    """``text`` in ``path``, or the file as it was: written beside it, then renamed."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CommandError(f"No folder {folder} to write {path.name} in.")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
