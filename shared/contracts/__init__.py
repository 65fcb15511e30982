"""The public contracts of Kinerja's events: the catalog of published event types and their
JSON Schemas (generated into `schemas/` and kept current by a test)."""
