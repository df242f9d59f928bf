"""Spoken MASSIVE test sets: test utterances read aloud by the Piper voice and espeak-ng voices.

``edge bench spoken-set`` renders every en-US test utterance with Piper and again with one of several
espeak-ng voices (variant, speed and pitch vary from utterance to utterance), and ``--per-locale`` test
utterances of every other MASSIVE locale with espeak-ng. Clips are 16 kHz mono 16-bit WAV files under
``--out`` (outside the repo: ``$XDG_CACHE_HOME/edge/spoken-massive`` by default) with ``manifest.jsonl``,
one row per clip: id, MASSIVE id, locale, text, intent, scenario, slots, voice, path, seconds, snr_db.

Noisy conditions are manifest rows too (``--snr 10``): the same clean file with ``snr_db`` and a noise
recipe (kind and seed); :func:`load_clip` mixes the noise in deterministically when the clip is read, so
a noisy condition costs no disk and is identical on every run.

Building is resumable: a clip's WAV is renamed into place before its manifest row is appended and
flushed, and a restart skips the rows already there (a torn last line is cut off). ``meta.json`` is
written last; it marks a complete set.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.audio.rate import RATE
from edge.bench.results import write_atomic
from edge.cli_errors import CliError

__all__ = [
    "ESPEAK_VARIANTS",
    "Clip",
    "build_spoken_set",
    "default_spoken_dir",
    "load_clip",
    "mix_noise",
    "read_manifest",
    "select",
]

ESPEAK_VARIANTS = ("m1", "m3", "m7", "f2", "f4", "klatt", "m5", "f1")
NOISE_KINDS = ("pink", "brown", "babble")
_VERSION = 1


def default_spoken_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edge" / "spoken-massive"


@dataclass(frozen=True)
class Clip:
    """One manifest row. ``path`` is relative to the set's folder; ``noise`` is None for a clean row."""

    id: str
    massive_id: str
    locale: str
    text: str
    intent: str
    scenario: str
    slots: tuple[tuple[str, str], ...]
    voice: str
    path: str
    seconds: float
    snr_db: float | None = None
    noise: str | None = None
    seed: int = 0

    @property
    def engine(self) -> str:
        return self.voice.split(":", 1)[0]

    @property
    def condition(self) -> str:
        return "clean" if self.snr_db is None else f"{self.snr_db:g} dB"

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["slots"] = [{"type": t, "value": v} for t, v in self.slots]
        return d

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Clip:
        return Clip(
            id=d["id"], massive_id=str(d["massive_id"]), locale=d["locale"], text=d["text"], intent=d["intent"],
            scenario=d["scenario"], slots=tuple((s["type"], s["value"]) for s in d["slots"]), voice=d["voice"],
            path=d["path"], seconds=float(d["seconds"]), snr_db=d.get("snr_db"), noise=d.get("noise"),
            seed=int(d.get("seed", 0)),
        )


# --- noise -------------------------------------------------------------------------------------------


def _colored(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Noise whose power falls as 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / f ** (exponent / 2), n)
    return (x / (np.std(x) + 1e-12)).astype(np.float32)


def mix_noise(clean: np.ndarray, snr_db: float, kind: str, seed: int,
              babble: Sequence[np.ndarray] = ()) -> np.ndarray:
    """``clean`` plus ``kind`` noise at ``snr_db`` (signal power over the speech-active part), peak-limited."""
    rng = np.random.default_rng(seed)
    n = clean.size
    if kind == "babble" and babble:
        noise = np.zeros(n, dtype=np.float32)
        for voice in babble:
            if voice.size == 0:
                continue
            reps = int(np.ceil(n / voice.size)) + 1
            tiled = np.tile(voice, reps)
            start = int(rng.integers(0, voice.size))
            noise += tiled[start : start + n]
    else:
        noise = _colored(n, rng, {"white": 0.0, "pink": 1.0, "brown": 2.0}.get(kind, 1.0))
    frame = 160
    m = n // frame
    if m == 0:
        return clean.copy()
    power = (clean[: m * frame].reshape(m, frame) ** 2).mean(axis=1)
    active = power[power > power.max() * 1e-3]
    p_signal = float(active.mean()) if active.size else float(power.mean())
    p_noise = float((noise**2).mean()) + 1e-12
    noise *= np.sqrt(p_signal / (p_noise * 10 ** (snr_db / 10)))
    mixed = clean + noise
    peak = float(np.abs(mixed).max())
    return (mixed / peak * 0.95 if peak > 0.95 else mixed).astype(np.float32)


def load_clip(root: Path, clip: Clip, babble_pool: Sequence[Clip] = ()) -> np.ndarray:
    """The clip's 16 kHz float32 samples, with its noise mixed in when the row has an SNR."""
    from edge.audio import read_audio

    clean = read_audio(root / clip.path)
    if clip.snr_db is None:
        return clean
    babble: list[np.ndarray] = []
    if clip.noise == "babble" and babble_pool:
        rng = random.Random(clip.seed)
        others = [c for c in rng.sample(list(babble_pool), min(4, len(babble_pool))) if c.massive_id != clip.massive_id]
        babble = [read_audio(root / c.path) for c in others[:3]]
    return mix_noise(clean, clip.snr_db, clip.noise or "pink", clip.seed, babble)


# --- manifest ----------------------------------------------------------------------------------------


def read_manifest(root: Path) -> list[Clip]:
    """Every row of ``root/manifest.jsonl``; a torn last line (an interrupted build) is ignored."""
    path = root / "manifest.jsonl"
    if not path.is_file():
        raise CliError(f"no spoken test set at {root} (manifest.jsonl missing): build one with "
                       f"`edge bench spoken-set --out {root}`")
    clips = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.endswith("\n"):
                break
            try:
                clips.append(Clip.from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                raise CliError(f"{path} line {n} is not a manifest row: rebuild the set with "
                               f"`edge bench spoken-set --out {root}`") from None
    return clips


def select(clips: Sequence[Clip], locales: Sequence[str] | None = None, engines: Sequence[str] | None = None,
           conditions: Sequence[str] | None = None, limit: int | None = None) -> list[Clip]:
    """Clips filtered by locale, TTS engine ("piper", "espeak-ng") and condition ("clean", "10 dB"); with
    ``limit``, at most that many per (locale, engine, condition), spread evenly over the set."""
    picked = [c for c in clips if (not locales or c.locale in locales) and (not engines or c.engine in engines)
              and (not conditions or c.condition in conditions)]
    if not limit:
        return picked
    groups: dict[tuple[str, str, str], list[Clip]] = {}
    for c in picked:
        groups.setdefault((c.locale, c.engine, c.condition), []).append(c)
    out = []
    for group in groups.values():
        step = max(1, len(group) // limit)
        out.extend(group[::step][:limit])
    return out


def _truncate_torn(path: Path) -> set[str]:
    """Ids already in the manifest; cut a torn last line left by an interrupted build."""
    if not path.is_file():
        return set()
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        path.write_bytes(data)
    done = set()
    for line in data.decode("utf-8").splitlines():
        try:
            done.add(json.loads(line)["id"])
        except (ValueError, KeyError):
            continue
    return done


# --- building ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    example: Any
    engine: str  # "piper" or "espeak-ng"
    variant: str
    speed: float
    pitch: int

    @property
    def voice(self) -> str:
        if self.engine == "piper":
            return f"piper:en_US-joe-medium speed={self.speed:.2f}"
        return f"espeak-ng:{self.variant} speed={self.speed:.2f} pitch={self.pitch}"

    @property
    def clip_id(self) -> str:
        return f"{self.example.locale}-{self.engine}-{self.example.id}"


def _jobs(examples_by_locale: dict[str, list[Any]], per_locale: int, en_us: int | None, seed: int) -> list[_Job]:
    rng = random.Random(seed)
    jobs = []
    for locale, examples in sorted(examples_by_locale.items()):
        n = (en_us or len(examples)) if locale == "en-US" else per_locale
        step = max(1, len(examples) // n)
        chosen = examples[::step][:n]
        for i, e in enumerate(chosen):
            if locale == "en-US":
                jobs.append(_Job(e, "piper", "joe", round(rng.uniform(0.9, 1.15), 2), 50))
            jobs.append(_Job(e, "espeak-ng", ESPEAK_VARIANTS[i % len(ESPEAK_VARIANTS)],
                             round(rng.uniform(0.85, 1.25), 2), rng.randint(35, 70)))
    return jobs


class _Voices:
    """The one Piper voice (its speed set per clip) and espeak-ng engines per (locale, variant, speed, pitch)."""

    def __init__(self, threads: int, steady: bool = False) -> None:
        self.threads = threads
        self.steady = steady
        self._piper: Any = None
        self._espeak: dict[tuple[str, str, float, int], Any] = {}
        self._available: frozenset[str] | None = None

    def get(self, job: _Job) -> Any:
        if job.engine == "piper":
            return self._piper_at(job.speed)
        import warnings

        from edge.tts.espeak_engine import EspeakTts, espeak_voice_for, espeak_voices

        key = (job.example.locale, job.variant, job.speed, job.pitch)
        if key not in self._espeak:
            if len(self._espeak) > 64:
                self._espeak.clear()
            if self._available is None:
                self._available = espeak_voices()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a locale without its own voice: the closest one
                base = espeak_voice_for(job.example.locale, self._available)
            self._espeak[key] = EspeakTts(job.example.locale, voice=f"{base}+{job.variant}", speed=job.speed,
                                          pitch=job.pitch)
        return self._espeak[key]

    def _piper_at(self, speed: float) -> Any:
        from piper import SynthesisConfig

        from edge.tts import create_tts

        if self._piper is None:
            self._piper = create_tts("en-US", engine="piper", threads=self.threads)
        noise = 0.0 if self.steady else None  # None: the voice's own noise scales
        self._piper.syn_config = SynthesisConfig(length_scale=self._piper.voice.config.length_scale / speed,
                                                 noise_scale=noise, noise_w_scale=noise)
        return self._piper


def _slots(example: Any) -> list[dict[str, str]]:
    return [{"type": s.type, "value": s.value} for s in example.spans]


def _noise_rows(clean: dict[str, Any], snrs: Sequence[float]) -> Iterator[dict[str, Any]]:
    for snr in snrs:
        seed = int(hashlib.sha256(f"{clean['id']}/{snr}".encode()).hexdigest()[:8], 16)
        row = dict(clean, id=f"{clean['id']}@{snr:g}dB", snr_db=float(snr), noise=NOISE_KINDS[seed % len(NOISE_KINDS)],
                   seed=seed)
        yield row


def build_spoken_set(
    massive: Path,
    out: Path,
    *,
    locales: Sequence[str] | None = None,
    per_locale: int = 200,
    en_us: int | None = None,
    snrs: Sequence[float] = (10.0,),
    threads: int = 2,
    seed: int = 1234,
    progress: Callable[[int, int, str], None] | None = None,
    steady_piper: bool = False,
    split: str = "test",
) -> dict[str, Any]:
    """Render the set into ``out`` (resuming a previous build there): ``en_us`` en-US utterances (None: all)
    with Piper and espeak-ng, ``per_locale`` of every other locale with espeak-ng. Returns meta.json's contents.

    ``steady_piper`` renders Piper without its sampling noise, so the same build gives the same audio every
    time: what a guard with a fixed floor needs (Piper's noise is drawn inside its ONNX graph and cannot be
    seeded). ``split``: the MASSIVE split the utterances come from ("dev" to tune a setting, never the test)."""
    from edge.audio.resample import resample
    from edge.audio.wav import write_wav
    from edge.nlu.massive import available_locales, load_massive

    if not massive.exists():
        raise CliError(f"MASSIVE not found at {massive}: pass --data with the folder holding massive-1.1/")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise CliError(f"cannot write the spoken set to {out} ({exc.strerror or exc}): pass --out with a "
                       f"writable folder") from None
    wanted = list(locales) if locales else available_locales(massive)
    examples_by_locale: dict[str, list[Any]] = {locale: [] for locale in wanted}
    for e in load_massive(massive, wanted, [split]):
        examples_by_locale[e.locale].append(e)
    jobs = _jobs(examples_by_locale, per_locale, en_us, seed)
    manifest = out / "manifest.jsonl"
    done = _truncate_torn(manifest)
    (out / "meta.json").unlink(missing_ok=True)
    voices = _Voices(threads, steady=steady_piper)
    started = time.monotonic()
    failed: list[str] = []
    with manifest.open("a", encoding="utf-8") as f:
        for i, job in enumerate(jobs):
            if progress is not None:
                progress(i, len(jobs), job.example.locale)
            if job.clip_id in done:
                continue
            e = job.example
            try:
                speech = voices.get(job).synthesize(e.utt)
            except Exception as exc:  # one utterance a voice cannot say must not stop a 15,000-clip build
                failed.append(f"{job.clip_id}: {type(exc).__name__}: {exc}")
                continue
            samples = resample(speech.samples, speech.rate) if speech.rate != RATE else speech.samples
            if samples.size < RATE // 10:
                failed.append(f"{job.clip_id}: no audio")
                continue
            lead = np.zeros(RATE // 4, dtype=np.float32)  # a quarter second before and after: VAD padding
            samples = np.concatenate([lead, samples.astype(np.float32), lead])
            rel = Path(e.locale) / job.engine / f"{e.id}.wav"
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            write_wav(tmp, samples, RATE)
            os.replace(tmp, path)
            row = {"id": job.clip_id, "massive_id": e.id, "locale": e.locale, "text": e.utt, "intent": e.intent,
                   "scenario": e.scenario, "slots": _slots(e), "voice": job.voice, "path": str(rel),
                   "seconds": round(samples.size / RATE, 3), "snr_db": None, "noise": None, "seed": 0}
            lines = [row, *(_noise_rows(row, snrs) if e.locale == "en-US" else ())]
            f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines))
            f.flush()
    if progress is not None:
        progress(len(jobs), len(jobs), "")
    clips = read_manifest(out)
    meta = {
        "version": _VERSION, "massive": str(massive), "split": split, "locales": wanted, "per_locale": per_locale,
        "en_us": en_us or "all",
        "snr_db": list(snrs), "seed": seed, "clips": len(clips),
        "clean_clips": sum(c.snr_db is None for c in clips),
        "hours": round(sum(c.seconds for c in clips if c.snr_db is None) / 3600, 2),
        "failed": failed[:50], "failed_count": len(failed), "build_s": round(time.monotonic() - started, 1),
    }
    write_atomic(out / "meta.json", json.dumps(meta, indent=2) + "\n")
    return meta


def add_arguments(p: Any) -> None:
    from edge.bench.common import data_argument

    data_argument(p)
    p.add_argument("--out", type=Path, default=default_spoken_dir(), help="where the set goes (default: %(default)s)")
    p.add_argument("--locales", help="comma-separated MASSIVE locales (default: all 52)")
    p.add_argument("--per-locale", type=int, default=200, help="utterances per locale other than en-US (200)")
    p.add_argument("--en-limit", type=int, default=0,
                   help="en-US utterances (default 0 = all 2,974 test utterances)")
    p.add_argument("--snr", default="10", help="comma-separated SNRs (dB) of the noisy en-US rows ('' = none)")
    p.add_argument("--threads", type=int, default=2, help="Piper threads")
    p.add_argument("--split", choices=("test", "dev", "train"), default="test",
                   help="MASSIVE split of the utterances (default test; dev to tune a setting)")


def run_spoken_set(args: Any) -> int:
    from edge.bench.common import Progress, massive_path

    snrs = [float(s) for s in args.snr.split(",") if s.strip()] if args.snr else []
    locales = [s.strip() for s in args.locales.split(",") if s.strip()] if args.locales else None
    with Progress("spoken-set") as bar:
        meta = build_spoken_set(massive_path(args.data), args.out, locales=locales, per_locale=args.per_locale,
                                en_us=args.en_limit or None, snrs=snrs, threads=args.threads, progress=bar.update,
                                split=args.split)
    print(f"{meta['clips']} rows ({meta['clean_clips']} clips, {meta['hours']} h) in {args.out}; "
          f"{meta['failed_count']} failed", file=sys.stderr)
    return 0
