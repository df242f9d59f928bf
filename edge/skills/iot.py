"""iot_*: lights (on, off, dim, brighten, colour), smart plugs, the robot vacuum and the coffee machine.

Devices come from ``services["devices_file"]`` or ``$XDG_CONFIG_HOME/edge/devices.toml``::

    [[device]]
    name = "kitchen light"
    kind = "light"        # light | plug | cleaner | coffee
    room = "kitchen"
    entity_id = "light.kitchen"   # optional: the Home Assistant entity

    [home_assistant]      # optional, off unless enabled
    enabled = true
    url = "http://homeassistant.local:8123"
    token = "..."

Without the file a few demo devices are used. Each device's state (on, brightness, colour) is kept in
the settings; with Home Assistant enabled the change is also sent there.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.nlu.runtime import Parse
from edge.skills.base import Outcome, SkillContext
from edge.skills.helpers import outcome, settings, slot, words

__all__ = ["DEMO_DEVICES", "Device", "HomeAssistantAdapter", "IotSkill", "devices_file", "load_devices"]

log = logging.getLogger(__name__)
KINDS = ("light", "plug", "cleaner", "coffee")


@dataclass(frozen=True)
class Device:
    name: str
    kind: str
    room: str = ""
    entity_id: str = ""


DEMO_DEVICES = (
    Device("living room light", "light", "living room"),
    Device("kitchen light", "light", "kitchen"),
    Device("bedroom light", "light", "bedroom"),
    Device("desk plug", "plug", "office"),
    Device("robot vacuum", "cleaner", "living room"),
    Device("coffee machine", "coffee", "kitchen"),
)
_COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
            "orange": (255, 165, 0), "purple": (128, 0, 128), "pink": (255, 192, 203), "white": (255, 255, 255),
            "warm": (255, 180, 107), "cool": (201, 226, 255)}


def devices_file(ctx: SkillContext) -> Path:
    configured = ctx.services.get("devices_file")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "edge" / "devices.toml"


def load_devices(path: Path) -> tuple[list[Device], dict[str, Any]]:
    """The devices and the ``[home_assistant]`` table of ``path``; the demo devices if it does not exist."""
    if not path.exists():
        return list(DEMO_DEVICES), {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        log.warning("iot: %s unreadable (%s); using the demo devices", path, exc)
        return list(DEMO_DEVICES), {}
    found = []
    for entry in data.get("device", []):
        kind = str(entry.get("kind", "")).lower()
        if not entry.get("name") or kind not in KINDS:
            log.warning("iot: %s: device %r skipped (needs a name and a kind of %s)", path, entry, ", ".join(KINDS))
            continue
        found.append(Device(str(entry["name"]), kind, str(entry.get("room", "")), str(entry.get("entity_id", ""))))
    return found, dict(data.get("home_assistant", {}))


class HomeAssistantError(OSError):
    """A Home Assistant call that was not made, with the one-line reason and what to do."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A service call is never redirected: following one would re-send the token to wherever the answer
    points and turn the POST into a GET that does nothing (urllib copies the Authorization header)."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        raise HomeAssistantError(f"Home Assistant at {req.full_url} answered {code}, a redirect to {newurl}; "
                                 f"not followed (the token is not sent on): set url in devices.toml to the "
                                 f"address it redirects to")


class HomeAssistantAdapter:
    """Home Assistant's REST API (``POST /api/services/<domain>/<service>``). Off unless configured."""

    def __init__(self, url: str, token: str, timeout: float = 3.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects())

    def call(self, domain: str, service: str, data: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{self.url}/api/services/{domain}/{service}", data=json.dumps(data).encode(), method="POST",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with self._opener.open(request, timeout=self.timeout):  # a configured local URL, no redirects
            pass

    def apply(self, device: Device, state: dict[str, Any]) -> None:
        if not device.entity_id:
            return
        domain = device.entity_id.split(".")[0]
        data: dict[str, Any] = {"entity_id": device.entity_id}
        if not state.get("on"):
            self.call(domain, "turn_off", data)
            return
        if device.kind == "light":
            data["brightness_pct"] = state.get("brightness", 100)
            if state.get("color") in _COLOURS:
                data["rgb_color"] = list(_COLOURS[state["color"]])
        self.call(domain, "turn_on", data)


class RefusedAdapter:
    """Stands in for Home Assistant when its token cannot be used: every call fails with ``why``."""

    def __init__(self, why: str) -> None:
        self.why = why

    def apply(self, device: Device, state: dict[str, Any]) -> None:
        raise HomeAssistantError(self.why)


def open_to_others(path: Path) -> bool:
    """True when group or other users may read or write ``path`` (any of its 0o077 permission bits)."""
    try:
        return bool(path.stat().st_mode & 0o077)
    except OSError:
        return False


class IotSkill:
    name = "iot"
    intents = ("iot_cleaning", "iot_coffee", "iot_hue_lightchange", "iot_hue_lightdim", "iot_hue_lightoff",
               "iot_hue_lighton", "iot_hue_lightup", "iot_wemo_off", "iot_wemo_on")
    honest: tuple[str, ...] = ()

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None:
        return None

    def _registry(self, ctx: SkillContext) -> tuple[list[Device], HomeAssistantAdapter | RefusedAdapter | None]:
        path = devices_file(ctx)
        devices, ha = load_devices(path)
        adapter: HomeAssistantAdapter | RefusedAdapter | None = None
        if ha.get("enabled") and ha.get("url") and ha.get("token"):
            if open_to_others(path):
                adapter = RefusedAdapter(f"{path} holds a Home Assistant token and other users can read it; "
                                         f"run: chmod 600 {path}")
            else:
                adapter = HomeAssistantAdapter(str(ha["url"]), str(ha["token"]))
        return devices, ctx.services.get("home_assistant", adapter)

    def _pick(self, devices: list[Device], kind: str, parse: Parse) -> list[Device]:
        of_kind = [d for d in devices if d.kind == kind]
        place = slot(parse, "house_place", "device_type")
        text = " ".join(words(parse.text))
        wanted = place.lower() if place else text
        named = [d for d in of_kind if d.name.lower() in text or (d.room and d.room.lower() in wanted)]
        if named:
            return named
        return of_kind if not place else []

    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome:
        intent = parse.intent or ""
        kind = {"iot_cleaning": "cleaner", "iot_coffee": "coffee", "iot_wemo_on": "plug",
                "iot_wemo_off": "plug"}.get(intent, "light")
        devices, adapter = self._registry(ctx)
        chosen = self._pick(devices, kind, parse)
        if not chosen:
            place = slot(parse, "house_place", "device_type") or ctx.say(f"iot.kind_{kind}")
            return outcome(ctx, self.name, "iot.no_device", place=place)
        saved = settings(ctx)
        changes: dict[str, Any] = {}
        for device in chosen:
            key = f"iot.{device.name}"
            state = dict(saved.get(key, {"on": False, "brightness": 100, "color": "white"}))
            self._change(intent, parse, state)
            if adapter is not None:
                try:
                    adapter.apply(device, state)
                except Exception as exc:  # the device was not changed: neither stored nor confirmed
                    log.warning("iot: Home Assistant call for %s failed: %s", device.name, exc)
                    return outcome(ctx, self.name, "iot.remote_failed", device=device.name, state=changes)
            saved.set(key, state)
            changes[device.name] = state
        if len(chosen) > 1 and len(chosen) == sum(1 for d in devices if d.kind == kind):
            names = ctx.say(f"iot.all_{kind}")
        else:
            names = ctx.say("iot.separator").join(ctx.say("iot.device", name=d.name) for d in chosen)
        first = changes[chosen[0].name]
        reply_key = {"iot_cleaning": "iot.cleaning", "iot_coffee": "iot.coffee", "iot_wemo_on": "iot.on",
                     "iot_wemo_off": "iot.off", "iot_hue_lighton": "iot.on", "iot_hue_lightoff": "iot.off",
                     "iot_hue_lightdim": "iot.brightness", "iot_hue_lightup": "iot.brightness"}.get(intent)
        if intent == "iot_hue_lightchange":
            reply_key = "iot.color" if first.get("color_said") else "iot.brightness"
        return outcome(ctx, self.name, reply_key or "iot.on", device=names, percent=first.get("brightness", 100),
                       color=first.get("color_said", ""), state={"devices": changes})

    @staticmethod
    def _change(intent: str, parse: Parse, state: dict[str, Any]) -> None:
        state.pop("color_said", None)
        if intent in ("iot_hue_lighton", "iot_wemo_on", "iot_cleaning", "iot_coffee"):
            state["on"] = True
        elif intent in ("iot_hue_lightoff", "iot_wemo_off"):
            state["on"] = False
        elif intent == "iot_hue_lightdim":
            state["on"] = True
            state["brightness"] = max(10, int(state.get("brightness", 100)) - 20)
        elif intent == "iot_hue_lightup":
            state["on"] = True
            state["brightness"] = min(100, int(state.get("brightness", 100)) + 20)
        elif intent == "iot_hue_lightchange":
            state["on"] = True
            said = slot(parse, "color_type")
            if said:
                known = next((c for c in _COLOURS if c in said.lower()), None)
                state["color"] = known or said.lower()
                state["color_said"] = said
        if intent == "iot_coffee":
            state["coffee_type"] = slot(parse, "coffee_type") or ""
