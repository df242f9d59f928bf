"""qa_maths: spoken arithmetic, evaluated by a tokeniser and a recursive-descent parser (never ``eval``).

Understands digits in every language, English number words from zero to a thousand (with "point" for
decimals), + - * / ^ and parentheses, and operator words in the shipped languages ("plus", "divided by",
"to the power of", "squared", "square root of", "percent of", "mal", "geteilt durch", "fois"...).
"""

from __future__ import annotations

import math
import re

from edge.nlu.runtime import Parse
from edge.skills.base import Outcome, SkillContext
from edge.skills.helpers import lang, outcome

__all__ = ["MathsError", "MathsSkill", "evaluate", "format_number", "tokenize"]

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"hundred": 100, "thousand": 1000}

# Operator phrases of every shipped language -> token. Longer phrases are replaced first.
_PHRASES: dict[str, str] = {
    # en
    "to the power of": "^", "raised to the power of": "^", "raised to": "^", "to the power": "^", "power of": "^",
    "multiplied by": "*", "times": "*", "divided by": "/", "over": "/", "plus": "+", "add": "+", "minus": "-",
    "negative": "-", "squared": "sq", "cubed": "cube", "square root of": "sqrt", "the square root of": "sqrt",
    "root of": "sqrt", "percent of": "%of", "per cent of": "%of", "percent": "%", "per cent": "%",
    # de
    "mal": "*", "geteilt durch": "/", "durch": "/", "hoch": "^", "quadrat": "sq", "zum quadrat": "sq",
    "wurzel aus": "sqrt", "quadratwurzel aus": "sqrt", "die wurzel aus": "sqrt", "prozent von": "%of",
    "prozent": "%", "weniger": "-",
    # fr
    "moins": "-", "fois": "*", "multiplié par": "*", "divisé par": "/", "puissance": "^",
    "à la puissance": "^", "au carré": "sq", "au cube": "cube", "racine carrée de": "sqrt",
    "la racine carrée de": "sqrt", "pour cent de": "%of", "pourcent de": "%of", "pour cent": "%",
    # es
    "más": "+", "mas": "+", "menos": "-", "por": "*", "multiplicado por": "*", "dividido entre": "/",
    "dividido por": "/", "entre": "/", "elevado a": "^", "elevado al": "^", "al cuadrado": "sq",
    "raíz cuadrada de": "sqrt", "la raíz cuadrada de": "sqrt", "por ciento de": "%of", "por ciento": "%",
    # it
    "più": "+", "meno": "-", "per": "*", "moltiplicato per": "*", "diviso": "/", "diviso per": "/",
    "elevato a": "^", "elevato alla": "^", "al quadrato": "sq", "radice quadrata di": "sqrt",
    "la radice quadrata di": "sqrt", "per cento di": "%of", "percento di": "%of",
    # pt
    "mais": "+", "vezes": "*", "dividido": "/", "ao quadrado": "sq", "raiz quadrada de": "sqrt",
    "a raiz quadrada de": "sqrt", "por cento": "%",
    # ja
    "たす": "+", "足す": "+", "プラス": "+", "ひく": "-", "引く": "-", "マイナス": "-", "かける": "*",
    "掛ける": "*", "わる": "/", "割る": "/", "の二乗": "sq", "の平方根": "sqrtpost",
    # hi
    "प्लस": "+", "जोड़": "+", "माइनस": "-", "घटा": "-", "गुणा": "*", "भाग": "/", "का वर्ग": "sq",
}
_FILLER = set(
    # en
    "what what's whats is are calculate compute how much many the equals equal equal to please tell me "
    "answer a an of and does do make makes result by you can could would "
    # de
    "was ist sind wie viel viele berechne rechne ergibt ergeben gleich bitte von aus die der das "
    # fr
    "combien font fait c'est quoi calcule calculez est égal égale le la les de du "
    # es
    "cuánto cuanto cuánta es son calcula qué que el la los de del "
    # it
    "quanto quanta fa fanno calcola che è di il lo "
    # pt
    "quanto é são calcule qual o a os as de do da "
    # ja
    "は いくつ 何 なん ですか ですか? ? を 計算して 計算 いくら "
    # hi
    "कितना कितने होता होते है हैं क्या में से"
    .split()
)
_ASCII_WORD = re.compile(r"^[a-zàâçéèêëîïôûùüÿñæœáíóúãõäöß' ]+$")


class MathsError(ValueError):
    """Why an expression has no answer: "garbage", "div_zero", "not_real", "too_big" or "too_deep"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _decimal_comma(locale: str) -> bool:
    return lang(locale) in ("de", "fr", "es", "it", "pt")


def tokenize(text: str, locale: str = "en") -> list[str | float]:
    """Numbers (floats) and operator tokens (+ - * / ^ ( ) sq cube sqrt % %of) of ``text``."""
    s = text.lower().strip()
    for a, b in (("×", "*"), ("÷", "/"), ("−", "-"), ("–", "-"), ("√", " sqrt "), ("**", "^"), ("＋", "+"),
                 ("？", " "), ("?", " "), ("!", " ")):
        s = s.replace(a, b)
    s = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", s)  # twenty-one
    s = re.sub(r"(?<=\d)\s*x\s*(?=[\d(])", " * ", s)
    s = re.sub(r"%\s*(of|von|de|di)\b", " %of ", s)
    for phrase in sorted(_PHRASES, key=len, reverse=True):
        token = f" {_PHRASES[phrase]} "
        if _ASCII_WORD.match(phrase):
            s = re.sub(rf"(?<![\w']){re.escape(phrase)}(?![\w'])", token, s)
        else:
            s = s.replace(phrase, token)
    s = re.sub(r"([()+*/^%-])(?!of)", r" \1 ", s).replace("% of", "%of").replace("%  of", "%of")
    for filler in ("はいくつですか", "はいくつ", "は何ですか", "はなんですか", "ですか", "いくつ", "は"):
        s = s.replace(filler, " ")
    comma_decimal = _decimal_comma(locale)
    out: list[str | float] = []
    words = s.split()
    i = 0
    while i < len(words):
        w = words[i].strip(".,;:")
        raw = words[i]
        if re.fullmatch(r"\d+(?:[.,]\d+)*", raw.rstrip(".;:")) is not None:
            out.append(_digits(raw.rstrip(".;:"), comma_decimal))
        elif w in ("+", "-", "*", "/", "^", "(", ")", "sq", "cube", "sqrt", "sqrtpost", "%", "%of"):
            out.append(w)
        elif w in _UNITS or w in _TENS or w in _SCALES:
            value, i = _number_words(words, i)
            out.append(value)
            continue
        elif w and w not in _FILLER:
            raise MathsError("garbage")
        i += 1
    return out


def _digits(raw: str, comma_decimal: bool) -> float:
    if comma_decimal:
        if "," in raw:
            return float(raw.replace(".", "").replace(",", "."))
        return float(raw)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        return float(raw.replace(",", ""))
    if raw.count(",") == 1 and "." not in raw:  # "3,5" said by someone who uses a decimal comma
        return float(raw.replace(",", "."))
    try:
        return float(raw)
    except ValueError:
        raise MathsError("garbage") from None


def _number_words(words: list[str], i: int) -> tuple[float, int]:
    """An English number said in words from ``words[i]``: (value, index after it)."""
    total = current = 0
    while i < len(words):
        w = words[i].strip(".,;:")
        if w in _UNITS:
            current += _UNITS[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w == "hundred":
            current = (current or 1) * 100
        elif w == "thousand":
            total += (current or 1) * 1000
            current = 0
        elif w == "and" and i + 1 < len(words) and (words[i + 1] in _UNITS or words[i + 1] in _TENS):
            pass
        elif w == "point" and i + 1 < len(words) and words[i + 1] in _UNITS:
            digits = ""
            i += 1
            while i < len(words) and words[i] in _UNITS and _UNITS[words[i]] < 10:
                digits += str(_UNITS[words[i]])
                i += 1
            return float(f"{total + current}.{digits}"), i
        else:
            break
        i += 1
    return float(total + current), i


MAX_NESTING = 50  # brackets, signs and roots inside one another; deeper input is refused, not recursed into


class _Parser:
    def __init__(self, tokens: list[str | float]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> str | float | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str | float | None:
        token = self.peek()
        self.i += 1
        return token

    def parse(self) -> float:
        if not self.tokens:
            raise MathsError("garbage")
        value = self.expr()
        if self.peek() is not None:
            raise MathsError("garbage")
        return value

    def expr(self) -> float:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.term()
            value = value + right if op == "+" else value - right
        return value

    def term(self) -> float:
        value = self.factor()
        while self.peek() in ("*", "/", "%of"):
            op = self.take()
            right = self.factor()
            if op == "*":
                value *= right
            elif op == "%of":
                value = value / 100.0 * right
            else:
                if right == 0:
                    raise MathsError("div_zero")
                value /= right
        return value

    def factor(self) -> float:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise MathsError("too_deep")
        try:
            if self.peek() in ("-", "+"):
                sign = -1.0 if self.take() == "-" else 1.0
                return sign * self.factor()
            base = self.postfix()
            if self.peek() == "^":
                self.take()
                return _power(base, self.factor())
            return base
        finally:
            self.depth -= 1

    def postfix(self) -> float:
        value = self.primary()
        while self.peek() in ("sq", "cube", "%", "sqrtpost"):
            op = self.take()
            if op == "sq":
                value = _power(value, 2.0)
            elif op == "cube":
                value = _power(value, 3.0)
            elif op == "sqrtpost":
                value = _sqrt(value)
            else:
                value /= 100.0
        return value

    def primary(self) -> float:
        token = self.take()
        if isinstance(token, float):
            return token
        if token == "(":
            value = self.expr()
            if self.take() != ")":
                raise MathsError("garbage")
            return value
        if token == "sqrt":
            return _sqrt(self.factor())
        raise MathsError("garbage")


def _sqrt(x: float) -> float:
    if x < 0:
        raise MathsError("not_real")
    return math.sqrt(x)


def _power(base: float, exponent: float) -> float:
    if abs(exponent) > 10000:
        raise MathsError("too_big")
    if base == 0 and exponent < 0:
        raise MathsError("div_zero")
    if base < 0 and exponent != int(exponent):
        raise MathsError("not_real")
    try:
        return math.pow(base, exponent)
    except OverflowError:
        raise MathsError("too_big") from None


def evaluate(text: str, locale: str = "en") -> float:
    """The value of the spoken expression ``text``; :class:`MathsError` says why there is none."""
    value = _Parser(tokenize(text, locale)).parse()
    if math.isinf(value) or math.isnan(value) or abs(value) > 1e15:
        raise MathsError("too_big")
    return value


def format_number(value: float, locale: str = "en") -> str:
    """Up to four decimals, trailing zeros dropped; a decimal comma where the language uses one."""
    if abs(value - round(value)) < 1e-9:
        text = str(int(round(value)))
    else:
        text = f"{value:.4f}".rstrip("0").rstrip(".")
        if text in ("0", "-0"):
            text = f"{value:.4g}"
    return text.replace(".", ",") if _decimal_comma(locale) else text


class MathsSkill:
    name = "maths"
    intents = ("qa_maths",)
    honest: tuple[str, ...] = ()
    # A sum that computes is settled by its words, however unsure the model is ("what is 2 to the power of 10":
    # qa_maths at 0.48, and the router asked "Did you mean to do a calculation?").
    certain_by_text = True

    def handles(self, parse: Parse, locale: str | None = None) -> bool:
        if parse.intent != "qa_maths":
            return False
        try:
            evaluate(parse.text, locale or parse.locale or "en")
        except MathsError:
            return False
        return True

    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome:
        try:
            value = evaluate(parse.text, ctx.locale)
        except MathsError as exc:
            return outcome(ctx, self.name, f"maths.{exc.kind}", state={"error": exc.kind})
        result = format_number(value, ctx.locale)
        return outcome(ctx, self.name, "maths.result", result=result, state={"result": value})

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None:
        return self.handle(parse, ctx)
