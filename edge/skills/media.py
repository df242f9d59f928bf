"""play_* and music_*: local files from a media folder, streamed to the audio sink in the background.

The folder is ``services["media_dir"]``, else ``$XDG_MUSIC_DIR``, else ``~/Music``; WAV and FLAC files in
it (and below) are matched by the words of the artist/song/podcast/audiobook slots against their paths.
Radio needs the internet: an honest answer. Likes, dislikes and player settings (shuffle, repeat) are
kept in the settings.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from pathlib import Path
from typing import Any

from edge.nlu.runtime import Parse
from edge.skills.base import Outcome, SkillContext
from edge.skills.helpers import outcome, settings, slot, words, words_of

__all__ = ["AUDIO_SUFFIXES", "MediaSkill", "Player", "media_dir", "scan"]

log = logging.getLogger(__name__)
AUDIO_SUFFIXES = (".wav", ".flac")
_SLOTS = {
    "play_music": ("song_name", "artist_name", "music_album", "playlist_name", "music_genre", "music_descriptor"),
    "play_podcasts": ("podcast_name", "podcast_descriptor"),
    "play_audiobook": ("audiobook_name", "audiobook_author"),
}
_STOPWORDS = {"the", "a", "an", "my", "some", "by", "of", "music", "song", "songs", "podcast", "audiobook", "play"}


def media_dir(ctx: SkillContext) -> Path:
    """Where local media lives: ``services["media_dir"]``, ``$XDG_MUSIC_DIR`` or ``~/Music``."""
    configured = ctx.services.get("media_dir") or os.environ.get("XDG_MUSIC_DIR")
    return Path(configured).expanduser() if configured else Path.home() / "Music"


def scan(folder: Path) -> list[Path]:
    """The WAV/FLAC files under ``folder``, sorted; none if it is missing or unreadable."""
    try:
        return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    except OSError:
        return []


def _match(files: list[Path], folder: Path, query: str | None) -> list[Path]:
    if not query:
        return files
    wanted = [w for w in words(query) if w not in _STOPWORDS]
    if not wanted:
        return files
    scored = []
    for path in files:
        name = " ".join(words(str(path.relative_to(folder)).replace("_", " ").replace("-", " ")))
        score = sum(1 for w in wanted if w in name)
        if score:
            scored.append((-score, str(path), path))
    return [p for _, _, p in sorted(scored)]


class Player:
    """Streams files to a sink in a background thread; :meth:`stop` ends it at the next block."""

    def __init__(self) -> None:
        self.current: Path | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def playing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def play(self, files: list[Path], sink: Any) -> None:
        self.stop()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(list(files), sink, self._stop), daemon=True,
                                        name="edge-media")
        self._thread.start()

    def _run(self, files: list[Path], sink: Any, stop: threading.Event) -> None:
        from edge.audio.resample import TARGET_RATE
        from edge.audio.source import stream_audio

        for path in files:
            if stop.is_set():
                break
            self.current = path
            try:
                for block in stream_audio(path):
                    if stop.is_set():
                        break
                    sink.write(block, TARGET_RATE)
            except Exception as exc:  # a bad file is skipped, the rest still plays
                log.warning("media: cannot play %s: %s", path, exc)
        if not stop.is_set():
            self.current = None

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self.current = None


class MediaSkill:
    name = "media"
    intents = ("play_music", "play_podcasts", "play_audiobook", "play_radio", "music_query", "music_settings",
               "music_likeness", "music_dislikeness")
    honest = ("play_radio",)

    def __init__(self) -> None:
        self.player = Player()

    def stop_playback(self) -> bool:
        """Stop the music now ("stop" said over it); True if something was playing."""
        playing = self.player.playing
        self.player.stop()
        return playing

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None:
        if parse.intent == "play_radio":
            return self.handle(parse, ctx)
        return None

    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome:
        intent = parse.intent or ""
        if intent == "play_radio":
            return outcome(ctx, self.name, "common.offline", what=ctx.say("dialogue.intent_play_radio"))
        if intent == "music_query":
            if self.player.playing and self.player.current is not None:
                return outcome(ctx, self.name, "media.now_playing", title=self._title(self.player.current))
            return outcome(ctx, self.name, "media.nothing_playing")
        if intent == "music_settings":
            return self._settings(parse, ctx)
        if intent in ("music_likeness", "music_dislikeness"):
            return self._taste(parse, ctx, like=intent == "music_likeness")
        return self._play(parse, ctx)

    @staticmethod
    def _title(path: Path) -> str:
        return path.stem.replace("_", " ")

    def _play(self, parse: Parse, ctx: SkillContext) -> Outcome:
        folder = media_dir(ctx)
        files = scan(folder)
        if not files:
            return outcome(ctx, self.name, "media.empty", folder=str(folder), state={"media_dir": str(folder)})
        query = slot(parse, *_SLOTS.get(parse.intent or "", ()))
        found = _match(files, folder, query)
        if not found:
            return outcome(ctx, self.name, "media.not_found", query=query, folder=str(folder))
        saved = settings(ctx)
        disliked = set(saved.get("media.disliked", []))
        found = [p for p in found if str(p) not in disliked] or found
        if saved.get("media.shuffle", False):
            found = random.sample(found, len(found))
        sink = ctx.services.get("sink")
        if sink is None:
            return outcome(ctx, self.name, "media.no_output")
        self.player.play(found, sink)
        title = self._title(found[0])
        return outcome(ctx, self.name, "media.playing", title=title,
                       state={"playing": str(found[0]), "queued": len(found)})

    def _settings(self, parse: Parse, ctx: SkillContext) -> Outcome:
        text = " ".join(words(parse.text))
        saved = settings(ctx)
        if any(w in text for w in words_of(ctx.locale, "media.stop_words") | words_of("en", "media.stop_words")):
            self.player.stop()
            return outcome(ctx, self.name, "media.stopped", state={"playing": None})
        setting = (slot(parse, "player_setting") or "").lower()
        for name in ("shuffle", "repeat"):
            hits = words_of(ctx.locale, f"media.{name}_words") | {name}
            if any(w in text or w in setting for w in hits):
                off = any(w in text.split() for w in words_of(ctx.locale, "media.off_words") | {"off"})
                saved.set(f"media.{name}", not off)
                key = f"media.{name}_{'off' if off else 'on'}"
                return outcome(ctx, self.name, key, state={name: not off})
        return outcome(ctx, self.name, "media.settings_unknown")

    def _taste(self, parse: Parse, ctx: SkillContext, like: bool) -> Outcome:
        current = self.player.current if self.player.playing else None
        subject = slot(parse, "song_name", "artist_name", "music_genre", "music_album")
        if current is None and subject is None:
            return outcome(ctx, self.name, "media.nothing_playing")
        key = "media.liked" if like else "media.disliked"
        saved = settings(ctx)
        entry = str(current) if current is not None else subject
        remembered = set(saved.get(key, []))
        remembered.add(entry)
        saved.set(key, sorted(remembered))
        if not like and current is not None:
            self.player.stop()
        title = self._title(current) if current is not None else subject
        return outcome(ctx, self.name, f"{key}_reply", title=title, state={key.split(".")[1]: entry})
