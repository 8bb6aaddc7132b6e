"""REVLOOP_SCHEDULES turns the schedules' default state off (issue 21: `make dev` on a laptop)."""

import pytest
from dagster import DefaultScheduleStatus

from orchestration.defs.schedules import default_schedule_status


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (None, DefaultScheduleStatus.RUNNING),
        ("on", DefaultScheduleStatus.RUNNING),
        (" OFF ", DefaultScheduleStatus.STOPPED),
        ("off", DefaultScheduleStatus.STOPPED),
    ],
)
def test_schedules_run_by_default_and_can_start_stopped(value, status):
    env = {} if value is None else {"REVLOOP_SCHEDULES": value}
    assert default_schedule_status(env) == status


def test_a_mistyped_switch_is_an_error_not_a_silent_default():
    with pytest.raises(ValueError, match="REVLOOP_SCHEDULES must be 'on' or 'off', got 'no'"):
        default_schedule_status({"REVLOOP_SCHEDULES": "no"})
