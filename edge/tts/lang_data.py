"""Per-language tables for :mod:`edge.tts.normalize`: words, months, currencies, units, abbreviations, and the
few grammar rules (times, dates, ordinals, number gender) that differ by language.

Adding a language means adding one :class:`Lang` to :data:`LANGS`; number words themselves come from num2words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

__all__ = ["LANGS", "Lang"]


class Speller(Protocol):
    """What the rules here need from the normaliser's number speller."""

    def card(self, n: int) -> str: ...
    def ordinal(self, n: int) -> str: ...
    def year(self, n: int) -> str: ...
    def noun_form(self, words: str, feminine: bool) -> str: ...


Match = re.Match[str]
DateFn = Callable[[Speller, int | None, int, int, str], str]  # (say, year, month 1-12, day, previous word)
TimeFn = Callable[[Speller, int, int, str | None], str]  # (say, hour, minute, "AM"/"PM"/None)
MatchFn = Callable[[Speller, Match, str], str | None]  # (say, match, previous word); None leaves the match

_POINT_NUMBER = (r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]{1,3}(?:[\u00a0\u202f][0-9]{3})+(?:\.[0-9]+)?"
                 r"|[0-9]+(?:\.[0-9]+)?")
_COMMA_NUMBER = (r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?|[0-9]{1,3}(?:[\u00a0\u202f][0-9]{3})+(?:,[0-9]+)?"
                 r"|[0-9]+(?:[.,][0-9]+)?")
_FR_NUMBER = r"[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+(?:,[0-9]+)?|" + _COMMA_NUMBER
_DOT_GROUPS = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?")

CURRENCY_SYMBOLS = {"US$": "USD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
UNIT_SYMBOLS = {
    "km": "km", "m": "m", "cm": "cm", "mm": "mm", "mi": "mi", "ft": "ft",
    "kg": "kg", "g": "g", "mg": "mg", "lb": "lb", "lbs": "lb", "oz": "oz",
    "l": "l", "L": "l", "ml": "ml", "mL": "ml",
    "°C": "C", "° C": "C", "ºC": "C", "°F": "F", "° F": "F", "ºF": "F", "°": "deg",
    "km/h": "kmh", "kph": "kmh", "mph": "mph", "m/s": "mps",
    "h": "h", "hr": "h", "hrs": "h", "min": "min", "mins": "min", "s": "s", "sec": "s", "secs": "s", "ms": "ms",
    "kB": "kB", "KB": "kB", "MB": "MB", "GB": "GB", "TB": "TB",
    "Hz": "Hz", "kHz": "kHz", "MHz": "MHz", "GHz": "GHz",
    "W": "W", "kW": "kW", "kWh": "kWh", "V": "V", "mAh": "mAh",
    "m²": "m2", "km²": "km2", "m³": "m3",
}


def _units(table: str) -> tuple[dict[str, tuple[str, str]], frozenset[str]]:
    """Parse ``id: singular | plural`` lines; a ``*`` before the id marks a feminine noun."""
    names, feminine = {}, set()
    for line in table.strip().splitlines():
        key, _, words = line.partition(":")
        key = key.strip()
        if key.startswith("*"):
            key = key[1:]
            feminine.add(key)
        one, _, many = words.partition("|")
        names[key] = (one.strip(), (many or one).strip())
    return names, frozenset(feminine)


@dataclass(frozen=True)
class Lang:
    """Everything language-specific that the normaliser needs."""

    code: str
    decimal: str  # "." or ","
    number_re: str  # a written number (no sign)
    point: str
    minus: str
    and_money: str  # "five dollars AND fifty cents"
    to: str  # ranges: "5 TO 10"
    percent: str
    symbols: dict[str, str]  # & + = @ × #
    months: tuple[str, ...]
    currencies: dict[str, tuple[str, str, str, str]]  # ISO code -> (one, many, minor one, minor many)
    date: DateFn
    time: TimeFn
    gender: Callable[[str, bool], str]  # number words before a (feminine) noun
    units_table: str = ""
    feminine_currencies: frozenset[str] = frozenset()
    scales: dict[str, str] = field(default_factory=dict)  # "million" -> "" | "de" (the "of" before the currency)
    abbreviations: tuple[tuple[str, str, str], ...] = ()  # (written, spoken, "" | "name" | "number" | "end")
    date_patterns: tuple[tuple[re.Pattern[str], MatchFn], ...] = ()
    time_patterns: tuple[re.Pattern[str], ...] = ()
    ordinal_patterns: tuple[tuple[re.Pattern[str], MatchFn], ...] = ()
    fraction_digits: bool = True  # read decimals digit by digit ("three point one four") or as a number
    year_form: bool = False  # num2words has a year reading ("nineteen ninety-nine")
    year_cues: tuple[str, ...] = ()  # words after which a 4-digit number is a year
    all_years: bool = False  # every 1100-1999 number is read as a year
    extra_units: dict[str, str] = field(default_factory=dict)

    @property
    def currency_symbols(self) -> dict[str, str]:
        return CURRENCY_SYMBOLS

    @cached_property
    def unit_symbols(self) -> dict[str, str]:
        return {**UNIT_SYMBOLS, **self.extra_units}

    @cached_property
    def units(self) -> dict[str, tuple[str, str]]:
        return _units(self.units_table)[0]

    @cached_property
    def feminine_units(self) -> frozenset[str]:
        return _units(self.units_table)[1]

    def split_number(self, text: str) -> tuple[str, str]:
        """(integer digits, fraction digits) of a written number, grouping removed."""
        t = text.replace("\u00a0", "").replace("\u202f", "")
        if self.decimal == ".":
            whole, _, frac = t.replace(",", "").replace(" ", "").partition(".")
            return whole, frac
        if _DOT_GROUPS.fullmatch(t):
            t = t.replace(".", "")
        t = t.replace(" ", "")
        whole, _, frac = t.partition("," if "," in t else ".")
        return whole, frac


# --- shared grammar helpers ------------------------------------------------------------------------


def _compile(*patterns: str, flags: int = 0) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, flags) for p in patterns)


def _day_ok(m: Match) -> bool:
    return 1 <= int(re.sub(r"\D", "", m["d"]) or 0) <= 31


def _month_index(months: tuple[str, ...], name: str, abbreviations: dict[str, int] | None = None) -> int:
    low = name.lower().rstrip(".")
    for i, month in enumerate(months):
        if month.lower() == low:
            return i + 1
    return (abbreviations or {}).get(low, 0)


def _feminine_o(words: str) -> str:
    return re.sub(r"o\b", "a", words)


def _hour_clock(say: Speller, h: int, m: int, unit: tuple[str, str] | None, sep: str, on_hour: str) -> str:
    """Romance-language clock time: feminine hour, then "e/y" minutes, or the on-the-hour phrase."""
    hour = say.noun_form(say.card(h), True)
    if m:
        return f"{hour}{sep}{say.card(m)}"
    if unit:
        return f"{hour} {unit[0] if h == 1 else unit[1]}"
    return f"{hour} {on_hour}"


_DE_DATIVE = {"am", "vom", "zum", "im", "beim", "dem", "den", "des", "bis", "ab", "seit"}
_DE_ARTICLE = {"der", "die", "das"}


def _de_ordinal(say: Speller, n: int, prev: str) -> str:
    """German ordinal with the ending its context wants: "am dritten", "der dritte", "dritter Oktober"."""
    base = say.ordinal(n)
    if prev in _DE_DATIVE:
        return base + "n"
    return base if prev in _DE_ARTICLE else base + "r"


# --- English ---------------------------------------------------------------------------------------

_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")
_EN_MONTH_ABBR = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
                  "oct": 10, "nov": 11, "dec": 12}
_EN_MONTH_RE = "|".join([*_EN_MONTHS, "Sept", *(a.title() for a in _EN_MONTH_ABBR if a != "sept")])
_AMPM = r"(?P<ampm>[AaPp]\.?\s?[Mm]\b\.?)"


def _en_date(say: Speller, y: int | None, mo: int, d: int, prev: str) -> str:
    return f"{_EN_MONTHS[mo - 1]} {say.ordinal(d)}" + (f", {say.year(y)}" if y else "")


def _en_month_day(say: Speller, m: Match, prev: str) -> str | None:
    if not _day_ok(m):
        return None
    mo = _month_index(_EN_MONTHS, m["mon"], _EN_MONTH_ABBR)
    return _en_date(say, int(m["y"]) if m["y"] else None, mo, int(m["d"]), prev)


def _en_day_month(say: Speller, m: Match, prev: str) -> str | None:
    if not _day_ok(m):
        return None
    mo = _month_index(_EN_MONTHS, m["mon"], _EN_MONTH_ABBR)
    the = "" if prev == "the" else "the "
    return f"{the}{say.ordinal(int(m['d']))} of {_EN_MONTHS[mo - 1]}" + (f", {say.year(int(m['y']))}" if m["y"] else "")


def _en_time(say: Speller, h: int, m: int, ampm: str | None) -> str:
    suffix = None
    if ampm:
        if not 1 <= h <= 12:
            return f"{say.card(h)} {say.card(m)}" if m else say.card(h)
        suffix = "AM" if ampm[0] in "Aa" else "PM"
    elif h in (0, 24) and m == 0:
        return "midnight"
    elif h == 0 or h > 12:
        suffix = "AM" if h == 0 else "PM"
        h = h % 12 or 12
    hour = say.card(h)
    if m == 0:
        return f"{hour} {suffix}" if suffix else f"{hour} o'clock"
    minutes = f"oh {say.card(m)}" if m < 10 else say.card(m)
    return f"{hour} {minutes}" + (f" {suffix}" if suffix else "")


def _en_ordinal(say: Speller, m: Match, prev: str) -> str:
    return say.ordinal(int(m[1]))


EN = Lang(
    code="en", decimal=".", number_re=_POINT_NUMBER, point="point", minus="minus", and_money="and", to="to",
    percent="percent",
    symbols={"&": "and", "+": "plus", "=": "equals", "@": "at", "×": "times", "#": "number"},
    months=_EN_MONTHS,
    currencies={"USD": ("dollar", "dollars", "cent", "cents"), "EUR": ("euro", "euros", "cent", "cents"),
                "GBP": ("pound", "pounds", "penny", "pence"), "JPY": ("yen", "yen", "", ""),
                "INR": ("rupee", "rupees", "paisa", "paise")},
    scales={"thousand": "", "million": "", "billion": "", "trillion": ""},
    date=_en_date, time=_en_time, gender=lambda words, feminine: words,
    units_table="""
        km: kilometer | kilometers
        m: meter | meters
        cm: centimeter | centimeters
        mm: millimeter | millimeters
        mi: mile | miles
        ft: foot | feet
        kg: kilogram | kilograms
        g: gram | grams
        mg: milligram | milligrams
        lb: pound | pounds
        oz: ounce | ounces
        l: liter | liters
        ml: milliliter | milliliters
        C: degree Celsius | degrees Celsius
        F: degree Fahrenheit | degrees Fahrenheit
        deg: degree | degrees
        kmh: kilometer per hour | kilometers per hour
        mph: mile per hour | miles per hour
        mps: meter per second | meters per second
        h: hour | hours
        min: minute | minutes
        s: second | seconds
        ms: millisecond | milliseconds
        kB: kilobyte | kilobytes
        MB: megabyte | megabytes
        GB: gigabyte | gigabytes
        TB: terabyte | terabytes
        Hz: hertz
        kHz: kilohertz
        MHz: megahertz
        GHz: gigahertz
        W: watt | watts
        kW: kilowatt | kilowatts
        kWh: kilowatt hour | kilowatt hours
        V: volt | volts
        mAh: milliamp hour | milliamp hours
        m2: square meter | square meters
        km2: square kilometer | square kilometers
        m3: cubic meter | cubic meters
    """,
    abbreviations=(
        ("Dr.", "Doctor", "name"), ("Dr.", "Drive", "end"), ("Dr", "Doctor", "name"),
        ("Mr.", "Mister", ""), ("Mr", "Mister", "name"), ("Mrs.", "Missus", ""), ("Mrs", "Missus", "name"),
        ("Ms.", "Miz", ""), ("Prof.", "Professor", ""), ("St.", "Saint", "name"), ("St.", "Street", "end"),
        ("Jr.", "Junior", "end"), ("Sr.", "Senior", "end"), ("Mt.", "Mount", ""), ("Ave.", "Avenue", "end"),
        ("Rd.", "Road", "end"), ("etc.", "et cetera", "end"), ("e.g.", "for example", ""),
        ("i.e.", "that is", ""), ("vs.", "versus", ""), ("vs", "versus", ""), ("approx.", "approximately", ""),
        ("No.", "number", "number"), ("no.", "number", "number"), ("Inc.", "Incorporated", "end"),
        ("Ltd.", "Limited", "end"),
    ),
    date_patterns=(
        (re.compile(rf"\b(?P<mon>{_EN_MONTH_RE})\.?\s(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?(?![0-9])"
                    rf"(?:,?\s(?P<y>[0-9]{{4}})(?![0-9]))?"), _en_month_day),
        (re.compile(rf"(?<![\w.,])(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?\s(?:of\s)?(?P<mon>{_EN_MONTH_RE})\b\.?"
                    rf"(?:,?\s(?P<y>[0-9]{{4}})(?![0-9]))?"), _en_day_month),
    ),
    time_patterns=_compile(
        rf"(?<![\w.:,])(?P<h>[0-9]{{1,2}}):(?P<m>[0-9]{{2}})(?!:?[0-9])(?:\s?{_AMPM})?",
        rf"(?<![\w.:,])(?P<h>[0-9]{{1,2}})\s?{_AMPM}",
    ),
    ordinal_patterns=((re.compile(r"(?<![\w.,])([0-9]+)(?:st|nd|rd|th)\b"), _en_ordinal),),
    year_form=True,
    year_cues=("in", "since", "from", "by", "until", "till", "before", "after", "during", "of", "around", "circa",
               "year", "early", "late", "mid", "spring", "summer", "autumn", "fall", "winter"),
)


# --- German ----------------------------------------------------------------------------------------

_DE_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
              "November", "Dezember")


def _de_date(say: Speller, y: int | None, mo: int, d: int, prev: str) -> str:
    return f"{_de_ordinal(say, d, prev)} {_DE_MONTHS[mo - 1]}" + (f" {say.year(y)}" if y else "")


def _de_day_month(say: Speller, m: Match, prev: str) -> str | None:
    if not _day_ok(m):
        return None
    mo = _month_index(_DE_MONTHS, m["mon"], {"jänner": 1})
    return _de_date(say, int(m["y"]) if m["y"] else None, mo, int(m["d"]), prev)


def _de_time(say: Speller, h: int, m: int, ampm: str | None) -> str:
    hour = "ein" if h == 1 else say.card(h)
    return f"{hour} Uhr" + (f" {say.card(m)}" if m else "")


def _de_gender(words: str, feminine: bool) -> str:
    return re.sub(r"eins$", "eine" if feminine else "ein", words)


def _de_article_ordinal(say: Speller, m: Match, prev: str) -> str:
    return f"{m['art']} {_de_ordinal(say, int(m['n']), m['art'].lower())}"


DE = Lang(
    code="de", decimal=",", number_re=_COMMA_NUMBER, point="Komma", minus="minus", and_money="und", to="bis",
    percent="Prozent",
    symbols={"&": "und", "+": "plus", "=": "gleich", "@": "at", "×": "mal", "#": "Nummer"},
    months=_DE_MONTHS,
    currencies={"USD": ("Dollar", "Dollar", "Cent", "Cent"), "EUR": ("Euro", "Euro", "Cent", "Cent"),
                "GBP": ("Pfund", "Pfund", "Penny", "Pence"), "JPY": ("Yen", "Yen", "", ""),
                "INR": ("Rupie", "Rupien", "Paisa", "Paise")},
    feminine_currencies=frozenset({"INR"}),
    scales={"Tausend": "", "Million": "", "Millionen": "", "Milliarde": "", "Milliarden": ""},
    date=_de_date, time=_de_time, gender=_de_gender,
    units_table="""
        km: Kilometer
        m: Meter
        cm: Zentimeter
        mm: Millimeter
        *mi: Meile | Meilen
        ft: Fuß
        kg: Kilogramm
        g: Gramm
        mg: Milligramm
        lb: Pfund
        *oz: Unze | Unzen
        l: Liter
        ml: Milliliter
        C: Grad Celsius
        F: Grad Fahrenheit
        deg: Grad
        kmh: Kilometer pro Stunde
        *mph: Meile pro Stunde | Meilen pro Stunde
        mps: Meter pro Sekunde
        *h: Stunde | Stunden
        *min: Minute | Minuten
        *s: Sekunde | Sekunden
        *ms: Millisekunde | Millisekunden
        kB: Kilobyte
        MB: Megabyte
        GB: Gigabyte
        TB: Terabyte
        Hz: Hertz
        kHz: Kilohertz
        MHz: Megahertz
        GHz: Gigahertz
        W: Watt
        kW: Kilowatt
        *kWh: Kilowattstunde | Kilowattstunden
        V: Volt
        *mAh: Milliamperestunde | Milliamperestunden
        m2: Quadratmeter
        km2: Quadratkilometer
        m3: Kubikmeter
    """,
    abbreviations=(
        ("z. B.", "zum Beispiel", ""), ("d. h.", "das heißt", ""), ("u. a.", "unter anderem", ""),
        ("z. T.", "zum Teil", ""), ("usw.", "und so weiter", "end"), ("bzw.", "beziehungsweise", ""),
        ("Nr.", "Nummer", "number"), ("Dr.", "Doktor", "name"), ("Prof.", "Professor", "name"),
        ("Hr.", "Herr", "name"), ("Fr.", "Frau", "name"), ("ca.", "circa", ""), ("evtl.", "eventuell", ""),
        ("ggf.", "gegebenenfalls", ""), ("inkl.", "inklusive", ""), ("vgl.", "vergleiche", ""),
        ("Str.", "Straße", "end"), ("St.", "Sankt", "name"), ("bspw.", "beispielsweise", ""),
        ("Mio.", "Millionen", ""), ("Mrd.", "Milliarden", ""), ("Tsd.", "Tausend", ""),
    ),
    date_patterns=(
        (re.compile(rf"(?<![\w.,])(?P<d>[0-9]{{1,2}})\.\s?(?P<mon>{'|'.join(_DE_MONTHS)}|Jänner)\b"
                    r"(?:\s(?P<y>[0-9]{4})(?![0-9]))?"), _de_day_month),
    ),
    time_patterns=_compile(
        r"(?<![\w.:,])(?P<h>[0-9]{1,2})[:.](?P<m>[0-9]{2})\s?Uhr\b",
        r"(?<![\w.:,])(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?!:?[0-9])(?:\s?h\b)?",
        r"(?<![\w.:,])(?P<h>[0-9]{1,2})\s?Uhr\b",
    ),
    ordinal_patterns=(
        (re.compile(r"\b(?P<art>[Aa]m|[Vv]om|[Zz]um|[Ii]m|[Bb]eim|[Dd]em|[Dd]en|[Dd]es|[Dd]er|[Dd]ie|[Dd]as)"
                    r"\s(?P<n>[0-9]{1,3})\.(?=\s[^\W\d_])"), _de_article_ordinal),
    ),
    year_form=True,
    all_years=True,
)


# --- Romance languages -----------------------------------------------------------------------------

def _romance_date(months: tuple[str, ...], first: str | None, of: str) -> DateFn:
    """"<day> [de] <month> [de] <year>", with day 1 as ``first`` ("premier") where the language says so."""

    def date(say: Speller, y: int | None, mo: int, d: int, prev: str) -> str:
        day = first if first and d == 1 else say.card(d)
        return f"{day}{of}{months[mo - 1]}" + (f"{of}{say.card(y)}" if y else "")

    return date


def _romance_day_month(months: tuple[str, ...], date: DateFn) -> MatchFn:
    def fn(say: Speller, m: Match, prev: str) -> str | None:
        if not _day_ok(m):
            return None
        mo = _month_index(months, m["mon"])
        return date(say, int(m["y"]) if m["y"] else None, mo, int(re.sub(r"\D", "", m["d"])), prev)

    return fn


def _fr_gender(words: str, feminine: bool) -> str:
    return re.sub(r"\bun$", "une", words) if feminine else words


def _es_gender(words: str, feminine: bool) -> str:
    if feminine:
        return re.sub(r"ientos\b", "ientas", re.sub(r"uno$", "una", words))
    return re.sub(r"uno$", "ún", words) if words.endswith("veintiuno") else re.sub(r"uno$", "un", words)


def _it_gender(words: str, feminine: bool) -> str:
    return re.sub(r"^uno$", "una" if feminine else "un", words)


def _pt_gender(words: str, feminine: bool) -> str:
    if not feminine:
        return words
    words = re.sub(r"entos\b", "entas", words)
    return re.sub(r"\bdois$", "duas", re.sub(r"\bum$", "uma", words))


def _fr_ordinal(say: Speller, m: Match, prev: str) -> str:
    n, suffix = int(m[1]), m["suf"]
    plural = "s" if suffix.endswith("s") else ""
    if n == 1 and suffix in ("er", "ers"):
        return "premier" + plural
    if n == 1:
        return "première" + plural
    if n == 2 and suffix.startswith("nd"):
        return ("seconde" if "e" in suffix else "second") + plural
    return say.ordinal(n) + plural


def _gendered_ordinal(say: Speller, m: Match, prev: str) -> str:
    words = say.ordinal(int(m[1]))
    suffix = m["suf"]
    if suffix in ("ª", "a", "era"):
        return _feminine_o(words)
    if suffix == "er":
        return re.sub(r"(prim|terc)ero$", r"\1er", words)
    return words


_ROMANCE_TIME = r"(?<![\w.:,])(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?!:?[0-9])(?:\s?h\b)?"
_GENDERED_ORDINAL = re.compile(r"(?<![\w.,])([0-9]+)\.?(?P<suf>[ºª])")

_FR_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre")
_FR_DATE = _romance_date(_FR_MONTHS, "premier", " ")

FR = Lang(
    code="fr", decimal=",", number_re=_FR_NUMBER, point="virgule", minus="moins", and_money="et", to="à",
    percent="pour cent",
    symbols={"&": "et", "+": "plus", "=": "égale", "@": "arobase", "×": "fois", "#": "numéro"},
    months=_FR_MONTHS,
    currencies={"USD": ("dollar", "dollars", "cent", "cents"), "EUR": ("euro", "euros", "centime", "centimes"),
                "GBP": ("livre", "livres", "penny", "pence"), "JPY": ("yen", "yens", "", ""),
                "INR": ("roupie", "roupies", "paisa", "paisas")},
    feminine_currencies=frozenset({"GBP", "INR"}),
    scales={"mille": "", "million": "de", "millions": "de", "milliard": "de", "milliards": "de"},
    date=_FR_DATE,
    time=lambda say, h, m, ampm: _hour_clock(say, h, m, ("heure", "heures"), " heures " if h > 1 else " heure ", ""),
    gender=_fr_gender,
    units_table="""
        km: kilomètre | kilomètres
        m: mètre | mètres
        cm: centimètre | centimètres
        mm: millimètre | millimètres
        mi: mile | miles
        ft: pied | pieds
        kg: kilogramme | kilogrammes
        g: gramme | grammes
        mg: milligramme | milligrammes
        *lb: livre | livres
        *oz: once | onces
        l: litre | litres
        ml: millilitre | millilitres
        C: degré Celsius | degrés Celsius
        F: degré Fahrenheit | degrés Fahrenheit
        deg: degré | degrés
        kmh: kilomètre par heure | kilomètres par heure
        mph: mile par heure | miles par heure
        mps: mètre par seconde | mètres par seconde
        *h: heure | heures
        *min: minute | minutes
        *s: seconde | secondes
        *ms: milliseconde | millisecondes
        kB: kilooctet | kilooctets
        MB: mégaoctet | mégaoctets
        GB: gigaoctet | gigaoctets
        TB: téraoctet | téraoctets
        Hz: hertz
        kHz: kilohertz
        MHz: mégahertz
        GHz: gigahertz
        W: watt | watts
        kW: kilowatt | kilowatts
        kWh: kilowattheure | kilowattheures
        V: volt | volts
        mAh: milliampère-heure | milliampères-heures
        m2: mètre carré | mètres carrés
        km2: kilomètre carré | kilomètres carrés
        m3: mètre cube | mètres cubes
    """,
    extra_units={"Mo": "MB", "Go": "GB", "To": "TB", "ko": "kB"},
    abbreviations=(
        ("M.", "Monsieur", "name"), ("MM.", "Messieurs", "name"), ("Mme", "Madame", ""), ("Mmes", "Mesdames", ""),
        ("Mlle", "Mademoiselle", ""), ("Dr", "Docteur", "name"), ("Dr.", "Docteur", "name"),
        ("Pr", "Professeur", "name"), ("etc.", "et cetera", "end"), ("p. ex.", "par exemple", ""),
        ("c.-à-d.", "c'est-à-dire", ""), ("n°", "numéro", "number"), ("N°", "numéro", "number"),
        ("av.", "avenue", ""), ("env.", "environ", ""), ("St", "Saint", "name"), ("Ste", "Sainte", "name"),
    ),
    date_patterns=(
        (re.compile(rf"(?<![\w.,])(?P<d>1er|[0-9]{{1,2}})\s(?P<mon>{'|'.join(_FR_MONTHS)})\b"
                    r"(?:\s(?P<y>[0-9]{4})(?![0-9]))?", re.IGNORECASE), _romance_day_month(_FR_MONTHS, _FR_DATE)),
    ),
    time_patterns=_compile(
        r"(?<![\w.:,])(?P<h>[0-9]{1,2})\s?[hH:]\s?(?P<m>[0-9]{2})(?![0-9:])",
        r"(?<![\w.:,])(?P<h>[0-9]{1,2})\s?h\b",
    ),
    ordinal_patterns=(
        (re.compile(r"(?<![\w.,])([0-9]+)(?P<suf>ers|er|res|re|ères|ère|ndes|nde|nds|nd|èmes|ème|es|e)\b"),
         _fr_ordinal),
    ),
    fraction_digits=False,
)

_ES_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre")
_ES_DATE = _romance_date(_ES_MONTHS, None, " de ")

ES = Lang(
    code="es", decimal=",", number_re=_COMMA_NUMBER, point="coma", minus="menos", and_money="con", to="a",
    percent="por ciento",
    symbols={"&": "y", "+": "más", "=": "igual a", "@": "arroba", "×": "por", "#": "número"},
    months=_ES_MONTHS,
    currencies={"USD": ("dólar", "dólares", "centavo", "centavos"), "EUR": ("euro", "euros", "céntimo", "céntimos"),
                "GBP": ("libra", "libras", "penique", "peniques"), "JPY": ("yen", "yenes", "", ""),
                "INR": ("rupia", "rupias", "paisa", "paisas")},
    feminine_currencies=frozenset({"GBP", "INR"}),
    scales={"mil": "", "millón": "de", "millones": "de"},
    date=_ES_DATE,
    time=lambda say, h, m, ampm: _hour_clock(say, h, m, None, " y ", "en punto"),
    gender=_es_gender,
    units_table="""
        km: kilómetro | kilómetros
        m: metro | metros
        cm: centímetro | centímetros
        mm: milímetro | milímetros
        *mi: milla | millas
        ft: pie | pies
        kg: kilogramo | kilogramos
        g: gramo | gramos
        mg: miligramo | miligramos
        *lb: libra | libras
        *oz: onza | onzas
        l: litro | litros
        ml: mililitro | mililitros
        C: grado Celsius | grados Celsius
        F: grado Fahrenheit | grados Fahrenheit
        deg: grado | grados
        kmh: kilómetro por hora | kilómetros por hora
        *mph: milla por hora | millas por hora
        mps: metro por segundo | metros por segundo
        *h: hora | horas
        min: minuto | minutos
        s: segundo | segundos
        ms: milisegundo | milisegundos
        kB: kilobyte | kilobytes
        MB: megabyte | megabytes
        GB: gigabyte | gigabytes
        TB: terabyte | terabytes
        Hz: hercio | hercios
        kHz: kilohercio | kilohercios
        MHz: megahercio | megahercios
        GHz: gigahercio | gigahercios
        W: vatio | vatios
        kW: kilovatio | kilovatios
        kWh: kilovatio hora | kilovatios hora
        V: voltio | voltios
        mAh: miliamperio hora | miliamperios hora
        m2: metro cuadrado | metros cuadrados
        km2: kilómetro cuadrado | kilómetros cuadrados
        m3: metro cúbico | metros cúbicos
    """,
    abbreviations=(
        ("Sr.", "señor", "name"), ("Sra.", "señora", "name"), ("Srta.", "señorita", "name"),
        ("Dr.", "doctor", "name"), ("Dra.", "doctora", "name"), ("Ud.", "usted", ""), ("Uds.", "ustedes", ""),
        ("etc.", "etcétera", "end"), ("p. ej.", "por ejemplo", ""), ("núm.", "número", "number"),
        ("n.º", "número", "number"), ("nº", "número", "number"), ("aprox.", "aproximadamente", ""),
        ("EE. UU.", "Estados Unidos", "end"), ("Av.", "avenida", ""),
    ),
    date_patterns=(
        (re.compile(rf"(?<![\w.,])(?P<d>[0-9]{{1,2}})\s(?:de\s)?(?P<mon>{'|'.join(_ES_MONTHS)}|setiembre)\b"
                    r"(?:\s(?:de|del)\s(?P<y>[0-9]{4})(?![0-9]))?", re.IGNORECASE),
         _romance_day_month(_ES_MONTHS, _ES_DATE)),
    ),
    time_patterns=_compile(_ROMANCE_TIME),
    ordinal_patterns=(
        (_GENDERED_ORDINAL, _gendered_ordinal),
        (re.compile(r"(?<![\w.,])([0-9]+)(?P<suf>era|er)\b"), _gendered_ordinal),
    ),
    fraction_digits=False,
)

_IT_MONTHS = ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
              "ottobre", "novembre", "dicembre")
_IT_DATE = _romance_date(_IT_MONTHS, "primo", " ")

IT = Lang(
    code="it", decimal=",", number_re=_COMMA_NUMBER, point="virgola", minus="meno", and_money="e", to="a",
    percent="per cento",
    symbols={"&": "e", "+": "più", "=": "uguale a", "@": "chiocciola", "×": "per", "#": "numero"},
    months=_IT_MONTHS,
    currencies={"USD": ("dollaro", "dollari", "centesimo", "centesimi"),
                "EUR": ("euro", "euro", "centesimo", "centesimi"),
                "GBP": ("sterlina", "sterline", "penny", "pence"), "JPY": ("yen", "yen", "", ""),
                "INR": ("rupia", "rupie", "paisa", "paise")},
    feminine_currencies=frozenset({"GBP", "INR"}),
    scales={"mila": "", "milione": "di", "milioni": "di", "miliardo": "di", "miliardi": "di"},
    date=_IT_DATE,
    time=lambda say, h, m, ampm: _hour_clock(say, h, m, None, " e ", "in punto"),
    gender=_it_gender,
    units_table="""
        km: chilometro | chilometri
        m: metro | metri
        cm: centimetro | centimetri
        mm: millimetro | millimetri
        mi: miglio | miglia
        ft: piede | piedi
        kg: chilogrammo | chilogrammi
        g: grammo | grammi
        mg: milligrammo | milligrammi
        *lb: libbra | libbre
        *oz: oncia | once
        l: litro | litri
        ml: millilitro | millilitri
        C: grado Celsius | gradi Celsius
        F: grado Fahrenheit | gradi Fahrenheit
        deg: grado | gradi
        kmh: chilometro orario | chilometri orari
        mph: miglio orario | miglia orarie
        mps: metro al secondo | metri al secondo
        *h: ora | ore
        min: minuto | minuti
        s: secondo | secondi
        ms: millisecondo | millisecondi
        kB: kilobyte
        MB: megabyte
        GB: gigabyte
        TB: terabyte
        Hz: hertz
        kHz: kilohertz
        MHz: megahertz
        GHz: gigahertz
        W: watt
        kW: kilowatt
        kWh: kilowattora
        V: volt
        mAh: milliampereora
        m2: metro quadrato | metri quadrati
        km2: chilometro quadrato | chilometri quadrati
        m3: metro cubo | metri cubi
    """,
    abbreviations=(
        ("Sig.ra", "signora", "name"), ("Sig.na", "signorina", "name"), ("Sig.", "signor", "name"),
        ("Dott.ssa", "dottoressa", "name"), ("Dott.", "dottor", "name"), ("Prof.ssa", "professoressa", "name"),
        ("Prof.", "professor", "name"), ("ecc.", "eccetera", "end"), ("p. es.", "per esempio", ""),
        ("n.", "numero", "number"),
    ),
    date_patterns=(
        (re.compile(rf"(?<![\w.,])(?P<d>1º|1°|[0-9]{{1,2}})\s(?P<mon>{'|'.join(_IT_MONTHS)})\b"
                    r"(?:\s(?P<y>[0-9]{4})(?![0-9]))?", re.IGNORECASE), _romance_day_month(_IT_MONTHS, _IT_DATE)),
    ),
    time_patterns=_compile(_ROMANCE_TIME),
    ordinal_patterns=((_GENDERED_ORDINAL, _gendered_ordinal),),
    fraction_digits=False,
)

_PT_MONTHS = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
              "novembro", "dezembro")
_PT_DATE = _romance_date(_PT_MONTHS, "primeiro", " de ")

PT = Lang(
    code="pt", decimal=",", number_re=_COMMA_NUMBER, point="vírgula", minus="menos", and_money="e", to="a",
    percent="por cento",
    symbols={"&": "e", "+": "mais", "=": "igual a", "@": "arroba", "×": "vezes", "#": "número"},
    months=_PT_MONTHS,
    currencies={"USD": ("dólar", "dólares", "cêntimo", "cêntimos"), "EUR": ("euro", "euros", "cêntimo", "cêntimos"),
                "GBP": ("libra", "libras", "péni", "pence"), "JPY": ("iene", "ienes", "", ""),
                "INR": ("rupia", "rupias", "paisa", "paisas")},
    feminine_currencies=frozenset({"GBP", "INR"}),
    scales={"mil": "", "milhão": "de", "milhões": "de", "bilhão": "de", "bilhões": "de"},
    date=_PT_DATE,
    time=lambda say, h, m, ampm: _hour_clock(say, h, m, ("hora", "horas"), " e ", ""),
    gender=_pt_gender,
    units_table="""
        km: quilómetro | quilómetros
        m: metro | metros
        cm: centímetro | centímetros
        mm: milímetro | milímetros
        *mi: milha | milhas
        ft: pé | pés
        kg: quilograma | quilogramas
        g: grama | gramas
        mg: miligrama | miligramas
        *lb: libra | libras
        *oz: onça | onças
        l: litro | litros
        ml: mililitro | mililitros
        C: grau Celsius | graus Celsius
        F: grau Fahrenheit | graus Fahrenheit
        deg: grau | graus
        kmh: quilómetro por hora | quilómetros por hora
        *mph: milha por hora | milhas por hora
        mps: metro por segundo | metros por segundo
        *h: hora | horas
        min: minuto | minutos
        s: segundo | segundos
        ms: milissegundo | milissegundos
        kB: kilobyte | kilobytes
        MB: megabyte | megabytes
        GB: gigabyte | gigabytes
        TB: terabyte | terabytes
        Hz: hertz
        kHz: quilohertz
        MHz: mega-hertz
        GHz: giga-hertz
        W: watt | watts
        kW: quilowatt | quilowatts
        kWh: quilowatt-hora | quilowatts-hora
        V: volt | volts
        mAh: miliampere-hora | miliamperes-hora
        m2: metro quadrado | metros quadrados
        km2: quilómetro quadrado | quilómetros quadrados
        m3: metro cúbico | metros cúbicos
    """,
    abbreviations=(
        ("Sr.", "senhor", "name"), ("Sra.", "senhora", "name"), ("Dr.", "doutor", "name"),
        ("Dra.", "doutora", "name"), ("etc.", "etcétera", "end"), ("p. ex.", "por exemplo", ""),
        ("n.º", "número", "number"), ("nº", "número", "number"), ("Av.", "avenida", ""),
        ("aprox.", "aproximadamente", ""),
    ),
    date_patterns=(
        (re.compile(rf"(?<![\w.,])(?P<d>1º|[0-9]{{1,2}})\s(?:de\s)?(?P<mon>{'|'.join(_PT_MONTHS)})\b"
                    r"(?:\s(?:de\s)?(?P<y>[0-9]{4})(?![0-9]))?", re.IGNORECASE),
         _romance_day_month(_PT_MONTHS, _PT_DATE)),
    ),
    time_patterns=_compile(_ROMANCE_TIME, r"(?<![\w.:,])(?P<h>[0-9]{1,2})h(?P<m>[0-9]{2})?\b"),
    ordinal_patterns=((_GENDERED_ORDINAL, _gendered_ordinal),),
    fraction_digits=False,
)

LANGS: dict[str, Lang] = {lang.code: lang for lang in (EN, DE, FR, ES, IT, PT)}

