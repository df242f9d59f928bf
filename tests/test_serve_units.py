"""edge.serve's small parts, without models: the bounded event reader, sessions, the priority lock, URIs."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("wyoming", reason="the serve extra is not installed: pip install -e '.[serve]'")

from edge.serve.limits import Limits, ProtocolError, read_event  # noqa: E402
from edge.serve.server import UriError, is_loopback, parse_uri  # noqa: E402
from edge.serve.sessions import SessionStore, session_key  # noqa: E402
from edge.serve.stages import PriorityLock, locale_match  # noqa: E402

_LIMITS = Limits()


def _read(data: bytes, limits: Limits = _LIMITS, eof: bool = True, timeout: float | None = None):
    async def main():
        reader = asyncio.StreamReader(limit=limits.max_header_bytes)
        reader.feed_data(data)
        if eof:
            reader.feed_eof()
        return await read_event(reader, limits, timeout)

    return asyncio.run(main())


def test_reads_a_whole_event_with_data_and_payload() -> None:
    event = _read(b'{"type": "audio-chunk", "data": {"rate": 16000}, "data_length": 13, "payload_length": 4}\n'
                  b'{"width": 2} \x01\x02\x03\x04')
    assert event.type == "audio-chunk" and event.data == {"rate": 16000, "width": 2}
    assert event.payload == b"\x01\x02\x03\x04"
    assert _read(b"") is None  # a clean end


@pytest.mark.parametrize(("data", "code"), [
    (b"garbage\n", "bad_header"),
    (b"[1, 2]\n", "bad_header"),
    (b'{"type": "x", "payload_length": 2147483648}\n', "too_large"),
    (b'{"type": "x", "data_length": 1048576}\n', "too_large"),
    (b'{"type": "x", "payload_length": "9"}\n', "bad_header"),
    (b'{"type": "x", "payload_length": 10}\nshort', "truncated"),
    (b'{"type": "x", "data_length": 3}\n[1]', "bad_header"),
    (b'{"type": "' + b"a" * 10000 + b'"}\n', "too_large"),
])
def test_refuses_what_breaks_the_limits(data: bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        _read(data)
    assert caught.value.code == code


def test_a_partial_event_times_out_as_a_whole() -> None:
    t0 = time.perf_counter()
    with pytest.raises(ProtocolError) as caught:
        _read(b'{"type": "descr', eof=False, timeout=0.3)
    assert caught.value.code == "timeout" and time.perf_counter() - t0 < 1.0


def test_sessions_by_key_expire_and_stay_bounded() -> None:
    now = [0.0]
    store = SessionStore(dict, ttl_s=10, max_sessions=2, clock=lambda: now[0])
    a = store.get("a")
    assert store.get("a") is a
    now[0] = 11
    assert store.get("a") is not a  # expired
    store.get("b")
    store.get("c")
    assert len(store) == 2
    assert session_key({"context": {"conversation_id": "x"}}, "conn:1") == "conversation_id:x"
    assert session_key({"satellite": "kitchen"}, "conn:1") == "satellite:kitchen"
    assert session_key({"context": "junk"}, "conn:1") == "conn:1"


def test_priority_lock_serves_first_sentences_first() -> None:
    lock = PriorityLock()
    order: list[str] = []
    started = threading.Event()

    def holder() -> None:
        with lock.hold(0):
            started.set()
            time.sleep(0.2)

    def waiter(name: str, priority: int, delay: float) -> None:
        time.sleep(delay)
        with lock.hold(priority):
            order.append(name)

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter, args=("rest", 1, 0.02)),
               threading.Thread(target=waiter, args=("first", 0, 0.08))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert started.is_set() and order == ["first", "rest"]


def test_locales_and_uris() -> None:
    offered = ["en-US", "en-GB", "ko-KR"]
    assert locale_match("en_gb", offered) == "en-GB"
    assert locale_match("en", offered, "en-US") == "en-US"
    assert locale_match("ko", offered) == "ko-KR"
    assert locale_match("tlh", offered) is None
    assert locale_match(None, offered, "en-US") == "en-US"
    assert parse_uri("tcp://127.0.0.1:10700") == ("tcp", "127.0.0.1", 10700)
    assert parse_uri("unix:///tmp/e.sock") == ("unix", "/tmp/e.sock", 0)
    for bad in ("http://x:1", "tcp://host", "unix://", "tcp://h:port"):
        with pytest.raises(UriError):
            parse_uri(bad)
    assert is_loopback("localhost") and is_loopback("::1") and not is_loopback("0.0.0.0")


class _Room:
    def __init__(self) -> None:
        self.said: list[str] = []

    def announce(self, text: str, locale: str) -> None:
        self.said.append(text)


def test_announcements_go_to_the_room_that_set_them_else_every_satellite_else_wait() -> None:
    import datetime as dt
    from types import SimpleNamespace

    from edge.serve.announcer import Announcer
    from edge.skills.scheduler import DueItem

    announcer = Announcer(SimpleNamespace(default_locale="en-US"))  # type: ignore[arg-type]
    due = dt.datetime(2026, 12, 5, 7, 0, tzinfo=dt.UTC)
    announcer.note("satellite:kitchen", "de-DE", {"timer_id": 3, "due": "..."})
    announcer.note("satellite:hall", "en-US", {"alarm_id": 3})
    # nobody connected: each waits, and the first satellite to connect hears them all
    announcer._fire(DueItem("timer", 3, due, "5 Minuten"))
    kitchen, hall = _Room(), _Room()
    announcer.join("satellite:kitchen", kitchen)
    assert len(kitchen.said) == 1 and "5 Minuten" in kitchen.said[0]  # in the language it was set in
    announcer.join("satellite:hall", hall)
    assert hall.said == []
    announcer._deliver("satellite:hall", "alarm", "en-US")  # its room: only there
    announcer._deliver("satellite:attic", "reminder", "en-US")  # a room not connected: every satellite
    assert kitchen.said[1:] == ["reminder"] and hall.said == ["alarm", "reminder"]
    announcer.leave("satellite:hall", hall)
    announcer._deliver("satellite:hall", "again", "en-US")
    assert kitchen.said[-1] == "again"


def test_the_room_of_an_alarm_survives_a_restart_of_the_server(tmp_path: Path) -> None:
    import datetime as dt
    from types import SimpleNamespace

    from edge.serve.announcer import Announcer
    from edge.skills.scheduler import DueItem
    from edge.skills.store import Store

    stages: Any = SimpleNamespace(default_locale="en-US")
    before = Announcer(stages)
    before._restore(Store(tmp_path / "edge.db"))
    before.note("satellite:kitchen", "de-DE", {"alarm_id": 7})
    before.note("home-assistant", "en-US", {"timer_id": 2})
    before._store.close()

    store = Store(tmp_path / "edge.db")  # a new server process
    after = Announcer(stages)
    after._restore(store)
    kitchen, hall = _Room(), _Room()
    after.join("satellite:kitchen", kitchen)
    after.join("satellite:hall", hall)
    after.deliver = after._deliver  # type: ignore[method-assign]  # as the event loop would, at once
    after._fire(DueItem("alarm", 7, dt.datetime(2026, 12, 6, 7, 0, tzinfo=dt.UTC), ""))
    assert len(kitchen.said) == 1 and hall.said == []  # in its room, not everywhere
    kept = [r["key"] for r in store.query("SELECT key FROM settings WHERE key LIKE 'announce_room:%'")]
    assert kept == ["announce_room:timer:2"]  # a rung alarm is forgotten; the timer still waits
