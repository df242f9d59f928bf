"""faster-whisper (CTranslate2, int8 on CPU). Whisper decodes whole windows, so it does not stream:
a stream buffers the utterance (at most ``max_buffer_s``, 30 s = one Whisper window, by default) and decodes
on :meth:`finish`. Put a VAD endpointer in front. Optional partials re-decode the buffer every
``partial_interval_s`` seconds of new audio, which costs a full decode each time (off by default).

Short context: faster-whisper always pads the audio to a 30 s window, so the encoder costs the same
(~640 ms on 2 x86 cores for tiny.en) for a 2 s command as for 30 s of speech. CTranslate2 accepts a
shorter mel input, so for an utterance of up to ``30 - context_pad_s`` seconds we encode only the audio
plus ``context_pad_s`` of silence (~100 ms for a 3 s command) and decode greedily with a token cap
proportional to the audio length. With less than ~5 s of trailing silence Whisper tends to repeat
itself (it expects the window to go on), so the padding defaults to 5 s (and the window to at least
10 s), and any verbatim repetition of the transcript is cut. Word timestamps take faster-whisper's own (30 s) path.

Language identification: with ``locale="auto"`` (a multilingual model) each utterance's language is identified
from the same encoder output that is decoded (one decoder step; faster-whisper's ``detect_language`` over the
first 30 s on the long path), a :class:`~edge.asr.langid.LocaleChooser` maps it to a MASSIVE locale or keeps
the last one when unsure, and the transcript is decoded in that language. Results carry the locale and its
probability.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from edge.asr.base import AsrEngine, AsrResult, Hypothesis, SpeechEvidence, Word, as_mono_float32
from edge.asr.langid import DEFAULT_THRESHOLD, LanguageGuess, LocaleChooser
from edge.asr.languages import language_of
from edge.asr.whisper_load import AUTO, DEFAULT_MULTILINGUAL_MODEL, DEFAULT_WHISPER_MODEL, open_model
from edge.asr.whisper_stream import WhisperStream
from edge.asr.whisper_text import Decoded, compression_ratio, cut_repetition
from edge.audio.resample import TARGET_RATE

__all__ = ["AUTO", "DEFAULT_MULTILINGUAL_MODEL", "DEFAULT_WHISPER_MODEL", "FasterWhisperEngine", "WhisperStream",
           "cut_repetition"]

# Short-context windows are at least this long: a 1 s command in a 6 s window came out as "AS NOT!" where
# 8 s and more gave "Ask not!" (JFK clip), so a command pays ~100 ms of encoder, not ~640 ms.
_MIN_WINDOW_S = 10.0


class FasterWhisperEngine(AsrEngine):
    """Whisper through faster-whisper, int8 on CPU, loaded from a local CTranslate2 model folder only."""

    name = "faster-whisper"
    streaming = False

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        locale: str = "en-US",
        threads: int = 1,
        beam_size: int = 1,
        word_timestamps: bool = False,
        partial_interval_s: float | None = None,
        max_buffer_s: float = 30.0,
        model_id: str | None = None,
        context_pad_s: float | None = 5.0,
        fallback_locale: str = "en-US",
        language_threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        """``model_dir`` None loads the manifest's ``model_id`` (default: Whisper tiny.en for English, Whisper base
        for any other locale and for ``locale="auto"``), verified against its sha256.

        ``locale="auto"``: identify each utterance's language; below ``language_threshold`` the last confident
        locale (at first ``fallback_locale``) is used. ``context_pad_s`` None always uses faster-whisper's full
        30 s window (slower, the reference path).
        """
        auto = locale == AUTO
        self.language = language_of(fallback_locale if auto else locale)
        self.model, self.model_dir, self.model_id = open_model(model_dir, model_id, locale, self.language, threads)
        self.locale = locale
        self.chooser = LocaleChooser(fallback_locale, language_threshold) if auto else None
        self.beam_size = beam_size
        self.word_timestamps = word_timestamps
        self.partial_interval_s = partial_interval_s
        self.max_buffer_s = max_buffer_s
        self.context_pad_s = context_pad_s
        self._prompts: dict[str, list[int]] = {}
        self._tokenizer = self._tokenizer_for(self.language)
        self._prompt = self._prompt_for(self.language)

    def _tokenizer_for(self, language: str) -> Any:
        from faster_whisper.tokenizer import Tokenizer

        return Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe",
                         language=language)

    def _prompt_for(self, language: str) -> list[int]:
        """The decoder prompt that makes Whisper transcribe in ``language`` (without timestamps)."""
        if language not in self._prompts:
            tok = self._tokenizer_for(language)
            self._prompts[language] = [*tok.sot_sequence, tok.no_timestamps]
        return self._prompts[language]

    @property
    def multilingual(self) -> bool:
        return bool(self.model.model.is_multilingual)

    def _ranked(self, encoded: object) -> list[tuple[str, float]]:
        """Whisper's languages for an encoded clip, most probable first: (code, probability)."""
        return [(token[2:-2], float(p)) for token, p in self.model.model.detect_language(encoded)[0]]

    def detect_language(self, samples: np.ndarray, sample_rate: int = TARGET_RATE) -> list[tuple[str, float]]:
        """Every language Whisper knows with its probability for this utterance, most probable first."""
        if not self.multilingual:
            raise ValueError(f"Whisper model {self.model_id} is English-only; it cannot identify languages")
        x = self._prepare(samples, sample_rate)
        if x.size == 0:
            return []
        if self.context_pad_s is not None and x.size / TARGET_RATE <= 30.0 - self.context_pad_s:
            encoded, _ = self._encode_short(x, self.context_pad_s)
            return self._ranked(encoded)
        _, _, ranked = self.model.detect_language(x)
        return [(lang, float(p)) for lang, p in ranked]

    def identify(self, samples: np.ndarray, sample_rate: int = TARGET_RATE,
                 chooser: LocaleChooser | None = None) -> LanguageGuess:
        """The utterance's language mapped to a MASSIVE locale, with its probability (see :class:`LocaleChooser`;
        default: this engine's, or a fresh one falling back to the engine's locale)."""
        chooser = chooser or self.chooser or LocaleChooser(self.locale)
        return chooser.choose(self.detect_language(samples, sample_rate))

    @staticmethod
    def _prepare(samples: np.ndarray, sample_rate: int) -> np.ndarray:
        x = as_mono_float32(samples)
        if sample_rate != TARGET_RATE:
            from edge.audio.resample import resample

            x = resample(x, sample_rate)
        return x

    def stream(self, sample_rate: int = TARGET_RATE) -> WhisperStream:
        return WhisperStream(self, sample_rate)

    def decode(self, samples: np.ndarray, word_timestamps: bool | None = None) -> tuple[str, list[Word]]:
        """Transcribe 16 kHz samples of any length (greedy by default, temperature 0, no VAD)."""
        text, words, _ = self.decode_with_language(samples, word_timestamps)
        return text, words

    def decode_with_language(self, samples: np.ndarray, word_timestamps: bool | None = None,
                             language: str | None = None) -> tuple[str, list[Word], LanguageGuess | None]:
        """:meth:`decode`, and with ``locale="auto"`` the language identified (None otherwise).
        ``language`` (a Whisper code) decodes in that language without identifying it."""
        d = self.decode_full(samples, word_timestamps, language)
        return d.text, d.words, d.guess

    def decode_full(self, samples: np.ndarray, word_timestamps: bool | None = None,
                    language: str | None = None) -> Decoded:
        """:meth:`decode_with_language` with the decoder's :class:`SpeechEvidence` (None for no audio)."""
        words_wanted = self.word_timestamps if word_timestamps is None else word_timestamps
        chooser = None if language else self.chooser
        if samples.size == 0:
            return Decoded("", [], None, None)
        pad = self.context_pad_s
        if not words_wanted and pad is not None and samples.size / TARGET_RATE <= 30.0 - pad:
            encoded, _ = self._encode_short(samples, pad)
            guess = chooser.choose(self._ranked(encoded)) if chooser else None
            language = language_of(guess.locale) if guess else language or self.language
            beams, no_speech = self._generate(encoded, samples.size, self.beam_size, self._prompt_for(language))
            hypotheses = self._hypotheses(beams)
            text, logprob = hypotheses[0].text, hypotheses[0].score
            return Decoded(text, [], guess, SpeechEvidence(no_speech, logprob, compression_ratio(text)),
                           hypotheses if len(hypotheses) > 1 else ())
        guess = None
        language = language or self.language
        if chooser is not None:
            _, _, ranked = self.model.detect_language(samples)
            guess = chooser.choose([(lang, float(p)) for lang, p in ranked])
            language = language_of(guess.locale)
        segments, _ = self.model.transcribe(
            samples,
            language=language,
            beam_size=self.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=not words_wanted,
            word_timestamps=words_wanted,
            vad_filter=False,
        )
        texts: list[str] = []
        words: list[Word] = []
        signals: list[tuple[float, float, int]] = []
        for seg in segments:
            texts.append(seg.text.strip())
            signals.append((float(seg.no_speech_prob), float(seg.avg_logprob), max(1, len(seg.tokens))))
            for w in seg.words or []:
                words.append(Word(w.word.strip(), float(w.start), float(w.end), float(w.probability)))
        text = " ".join(t for t in texts if t)
        evidence = None
        if signals:  # the first window's no-speech probability; log probabilities weighted by token count
            tokens = sum(n for _, _, n in signals)
            evidence = SpeechEvidence(signals[0][0], sum(lp * n for _, lp, n in signals) / tokens,
                                      compression_ratio(text))
        return Decoded(text, words, guess, evidence)

    def _decode_ids(self, encoded: object, n_samples: int, beam_size: int, prompt: list[int] | None = None
                    ) -> list[int]:
        """The text tokens the decoder gives for an encoded short clip of ``n_samples`` samples."""
        return self._generate(encoded, n_samples, beam_size, prompt)[0][0][0]

    def _generate(self, encoded: object, n_samples: int, beam_size: int, prompt: list[int] | None = None
                  ) -> tuple[list[tuple[list[int], float]], float]:
        """For an encoded short clip of ``n_samples`` samples: every transcript the beam ends with (text tokens
        and mean token log probability; one for greedy decoding), best first, and the probability of the
        no-speech token."""
        prompt = prompt or self._prompt
        cap = int(n_samples / TARGET_RATE * 8) + 10  # ~3 words/s of speech is ~4 tokens/s: twice that
        result = self.model.model.generate(
            encoded, [prompt], beam_size=beam_size, num_hypotheses=beam_size, max_length=len(prompt) + cap,
            suppress_blank=True, suppress_tokens=[-1], return_scores=True, return_no_speech_prob=True,
        )[0]
        eot = self._tokenizer.eot
        # a score is the sum of log probabilities over the tokens and the end token, divided by their count
        beams = [([t for t in ids if t < eot], float(score)) for ids, score in zip(result.sequences_ids, result.scores)]
        return beams, float(result.no_speech_prob)

    def _hypotheses(self, beams: list[tuple[list[int], float]]) -> tuple[Hypothesis, ...]:
        """The beam's transcripts as text, best first, each text once."""
        seen: dict[str, Hypothesis] = {}
        for ids, score in beams:
            text = cut_repetition(self._tokenizer.decode(ids).strip())
            seen.setdefault(text, Hypothesis(text, score))
        return tuple(seen.values())

    def _encode_short(self, samples: np.ndarray, pad_s: float, to_cpu: bool = False) -> tuple[object, int]:
        """The encoder output for the audio plus ``pad_s`` of silence (window at least 10 s), and its mel frames."""
        import ctranslate2

        pad_s = max(pad_s, _MIN_WINDOW_S - samples.size / TARGET_RATE)
        padded = np.concatenate([samples, np.zeros(int(pad_s * TARGET_RATE), dtype=np.float32)])
        features = self.model.feature_extractor(padded)[:, :3000]
        if features.shape[-1] % 2:  # the encoder's stride-2 convolution wants an even frame count
            features = features[:, :-1]
        encoded = self.model.model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])), to_cpu=to_cpu
        )
        return encoded, int(features.shape[-1])

    def phrase_scores(self, samples: np.ndarray, texts: list[str], max_prefix_tokens: int = 14,
                      last_prefixes: int | None = None) -> tuple[str, list[float]]:
        """Keyword check of a short clip (up to ~20 s): its greedy transcript and, for each text, how well
        Whisper hears it there: the geometric mean of the text's token probabilities when the decoder is forced
        to say it (CTranslate2's ``align``), after the best word-boundary prefix of the transcript (so words
        before it do not count against it). 0-1; a clear match is ~0.5-0.95, unrelated speech ~0.001.
        ``last_prefixes``: try only the empty prefix and this many of the longest ones (a phrase that ends
        the clip follows all but its last words; each prefix is one more forced decode)."""
        from edge.asr.whisper_keywords import phrase_scores

        return phrase_scores(self, samples, texts, max_prefix_tokens, last_prefixes)

    def transcribe(self, samples: np.ndarray, sample_rate: int = TARGET_RATE) -> AsrResult:
        """A whole recording, any length (not capped like a stream): Whisper walks it in 30 s windows.
        With ``locale="auto"`` the result's locale is the one identified (see :meth:`decode_with_language`)."""
        d = self.decode_full(self._prepare(samples, sample_rate))
        return self.result(d.text, True, d.words, d.guess, d.evidence, d.hypotheses)

    def result(self, text: str, is_final: bool, words: list[Word], guess: LanguageGuess | None,
               evidence: SpeechEvidence | None = None, hypotheses: tuple[Hypothesis, ...] = ()) -> AsrResult:
        if guess is None:
            locale = self.chooser.last if self.chooser else self.locale
            return AsrResult(text, is_final, words, self.name, locale, evidence=evidence, hypotheses=hypotheses)
        return AsrResult(text, is_final, words, self.name, guess.locale, guess.language, guess.probability,
                         evidence, hypotheses)
