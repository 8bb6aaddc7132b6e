"""A crashed run's HubSpot tasks are found with batch association reads (100 contacts a call), not one read
per contact."""

from datetime import date

from hubspot.crm.associations.v4 import BasicApi, BatchApi

from activation.handoff.crm import TaskRequest, create_tasks, find_tasks


def test_tasks_of_150_contacts_are_found_in_two_association_reads(hs_sandbox, monkeypatch):
    hs = hs_sandbox.client()
    contacts = hs_sandbox.emulator.seed(
        "contacts", [{"properties": {"email": f"c{i}@acme.io"}} for i in range(151)]
    )
    requests = [
        TaskRequest(
            "hubspot", c, "77", f"Follow up c{i} (revloop c{i}/1)", "body", date(2026, 6, 1), "standard"
        )
        for i, c in enumerate(contacts[:150])
    ]
    created = {r.request.subject: r.task_id for r in create_tasks(None, hs, requests)}
    assert len(created) == 150 and all(created.values())

    batch_reads, single_reads = [], []
    read_batch, read_one = BatchApi.get_page, BasicApi.get_page
    monkeypatch.setattr(BatchApi, "get_page", lambda *a, **k: batch_reads.append(a) or read_batch(*a, **k))
    monkeypatch.setattr(BasicApi, "get_page", lambda *a, **k: single_reads.append(a) or read_one(*a, **k))
    # the last contact has no task: HubSpot answers it with an error entry, the others are still read
    without_task = TaskRequest(
        "hubspot", contacts[150], "77", "Follow up c150", "body", date(2026, 6, 1), "standard"
    )
    found = find_tasks(None, hs, [*requests, without_task])
    assert found == created
    assert len(batch_reads) == 2 and single_reads == []
