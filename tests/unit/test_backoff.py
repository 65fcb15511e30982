"""The delays between restarts: doubling to a cap, starting over after a long enough run."""

from services.journal.worker_process import WorkerStatus
from shared.backoff import Backoff


def test_delays_double_up_to_the_cap_and_start_over_after_a_long_run() -> None:
    backoff = Backoff(first=1, cap=30, reset_after=60)

    quick = [backoff.after(ran_for=0.5) for _ in range(7)]
    assert quick == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.after(ran_for=60) == 1  # it ran a minute: a crash now and then, not a loop
    assert backoff.after(ran_for=59) == 2


def test_the_worker_status_says_what_the_api_knows_of_its_worker() -> None:
    status = WorkerStatus()
    status.running(41)
    assert status.describe() == {
        "state": "running",
        "pid": 41,
        "restarts": 0,
        "last_exit_code": None,
        "last_exit_at": None,
        "next_start_at": None,
    }

    status.ended(-9, restart_in=2.0)
    described = status.describe()
    assert (described["state"], described["pid"], described["restarts"]) == ("restarting", None, 1)
    assert described["last_exit_code"] == -9
    assert isinstance(described["last_exit_at"], str)
    assert isinstance(described["next_start_at"], str)
    assert described["next_start_at"] > described["last_exit_at"]

    status.running(42)
    status.ended(0, restart_in=None)  # stopped with the service
    assert status.describe()["state"] == "stopped"
    assert status.describe()["restarts"] == 1
