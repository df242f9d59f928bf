"""Text normalisation for speech: numbers, times, dates, money, units and abbreviations written out as words.

Full rules (per-language tables in :mod:`edge.tts.lang_data`) exist for English, German, French, Spanish,
Italian and Portuguese. Any other language that num2words knows gets its plain integers written out;
the rest (decimals, times, ...) is left to the synthesiser, whose espeak-ng front end reads digits itself.
Japanese is left alone too (num2words writes kanji, which espeak-ng cannot read, but it reads digits).

Rules, in the order they run (each one a regex pass; a pass that fails is skipped, so nothing raises):

1. clean-up: NFC, control and format characters removed, fullwidth digits made ASCII, markdown marks dropped;
2. abbreviations ("Dr." -> "Doctor" before a name, "Drive" otherwise; "etc." keeps its sentence end);
3. dates: ISO ``2026-11-25``, ``11/25/2026`` (month first in en-US only, day first elsewhere),
   ``25.11.2026``, and dates with month names ("Nov. 25, 2026", "25. November", "1er mai");
4. times: ``7:05`` / ``7:05 a.m.`` in English, where 24-hour times after noon are read in 12-hour form
   with "PM" ("19:30" -> "seven thirty PM"), "0:00" is "midnight" and a bare "7:00" is "seven o'clock";
   ``7:30 Uhr`` (de), ``7h30`` (fr, pt), ``7:30`` (es, it);
5. money with a symbol or ISO code before or after the amount ($, €, £, ¥, ₹, USD, EUR, GBP, JPY, INR),
   with scale words ("$1.5 million");
6. percentages; 7. ordinals ("21st", "1er", "1.º", "am 3."); 8. English decades ("the 1990s");
9. units after a number ("5 km", "20°C"); 10. years (English after "in", "since", "from", ...;
   German 1100-1999 always, "neunzehnhundert..."); 11. phone-like digit chains (read digit by digit)
   and ranges ("5-10" -> "five to ten", "2020-2025" as years);
12. negative numbers and symbols (& + = @ × #); 13. every remaining number: integers, decimals with the
    language's separator, grouping ("1,000" en, "1.000" de, "1 000" fr); numbers with a leading zero or
    more than 9 ungrouped digits are read digit by digit;
14. leftover emoji and other symbols are removed and whitespace collapsed (line breaks are kept,
    one per break, since :func:`edge.tts.sentences.split_sentences` splits at them).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from num2words import CONVERTER_CLASSES, num2words

from edge.locale_tags import language
from edge.tts.lang_data import LANGS, Lang

__all__ = ["normalize_for_speech", "num2words_lang", "speech_lang"]

_LOG = logging.getLogger(__name__)
_N2W_ALIASES = {"nb": "no", "nn": "no"}
_N2W_SKIP = frozenset({"ja"})  # kanji output that espeak-ng cannot read; it reads digits itself
_KEEP_FORMAT = {"\u200c", "\u200d"}  # ZWNJ/ZWJ carry meaning in Persian and Indic scripts
_TRANSLATE: dict[int, int | str] = {ord(c): ord("0") + i for i, c in enumerate("０１２３４５６７８９")}
_TRANSLATE.update({0x2212: "-", 0x2010: "-", 0x2011: "-", 0x2103: "°C", 0x2109: "°F", 0x02DA: "°"})
_MD = re.compile(r"[*`~_]+|^#+\s+", re.MULTILINE)
_WS = re.compile(r"[^\S\n]+")
_NL = re.compile(r"\s*\n\s*")


# --- language selection ------------------------------------------------------------------------------


def speech_lang(locale: str) -> str:
    """The bare language of a locale tag ("en-US" -> "en", "pt_BR" -> "pt")."""
    return language(locale)


def num2words_lang(locale: str) -> str | None:
    """num2words' code for a locale: "lang_REGION" if it has one, else the language, else None."""
    tag = (locale or "").replace("-", "_").split("_")
    lang = _N2W_ALIASES.get(tag[0].lower(), tag[0].lower())
    if lang in _N2W_SKIP:
        return None
    if len(tag) > 1 and f"{lang}_{tag[1].upper()}" in CONVERTER_CLASSES:
        return f"{lang}_{tag[1].upper()}"
    return lang if lang in CONVERTER_CLASSES else None


# --- number words ------------------------------------------------------------------------------------


class _Speller:
    """Number words for one locale through num2words; falls back to digits, never raises."""

    def __init__(self, locale: str, lang: Lang | None) -> None:
        self.code = num2words_lang(locale)
        self.lang = lang
        self.us = locale.replace("_", "-").lower() == "en-us"  # "one hundred twenty", not "... and twenty"

    def _n2w(self, n: int, to: str = "cardinal") -> str:
        if self.code is None:
            return str(n)
        try:
            words = str(num2words(n, lang=self.code, to=to)).replace(",", "")
        except Exception:  # num2words raises anything from OverflowError to NotImplementedError
            if to != "cardinal":
                return self._n2w(n)
            return str(n) if 0 <= n < 10 else self.digits(str(n))
        return words.replace(" and ", " ") if self.us else words

    def card(self, n: int) -> str:
        if n < 0:
            return f"{self.lang.minus if self.lang else '-'} {self._n2w(-n)}"
        return self._n2w(n)

    def ordinal(self, n: int) -> str:
        return self._n2w(n, "ordinal")

    def year(self, n: int) -> str:
        return self._n2w(n, "year") if self.lang and self.lang.year_form else self._n2w(n)

    def digits(self, s: str) -> str:
        return " ".join(self._n2w(int(c)) if self.code else c for c in s if c.isdigit())

    def noun_form(self, words: str, feminine: bool) -> str:
        """Number words as they stand before a noun ("un euro", "una libra", "ein Euro", "duas horas")."""
        return self.lang.gender(words, feminine) if self.lang else words

    def number(self, text: str) -> str:
        """A written number ("-1,234.5", "3,05", "007") as words, by the language's separators."""
        lang = self.lang
        sign = ""
        if text[:1] in "-−":
            sign, text = (lang.minus if lang else "-") + " ", text[1:]
        if lang is None:
            return sign + (self._n2w(int(text)) if text.isdigit() else text)
        whole, frac = lang.split_number(text)
        if not whole.isdigit() or (frac and not frac.isdigit()):
            return sign + text
        if (len(whole) > 1 and whole.startswith("0")) or (len(whole) > 9 and whole == text):
            words = self.digits(whole)
        else:
            words = self._n2w(int(whole))
        if frac:
            if lang.fraction_digits or frac.startswith("0") or len(frac) > 3:
                words += f" {lang.point} {self.digits(frac)}"
            else:
                words += f" {lang.point} {self._n2w(int(frac))}"
        return sign + words

    def value(self, text: str) -> Decimal | None:
        """The numeric value of a written number, or None."""
        if self.lang is None:
            return None
        whole, frac = self.lang.split_number(text.lstrip("-−"))
        try:
            value = Decimal(f"{whole}.{frac or 0}")
        except InvalidOperation:
            return None
        return -value if text[:1] in "-−" else value


# --- helpers -----------------------------------------------------------------------------------------


def _prev_word(m: re.Match[str]) -> str:
    words = m.string[: m.start()].split()
    return words[-1].lower() if words else ""


def _keeps_end(m: re.Match[str]) -> bool:
    """True when the matched text ended a sentence with its own dot (followed by the end or a capital)."""
    if not m.group(0).endswith("."):
        return False
    rest = m.string[m.end():]
    stripped = rest.lstrip()
    return not stripped or (stripped[0].isupper() and rest[:1].isspace())


def _sub(pattern: re.Pattern[str], fn: Callable[[re.Match[str]], str | None], text: str) -> str:
    """re.sub where ``fn`` may return None to leave a match as it is."""

    def repl(m: re.Match[str]) -> str:
        out = fn(m)
        return m.group(0) if out is None else out

    return pattern.sub(repl, text)


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\r\t\v\f" or ch == " ":
            out.append("\n" if ch in "\n\r\v\f" else " ")
        elif cat[0] == "C" and ch not in _KEEP_FORMAT:
            continue  # control, format, surrogate, private use, unassigned
        else:
            out.append(ch)
    return _MD.sub(" ", "".join(out))


def _finish(text: str) -> str:
    text = "".join(
        ch for ch in text if unicodedata.category(ch) not in ("So", "Sk") and not 0xFE00 <= ord(ch) <= 0xFE0F
    )
    text = _WS.sub(" ", text)
    text = re.sub(r" +([,.;:!?])", r"\1", text)
    return _NL.sub("\n", text).strip()


# --- the rules, one function per pass ---------------------------------------------------------------


class _Normalizer:
    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.lang = LANGS.get(speech_lang(locale))
        self.say = _Speller(locale, self.lang)
        self.num = self.lang.number_re if self.lang else r"[0-9]+"

    @property
    def _lang(self) -> Lang:
        assert self.lang is not None  # the rule passes run only for a language with data
        return self.lang

    def _rule(self, fn: Callable[..., str | None]) -> Callable[[re.Match[str]], str | None]:
        """A language's rule ``fn(speller, match, previous word)`` as a substitution."""
        return lambda m: fn(self.say, m, _prev_word(m))

    def run(self, text: str) -> str:
        passes: list[Callable[[str], str]] = [_clean]
        if self.lang is not None:
            passes += [
                self.abbreviations, self.dates, self.times, self.money, self.percent, self.ordinals,
                self.decades, self.units, self.years, self.chains, self.symbols,
            ]
        if self.say.code is not None:
            passes += [self.split_alnum, self.numbers] if self.lang is not None else [self.numbers]
        for step in passes:
            try:
                text = step(text)
            except Exception:  # a rule that fails on odd input is skipped, never fatal
                _LOG.debug("normalisation pass %s failed on %r", getattr(step, "__name__", step), text[:80])
        return _finish(text)

    # 2. abbreviations
    def abbreviations(self, text: str) -> str:
        for written, spoken, when in self._lang.abbreviations:
            before = r"(?<![\w.])" if written[0].isalnum() else ""
            after = r"(?!\w)" if written[-1].isalnum() else ""
            cond = {"name": r"(?=\s+[A-ZÀ-ÖØ-Þ])", "number": r"(?=\s*[0-9])"}.get(when, "")
            pattern = re.compile(before + re.escape(written).replace(r"\ ", r"\s?") + after + cond)
            keep_end = when == "end"

            def said(m: re.Match[str], s: str = spoken, k: bool = keep_end) -> str:
                return s + "." if k and _keeps_end(m) else s

            text = _sub(pattern, said, text)
        return text

    # 3. dates
    def dates(self, text: str) -> str:
        lang = self._lang

        def numeric(y: str, mo: str, d: str, m: re.Match[str]) -> str | None:
            month, day = int(mo), int(d)
            if not (1 <= month <= 12 and 1 <= day <= 31):
                return None
            return lang.date(self.say, int(y), month, day, _prev_word(m))

        text = _sub(re.compile(r"(?<![\w.,-])([0-9]{4})-([0-9]{2})-([0-9]{2})(?![\w-])"),
                    lambda m: numeric(m[1], m[2], m[3], m), text)
        month_first = self.locale.replace("_", "-").lower() == "en-us"
        text = _sub(re.compile(r"(?<![\w./])([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?![\w/])"),
                    lambda m: numeric(m[3], m[1], m[2], m) if month_first else numeric(m[3], m[2], m[1], m), text)
        if lang.code != "en":
            text = _sub(re.compile(r"(?<![\w.,])([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})(?![\w.])"),
                        lambda m: numeric(m[3], m[2], m[1], m), text)
        for pattern, fn in lang.date_patterns:
            text = _sub(pattern, self._rule(fn), text)
        return text

    # 4. times
    def times(self, text: str) -> str:
        for pattern in self._lang.time_patterns:
            def repl(m: re.Match[str]) -> str | None:
                h, mi = int(m["h"]), int(m.groupdict().get("m") or 0)
                if h > 24 or mi > 59 or (h == 24 and mi):
                    return None
                out = self._lang.time(self.say, h, mi, m.groupdict().get("ampm"))
                return out + "." if _keeps_end(m) else out

            text = _sub(pattern, repl, text)
        return text

    # 5. money
    def money(self, text: str) -> str:
        lang = self._lang
        syms = "|".join(re.escape(s) for s in sorted(lang.currency_symbols, key=len, reverse=True))
        codes = "|".join(lang.currencies)
        scales = "|".join(sorted(lang.scales, key=len, reverse=True))
        scale = rf"(?:\s(?P<scale>{scales})(?!\w))?"
        before = re.compile(rf"(?<![\w.,])(?P<neg>-)?(?:(?P<sym>{syms})|(?P<code>{codes})\s?)\s?(?P<num>{self.num})"
                            + scale + r"(?![0-9])")
        after = re.compile(rf"(?<![\w.,])(?P<neg>-)?(?P<num>{self.num}){scale}"
                           rf"\s?(?:(?P<sym>{syms})|(?P<code>{codes})\b)")
        for pattern in (before, after):
            text = _sub(pattern, self._money, text)
        return text

    def _money(self, m: re.Match[str]) -> str | None:
        lang, say = self._lang, self.say
        iso = m["code"] or lang.currency_symbols[m["sym"]]
        one, many, minor_one, minor_many = lang.currencies[iso]
        fem = iso in lang.feminine_currencies
        neg = f"{lang.minus} " if m["neg"] else ""
        value = say.value(m["num"])
        if value is None:
            return None
        if m["scale"]:
            of, noun = lang.scales.get(m["scale"], ""), many
            if of:
                noun = f"d'{many}" if lang.code == "fr" and many[:1] in "aeiouéèêh" else f"{of} {many}"
            return f"{neg}{say.number(m['num'])} {m['scale']} {noun}"
        whole, frac = lang.split_number(m["num"])
        if frac and (not minor_one or len(frac) > 2):
            return f"{neg}{say.number(m['num'])} {many}"
        major, minor = int(value.copy_abs()), int((value.copy_abs() % 1) * 100)
        parts = []
        if major or not minor:
            parts.append(f"{say.noun_form(say.card(major), fem)} {one if major == 1 else many}")
        if minor:
            parts.append(f"{say.noun_form(say.card(minor), False)} {minor_one if minor == 1 else minor_many}")
        return neg + f" {lang.and_money} ".join(parts)

    # 6. percent
    def percent(self, text: str) -> str:
        pattern = re.compile(rf"(?<![\w.,])(-?{self.num})\s?%")
        return _sub(pattern, lambda m: f"{self.say.number(m[1])} {self._lang.percent}", text)

    # 7. ordinals
    def ordinals(self, text: str) -> str:
        for pattern, fn in self._lang.ordinal_patterns:
            text = _sub(pattern, self._rule(fn), text)
        return text

    # 8. decades ("the 1990s", "the '80s"), before units so that "s" is not read as seconds
    def decades(self, text: str) -> str:
        if self._lang.code != "en":
            return text
        say = self.say

        def decade(m: re.Match[str]) -> str | None:
            if len(m[2]) == 2 and not m[1] and _prev_word(m) not in ("the", "early", "late", "mid", "in", "of"):
                return None  # "10s" may be ten seconds
            words = say.year(int(m[2])) if len(m[2]) == 4 else say.card(int(m[2]))
            return re.sub(r"y$", "ie", words) + "s"

        return _sub(re.compile(r"(?<![\w.,])('?)([0-9]{2}|1[0-9]{3}|20[0-9]{2})(?<=0)'?s\b"), decade, text)

    # 10. years, after units so that "in 1500 ms" stays a duration
    def years(self, text: str) -> str:
        lang, say = self._lang, self.say
        if lang.year_cues:
            cues = "|".join(lang.year_cues)
            text = _sub(re.compile(rf"(?i)\b({cues})\s([0-9]{{4}})(?![\w.,–-]?[0-9])"),
                        lambda m: f"{m[1]} {say.year(int(m[2]))}" if 1000 <= int(m[2]) <= 2999 else None, text)
        if lang.all_years:
            text = _sub(re.compile(r"(?<![\w.,-])(1[1-9][0-9]{2})(?![\w.,–-]?[0-9])"),
                        lambda m: say.year(int(m[1])), text)
        return text

    # 9. units
    def units(self, text: str) -> str:
        lang, say = self._lang, self.say
        symbols = "|".join(re.escape(s) for s in sorted(lang.unit_symbols, key=len, reverse=True))
        pattern = re.compile(rf"(?<![\w.,])(-?{self.num})\s?({symbols})(?![\w/°²³'’])")

        def repl(m: re.Match[str]) -> str | None:
            unit = lang.unit_symbols[m[2]]
            if unit not in lang.units:
                return None
            one, many = lang.units[unit]
            value = say.value(m[1])
            words = say.number(m[1])
            if value is None or value != value.to_integral_value():
                return f"{words} {many}"
            words = say.noun_form(words, unit in lang.feminine_units)
            return f"{words} {one if abs(value) == 1 else many}"

        return _sub(pattern, repl, text)

    # 11. digit chains and ranges
    def chains(self, text: str) -> str:
        say = self.say
        text = _sub(re.compile(r"(?<![\w.,-])([0-9]+(?:-[0-9]+){2,}|[0-9]{3}-[0-9]{4})(?![\w-])"),
                    lambda m: ", ".join(say.digits(g) for g in m[1].split("-")), text)

        def rng(m: re.Match[str]) -> str | None:
            a, b = say.value(m[1]), say.value(m[2])
            if a is None or b is None or a >= b:
                return None
            if len(m[1]) == len(m[2]) == 4 and 1100 <= a < b <= 2099:  # "2020-2025": years
                return f"{say.year(int(a))} {self._lang.to} {say.year(int(b))}"
            return f"{say.number(m[1])} {self._lang.to} {say.number(m[2])}"

        return _sub(re.compile(rf"(?<![\w.,-])({self.num})(?:-|\s?–\s?)({self.num})(?![\w.,-]?[0-9])"), rng, text)

    # 12. negative numbers and symbols
    def symbols(self, text: str) -> str:
        lang = self._lang
        text = re.sub(r"(?<![\w.,)-])-(?=[0-9])", f"{lang.minus} ", text)
        sym = lang.symbols
        text = re.sub(r"(?<=[0-9])\s?\+\s?(?=[0-9])", f" {sym['+']} ", text)
        text = re.sub(r"(?<=[0-9])\s?[×]\s?(?=[0-9])", f" {sym['×']} ", text)
        text = re.sub(r"\s?=\s?", f" {sym['=']} ", text)
        text = re.sub(r"\s?&\s?", f" {sym['&']} ", text)
        text = re.sub(r"(?<=\s)@(?=\s)", sym["@"], text)
        return re.sub(r"(?<![\w&])#\s?(?=[0-9])", f"{sym['#']} ", text)

    # 13. numbers
    def split_alnum(self, text: str) -> str:
        """Space between letters and digits ("MP3" -> "MP 3", "4K" -> "4 K") so numbers can be read."""
        text = re.sub(r"(?<=[^\W\d_])(?=[0-9])", " ", text)
        return re.sub(r"(?<=[0-9])(?=[^\W\d_])", " ", text)

    def numbers(self, text: str) -> str:
        if self.lang is None:  # integers only: decimals and signs are left to the synthesiser
            return _sub(re.compile(r"(?<![\w.,])[0-9]{1,15}(?![\w]|[.,][0-9])"),
                        lambda m: self.say.number(m[0]), text)
        return _sub(re.compile(rf"(?<![0-9])(?:{self.num})(?![0-9])"), lambda m: self.say.number(m[0]), text)


def normalize_for_speech(text: str, locale: str = "en-US") -> str:
    """``text`` with numbers, times, dates, money, units and abbreviations written out for ``locale``.

    Never raises: odd input (empty, control characters, emoji, huge strings) gives a best-effort result.
    """
    if not isinstance(text, str) or not text.strip():
        return ""
    try:
        return _Normalizer(locale if isinstance(locale, str) else "en-US").run(text)
    except Exception:  # last resort: the cleaned text unchanged
        _LOG.debug("normalisation failed for %r", text[:80], exc_info=True)
        return _finish(_clean(text))
