"""Tests of memq.strategies and memq.testing, and memq's routing against a reference model."""
