"""Benchmark suites for gym-superpixel-seg (run with ``python -m benchmarks``)."""
