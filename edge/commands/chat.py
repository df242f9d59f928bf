"""`edge chat`: type to the assistant, one turn per line (NLU + the skill router, no audio)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from edge.commands.common import profile_or_exit

__all__ = ["add_parsers", "cmd_chat"]


def _lines() -> Iterator[tuple[int, str | None]]:
    """(line number, text) per stdin line, with a prompt when interactive; text is None if not UTF-8."""
    interactive = sys.stdin.isatty()
    n = 0
    while True:
        if interactive:
            print("you> ", end="", file=sys.stderr, flush=True)
        raw = sys.stdin.buffer.readline()
        if not raw:
            return
        n += 1
        try:
            yield n, raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield n, None


def cmd_chat(args: argparse.Namespace) -> int:
    from edge.assembly import assemble_text

    profile = profile_or_exit(args.profile)
    assistant = assemble_text(profile, args.locale, Path(args.data_dir) if args.data_dir else None)
    nlu, router = assistant.nlu, assistant.router
    failed = 0
    for n, text in _lines():
        if text is None:
            failed += 1
            msg = f"stdin line {n}: not valid UTF-8, skipped (save the text as UTF-8)"
            print(f"edge chat: {msg}", file=sys.stderr, flush=True)
            if args.json:
                print(json.dumps({"line": n, "error": msg}), flush=True)
            continue
        if not text.strip():
            continue
        parse = nlu.parse(text, args.locale)
        reply = router.handle(parse, args.locale)
        if args.json:
            print(json.dumps({"text": text, "parse": parse.to_dict(), "skill": reply.skill, "reply": reply.text,
                              "expects_answer": reply.expects_answer, "state": reply.data.get("state", {})},
                             ensure_ascii=False, default=str), flush=True)
        else:
            print(reply.text, flush=True)
    return 1 if failed else 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="talk to the assistant by typing: one turn per stdin line")
    p.add_argument("--locale", default="en-US", help="language of the turns and replies (default: en-US)")
    p.add_argument("--profile", help="device profile name or path (default: desktop)")
    p.add_argument("--json", action="store_true", help="one JSON object per turn: text, parse, skill, reply...")
    p.add_argument("--data-dir", help="where lists, calendar and settings are kept (default: $XDG_DATA_HOME/edge)")
    p.set_defaults(func=cmd_chat)
