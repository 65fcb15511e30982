class ConcurrencyError(RuntimeError):
    """Another writer appended to the stream first; reload it and decide again."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int | None) -> None:
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        actual = "unknown" if actual_version is None else actual_version
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not {expected_version} as expected: "
            "another writer appended first"
        )


class SubjectMismatch(ValueError):
    """All events of a stream concern one subject (the Kafka key that keeps them in order)."""
