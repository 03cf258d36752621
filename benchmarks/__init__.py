"""Benchmarks: memq side by side with the real RabbitMQ and other in-process test brokers.

Run everything with `.venv/bin/python -m benchmarks` (or `scripts/bench`); see docs/performance.md.
Speeds are reported as ratios measured in the same run, never asserted in tests.
"""
