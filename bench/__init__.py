"""Benchmarks: every figure is a median of several runs with a baseline measured in the same run."""
