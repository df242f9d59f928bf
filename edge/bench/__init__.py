"""Benchmarks: baselines and evaluation runs."""
