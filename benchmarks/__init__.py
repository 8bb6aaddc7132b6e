"""Benchmarks of revloop's pipelines (run as modules: python -m benchmarks.<name>)."""
