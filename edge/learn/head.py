"""The custom-intent head: which custom intent, if any, takes an utterance.

:class:`CustomHead` is ridge regression from the centred embedding (plus a bias) to one-hot intents, fit in closed
form over the background's known requests and the custom intents' examples, each custom intent weighted
:data:`HEAD_WEIGHT` times an average known intent. The custom intent with the largest margin over the best known
intent takes the utterance if that margin exceeds its line (:func:`margin_line`): :data:`HEAD_MARGIN` in the
examples' own language, :data:`HEAD_MARGIN_OTHER` in any other (and where the utterance's language is not known);
the layer also requires its ``custom_score`` to reach the calibrated ``fewshot`` threshold.

Both lines are 0.3, chosen on MASSIVE dev (``tools/dev_fewshot.py``, table in docs/learning.md). A lower line in
the examples' language with a higher one elsewhere keeps the overall false capture and buys in-language recall,
but only with in-language false capture, at the same rate as one lower line for all (and char n-gram overlap
with the examples does no better): on the bench, 0.2 / 0.34 gave 88.0% in-language (86.4% with 0.3) for en-US
false capture 0.87% (0.40%), so the lines stay equal until that trade is wanted.
"""

from __future__ import annotations

import numpy as np

from edge.locale_tags import language

__all__ = ["CustomHead", "HEAD_MARGIN", "HEAD_MARGIN_OTHER", "HEAD_RIDGE", "HEAD_WEIGHT", "margin_line"]

# The ridge penalty, a custom intent's weight relative to an average known intent of the background, and the
# margin its score must have over every known intent's: in the examples' language, and in the others.
HEAD_RIDGE = 1.0
HEAD_WEIGHT = 4.0
HEAD_MARGIN = 0.3
HEAD_MARGIN_OTHER = 0.3


def margin_line(utterance_locale: str | None, examples_locale: str | None) -> float:
    """The margin a custom intent whose examples are in ``examples_locale`` needs for an utterance in
    ``utterance_locale``: :data:`HEAD_MARGIN` for the same language, else (or either unknown)
    :data:`HEAD_MARGIN_OTHER`."""
    if utterance_locale and examples_locale and language(utterance_locale) == language(examples_locale):
        return HEAD_MARGIN
    return HEAD_MARGIN_OTHER


class CustomHead:
    """Ridge regression from prepared embeddings (plus a bias) to one-hot intents: the background's known
    intents and the custom ones. The background's part of the normal equations is computed once; a change
    of custom intents only adds their examples' rows and solves a (d + 1)-square system (milliseconds)."""

    def __init__(self, background: np.ndarray, groups: list[np.ndarray]) -> None:
        x = np.hstack([background, np.ones((len(background), 1), dtype=np.float32)]).astype(np.float32)
        self.gram = (x.T @ x).astype(np.float64)  # once per background (float32: a few times faster)
        self.known = np.stack([x[rows].sum(axis=0) for rows in groups], axis=1).astype(np.float64)
        self.per_intent = len(background) / max(1, len(groups))
        self.weights: np.ndarray = np.zeros((x.shape[1], 0))
        self.names: list[str] = []

    def fit(self, examples: dict[str, np.ndarray]) -> None:
        """Refit for custom intents {name: their examples' prepared embeddings}."""
        self.names = list(examples)
        gram = self.gram + HEAD_RIDGE * np.eye(self.gram.shape[0])
        targets = [self.known]
        for name in self.names:
            x = np.hstack([examples[name], np.ones((len(examples[name]), 1), dtype=np.float32)]).astype(np.float64)
            w = HEAD_WEIGHT * self.per_intent / len(x)
            gram = gram + w * (x.T @ x)
            targets.append(w * x.sum(axis=0)[:, None])
        self.weights = np.linalg.solve(gram, np.hstack(targets))

    def margins(self, query: np.ndarray) -> np.ndarray:
        """Each custom intent's score for ``query`` (prepared; or rows of queries) less the best known intent's
        ([len(names)], or [queries, len(names)])."""
        q = np.asarray(query, dtype=np.float64)
        scores = np.concatenate([q, np.ones((*q.shape[:-1], 1))], axis=-1) @ self.weights
        n = len(self.names)
        if not n:
            return np.zeros((*q.shape[:-1], 0), dtype=np.float32)
        return np.asarray(scores[..., -n:] - scores[..., :-n].max(axis=-1, keepdims=True), dtype=np.float32)
