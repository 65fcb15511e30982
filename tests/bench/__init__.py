"""Benchmarks of the kit's event store, relay and projection replay against bare baselines.

Run with `python -m tests.bench [--quick] [--only append|replay|memory] [--events N]`;
README.md in this folder says what each case measures.
"""
