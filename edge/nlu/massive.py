"""Read MASSIVE: a folder of `<locale>.jsonl`, our tar.gz, or the official release archive.

`annot_utt` marks slots as `[type : value]`. MASSIVE's annotators sometimes add or drop spaces
around the brackets (always in ja-JP/zh-CN, whose `utt` has no spaces), so spans are located in
`utt` by aligning the non-space characters of both strings, never by counting characters.
"""

from __future__ import annotations

import json
import re
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPLITS = ("train", "dev", "test")
_SLOT = re.compile(r"\[\s*([^\[\]:]+?)\s*:\s*([^\[\]]*?)\s*\]")


class MassiveFormatError(ValueError):
    """A malformed record, reported with its file and line number."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason}")
        self.source, self.line, self.reason = source, line, reason


@dataclass(frozen=True)
class Span:
    """A slot in `utt`: character offsets [start, end) and the text they cover."""

    type: str
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class Example:
    id: str
    locale: str
    partition: str
    scenario: str
    intent: str
    utt: str
    spans: tuple[Span, ...] = field(default=())


def parse_annotation(annot: str, utt: str) -> tuple[Span, ...]:
    """Turn `annot_utt` into spans over `utt`; raises ValueError when they disagree."""
    pieces: list[tuple[str | None, str]] = []  # (slot type or None, text)
    pos = 0
    for m in _SLOT.finditer(annot):
        if not m.group(1).strip():
            raise ValueError(f"a slot without a type in annot_utt {annot!r}")
        pieces.append((None, annot[pos : m.start()]))
        pieces.append((m.group(1).strip(), m.group(2)))
        pos = m.end()
    pieces.append((None, annot[pos:]))
    if any("[" in t or "]" in t for s, t in pieces if s is None):
        raise ValueError(f"unbalanced or malformed brackets in annot_utt {annot!r}")

    # index of every non-space character of utt
    dense = [i for i, ch in enumerate(utt) if not ch.isspace()]
    cursor = 0
    spans: list[Span] = []
    for slot, text in pieces:
        chars = [ch for ch in text if not ch.isspace()]
        for ch in chars:
            if cursor >= len(dense) or utt[dense[cursor]] != ch:
                raise ValueError(f"annot_utt {annot!r} does not match utt {utt!r}")
            cursor += 1
        if slot is not None and chars:
            first = dense[cursor - len(chars)]
            last = dense[cursor - 1] + 1
            spans.append(Span(slot, first, last, utt[first:last]))
    if cursor != len(dense):
        raise ValueError(f"annot_utt {annot!r} does not cover utt {utt!r}")
    return tuple(spans)


def parse_record(record: dict[str, Any], source: str, line: int) -> Example:
    try:
        utt = record["utt"]
        annot = record["annot_utt"]
        ex = Example(
            id=str(record["id"]),
            locale=record["locale"],
            partition=record["partition"],
            scenario=record["scenario"],
            intent=record["intent"],
            utt=utt,
            spans=parse_annotation(annot, utt),
        )
    except KeyError as e:
        raise MassiveFormatError(source, line, f"missing key {e.args[0]!r}") from None
    except (TypeError, AttributeError):
        raise MassiveFormatError(source, line, "a field has the wrong type") from None
    except ValueError as e:
        raise MassiveFormatError(source, line, str(e)) from None
    if ex.partition not in SPLITS:
        raise MassiveFormatError(source, line, f"unknown partition {ex.partition!r}")
    return ex


def iter_jsonl(stream: Iterable[bytes | str], source: str) -> Iterator[Example]:
    for n, raw in enumerate(stream, 1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise MassiveFormatError(source, n, "not valid UTF-8") from None
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as e:
            raise MassiveFormatError(source, n, f"invalid JSON ({e.msg})") from None
        if not isinstance(record, dict):
            raise MassiveFormatError(source, n, "a record must be a JSON object")
        yield parse_record(record, source, n)


def _locale_of(name: str) -> str | None:
    base = Path(name).name
    if not base.endswith(".jsonl") or base.startswith(("_", ".")):
        return None
    return base[: -len(".jsonl")]


def available_locales(path: str | Path) -> list[str]:
    path = Path(path)
    if path.is_dir():
        names = [p.name for p in path.iterdir()]
    else:
        with tarfile.open(path) as tar:
            names = [m.name for m in tar.getmembers() if m.isfile()]
    return sorted({loc for n in names if (loc := _locale_of(n))})


def load_massive(
    path: str | Path,
    locales: Iterable[str] | None = None,
    splits: Iterable[str] | None = None,
) -> list[Example]:
    """All records of the given locales and splits from a folder, tar.gz or official archive."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"MASSIVE data not found at {path}: pass the folder of <locale>.jsonl or the tar.gz")
    wanted_locales = set(locales) if locales else None
    wanted_splits = set(splits) if splits else set(SPLITS)
    out: list[Example] = []

    def keep(exs: Iterator[Example]) -> None:
        out.extend(e for e in exs if e.partition in wanted_splits)

    if path.is_dir() or path.suffix == ".jsonl":
        files = sorted(p for p in path.iterdir() if _locale_of(p.name)) if path.is_dir() else [path]
        if not files:
            raise FileNotFoundError(f"no <locale>.jsonl files in {path}")
        for p in files:
            if wanted_locales is None or _locale_of(p.name) in wanted_locales:
                with p.open("rb") as f:
                    keep(iter_jsonl(f, str(p)))
    else:
        try:
            tar = tarfile.open(path)
        except tarfile.TarError:
            raise MassiveFormatError(str(path), 0, "not a folder, .jsonl or readable tar archive") from None
        try:
            with tar:
                for m in sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name):
                    loc = _locale_of(m.name)
                    if loc and (wanted_locales is None or loc in wanted_locales):
                        member = tar.extractfile(m)
                        assert member is not None
                        keep(iter_jsonl(member, f"{path}!{m.name}"))  # IO[bytes]: lines of bytes
        except (EOFError, OSError, tarfile.TarError, zlib.error) as e:
            raise MassiveFormatError(str(path), 0, f"archive is truncated or corrupt ({e})") from None
    if wanted_locales:
        missing = wanted_locales - {e.locale for e in out}
        if missing:
            raise FileNotFoundError(f"locales not in {path}: {', '.join(sorted(missing))}")
    return out
