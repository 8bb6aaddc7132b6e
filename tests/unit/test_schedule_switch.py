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



def test_the_weekly_full_refresh_rebuilds_dbt_from_every_raw_row_and_obeys_the_switch():
    from orchestration.defs import schedules
    from orchestration.defs.warehouse import full_refresh_flag

    schedule = schedules.weekly_full_refresh_schedule
    # its default state comes from the switch, as every schedule's (evaluated when the module loads)
    assert schedule.default_status == default_schedule_status()
    assert schedule.cron_schedule == "20 5 * * 0"
    assert full_refresh_flag(schedule.job.tags) == ["--full-refresh"]
    assert full_refresh_flag(schedules.hourly_sync.tags) == []
