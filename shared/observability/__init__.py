"""Observability kit: structured logs with message context, Prometheus metrics, health probes.

Import from the submodules (`shared.observability.logging`, `.metrics`, `.health`) rather than
from here, so a process that only logs does not pay for importing FastAPI, asyncpg and aiokafka.
"""
