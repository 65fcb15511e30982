"""The chart rendered once per session with the default and the large-agency values."""

from pathlib import Path

import pytest

from tests.deploy.chart import LARGE_AGENCY, Manifest, RenderFailed, helm, render
from tests.support.infrastructure import IN_CI


@pytest.fixture(scope="session")
def helm_path() -> Path:
    """Helm, built once from the Go module proxy; without Go a developer's run skips, CI fails."""
    try:
        return helm()
    except RenderFailed as error:
        if IN_CI:
            pytest.fail(f"CI=true and {error}")
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def default_render(helm_path: Path) -> list[Manifest]:
    return render(helm_path=helm_path)


@pytest.fixture(scope="session")
def large_agency(helm_path: Path) -> list[Manifest]:
    return render([LARGE_AGENCY], helm_path=helm_path)


@pytest.fixture(scope="session", params=["default values", "large agency"])
def rendered(
    request: pytest.FixtureRequest, default_render: list[Manifest], large_agency: list[Manifest]
) -> list[Manifest]:
    return default_render if request.param == "default values" else large_agency
