"""A successful run that skipped steps says which and why: run tag and engine event."""

from dagster import DagsterEventType, DagsterInstance, Output, asset, materialize

from orchestration.defs.runs import SKIPPED_TAG, report_skipped_steps


@asset(output_required=False)
def upstream():
    if False:  # produces nothing: Dagster skips what depends on it
        yield Output(1)


@asset
def downstream(upstream):
    return upstream


@asset
def independent():
    return 1


def test_skipped_steps_are_tagged_with_their_reason():
    instance = DagsterInstance.ephemeral()
    result = materialize([upstream, downstream], instance=instance)
    assert result.success
    skipped = report_skipped_steps(instance, result.run_id)
    assert skipped == {"downstream": "skipped dependencies: ['upstream.result']"}
    assert instance.get_run_by_id(result.run_id).tags[SKIPPED_TAG] == (
        "downstream (skipped dependencies: ['upstream.result'])"
    )
    engine = instance.all_logs(result.run_id, of_type=DagsterEventType.ENGINE_EVENT)
    assert any("skipped 1 step(s): downstream" in (r.dagster_event.message or "") for r in engine)


def test_a_run_without_skipped_steps_gets_no_tag():
    instance = DagsterInstance.ephemeral()
    result = materialize([independent], instance=instance)
    assert report_skipped_steps(instance, result.run_id) == {}
    assert SKIPPED_TAG not in instance.get_run_by_id(result.run_id).tags
