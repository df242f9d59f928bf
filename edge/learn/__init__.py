"""On-device learning: a turn log, rephrase mining, an exemplar memory over the NLU's sentence embedding,
and custom intents from a few examples. See docs/learning.md.

Entry point for the assistant: :func:`edge.learn.hooks.attach` wraps the NLU engine and the router.
"""
