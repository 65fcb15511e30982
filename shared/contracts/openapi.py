"""The OpenAPI document of each service's HTTP API, as its app serves it at `/openapi.json`.

python -m shared.contracts.openapi            # write shared/contracts/openapi/
python -m shared.contracts.openapi --check    # exit 1 when a file is stale

Building an app opens no connection (its database is the lifespan's, never entered here), so
the documents come from the live routes without a running stack.
"""

from pathlib import Path

from shared.config import KinerjaSettings
from shared.contracts import generated
from shared.migrate import service_app, service_names

FOLDER = Path(__file__).parent / "openapi"


def file_name(service: str) -> str:
    return f"{service}.openapi.json"


def generate() -> generated.Documents:
    """File name → OpenAPI document, for every service with an app."""
    settings = KinerjaSettings()
    return {
        file_name(service): service_app(service, settings).openapi() for service in service_names()
    }


if __name__ == "__main__":
    generated.main(generate, FOLDER)
