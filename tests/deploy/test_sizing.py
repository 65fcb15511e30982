"""SIZING.md quotes the large-agency render as it is, not as it was."""

from tests.deploy.chart import LARGE_AGENCY, Manifest, summary


def test_the_sizing_note_quotes_the_large_agency_render(large_agency: list[Manifest]) -> None:
    note = (LARGE_AGENCY.parent / "SIZING.md").read_text()
    assert summary(large_agency) in note, "run make k8s-summary and paste it into SIZING.md"
