"""The Home Assistant client: the token never follows a redirect, and a token file others can read is refused.

Real HTTP servers on loopback (http.server in threads), a real devices.toml, the real skill router.
"""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.audio.sink import NullSink
from edge.nlu.runtime import Parse, Slot
from edge.skills.helpers import settings
from edge.skills.iot import HomeAssistantAdapter, HomeAssistantError
from edge.skills.router import ContextFactory, SkillRouter
from edge.skills.store import Store


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers 200 and keeps every request's path and Authorization header; or, with ``redirect_to`` set on
    the server, answers 302 to it."""

    def _answer(self) -> None:
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        server.seen.append((self.command, self.path, self.headers.get("Authorization")))  # type: ignore[attr-defined]
        target = getattr(server, "redirect_to", None)
        if target:
            self.send_response(302)
            self.send_header("Location", target + self.path)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def servers() -> Iterator[tuple[http.server.HTTPServer, http.server.HTTPServer]]:
    """A configured server that redirects to a second one (another origin: another port)."""
    elsewhere = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    configured = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    for s in (elsewhere, configured):
        s.seen = []  # type: ignore[attr-defined]
        threading.Thread(target=s.serve_forever, daemon=True).start()
    configured.redirect_to = f"http://127.0.0.1:{elsewhere.server_port}"  # type: ignore[attr-defined]
    yield configured, elsewhere
    for s in (elsewhere, configured):
        s.shutdown()
        s.server_close()


def _url(server: http.server.HTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_port}"


def test_the_token_is_not_sent_on_to_where_a_redirect_points(servers: tuple) -> None:
    configured, elsewhere = servers
    adapter = HomeAssistantAdapter(_url(configured), "secret-token")
    with pytest.raises(HomeAssistantError, match="redirect") as err:
        adapter.call("light", "turn_on", {"entity_id": "light.kitchen"})
    assert "\n" not in str(err.value) and "devices.toml" in str(err.value)
    assert configured.seen == [("POST", "/api/services/light/turn_on", "Bearer secret-token")]
    assert elsewhere.seen == []  # nothing, least of all the token, went to the other origin


def test_a_call_without_redirect_reaches_home_assistant(servers: tuple) -> None:
    _, plain = servers
    HomeAssistantAdapter(_url(plain), "secret-token").call("light", "turn_off", {"entity_id": "light.kitchen"})
    assert plain.seen == [("POST", "/api/services/light/turn_off", "Bearer secret-token")]


def _router(tmp_path: Path) -> SkillRouter:
    services = {"store": Store(tmp_path / "edge.db"), "sink": NullSink(), "media_dir": tmp_path / "music",
                "devices_file": tmp_path / "devices.toml"}
    now = dt.datetime(2026, 12, 5, 12, 0)
    return SkillRouter(ContextFactory(tmp_path, services, clock=lambda: now), plugins=False)


def _lights_on(router: SkillRouter) -> str:
    parse = Parse(text="turn on the kitchen light", intent="iot_hue_lighton", scenario="iot", confidence=0.95,
                  slots=[Slot(type="house_place", value="kitchen", start=16, end=23)])
    return router.handle(parse, "en-US").text


def _devices(tmp_path: Path, url: str, mode: int) -> Path:
    path = tmp_path / "devices.toml"
    path.write_text(f'[home_assistant]\nenabled = true\nurl = "{url}"\ntoken = "secret-token"\n\n'
                    '[[device]]\nname = "kitchen light"\nkind = "light"\nroom = "kitchen"\n'
                    'entity_id = "light.kitchen"\n', encoding="utf-8")
    path.chmod(mode)
    return path


def test_a_redirected_call_is_not_confirmed_nor_stored(tmp_path: Path, servers: tuple) -> None:
    configured, elsewhere = servers
    _devices(tmp_path, _url(configured), 0o600)
    router = _router(tmp_path)
    assert _lights_on(router) == "Sorry, I couldn't reach kitchen light through Home Assistant."
    assert elsewhere.seen == []
    assert settings(router.context("en-US")).get("iot.kitchen light") is None  # not stored as on


def test_a_token_file_others_can_read_is_refused_with_the_fix(tmp_path: Path, servers: tuple,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    _, plain = servers
    path = _devices(tmp_path, _url(plain), 0o644)
    router = _router(tmp_path)
    assert "couldn't reach" in _lights_on(router)
    assert plain.seen == []  # the token was not used
    assert f"chmod 600 {path}" in caplog.text
    path.chmod(0o600)
    assert _lights_on(router) == "I turned on the kitchen light."
    assert [(m, p) for m, p, _ in plain.seen] == [("POST", "/api/services/light/turn_on")]
