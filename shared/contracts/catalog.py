"""Every event type Kinerja publishes. Services register their events here, because other
services and outside subscribers read them: the catalog is the published language, owned by
no single service."""

from shared.events.registry import EventRegistry

catalog = EventRegistry()
