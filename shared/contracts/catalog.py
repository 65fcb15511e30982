"""Every event type Kinerja publishes. Services register their events here, because other
services and outside subscribers read them: the catalog is the published language, owned by
no single service."""

import importlib

from shared.events.registry import EventRegistry

catalog = EventRegistry()

# the modules that register into the catalog, one per publishing service
CONTRACT_MODULES = (
    "shared.contracts.targets",
    "shared.contracts.journal",
    "shared.contracts.appraisal",
    "shared.contracts.notify",
)


def full_catalog() -> EventRegistry:
    """The catalog with every service's events registered."""
    for module in CONTRACT_MODULES:
        importlib.import_module(module)
    return catalog
