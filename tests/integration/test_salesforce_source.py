"""The Salesforce dlt source against the sandbox org, through real simple-salesforce, into DuckDB."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import duckdb
import pytest

from ingestion.quarantine import Rejections, load_rejections
from ingestion.salesforce import DATASET_NAME, PIPELINE_NAME, salesforce_source
from ingestion.salesforce.client import SalesforceConnection, SalesforceRequestLimitExceeded
from revloop.warehouse import make_pipeline

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def _connection(sf_sandbox) -> SalesforceConnection:
    # A short backoff keeps the fault tests fast; the policy is the production one otherwise.
    return SalesforceConnection(
        instance_url=sf_sandbox.url, access_token=sf_sandbox.token, ca_bundle=sf_sandbox.ca_bundle,
        backoff_factor=0.01,
    )


def _run(sf_sandbox, objects=("Lead",), **kwargs):
    # These tests pin the cursor arithmetic itself; the look-back has its own (test_salesforce_deletes).
    kwargs.setdefault("lookback_seconds", 0)
    pipeline = make_pipeline(PIPELINE_NAME, DATASET_NAME)
    pipeline.run(salesforce_source(_connection(sf_sandbox), objects=objects, **kwargs))
    return pipeline


def _loaded_rows(pipeline, table: str) -> int:
    return pipeline.last_trace.last_normalize_info.row_counts.get(table, 0)


def _sql(warehouse, query: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(query).fetchall()


def _query_requests(emulator) -> list[tuple[str, str | None]]:
    """(path, SOQL) of every query request the emulator answered; SOQL None for a next-page request."""
    return [
        (r.path, parse_qs(r.query).get("q", [None])[0])
        for r in emulator.request_log if "/query" in r.path.lower()
    ]


def _soql_sent(emulator, object_name: str) -> list[str]:
    """The SOQL of every first-page query the emulator answered for object_name, in order."""
    return [soql for _, soql in _query_requests(emulator) if soql and f"FROM {object_name} " in soql + " "]


def _leads(count: int, start: int = 0, modstamp: datetime = T0, step: timedelta = timedelta(0)) -> list[dict]:
    return [
        {
            "FirstName": f"Ada{i}", "LastName": f"Lovelace{i}", "Company": f"Analytical {i}",
            "Email": f"ada{i}@example.com", "AnnualRevenue": 1000.5 * i, "NumberOfEmployees": i,
            "CreatedDate": modstamp + step * (i - start), "SystemModstamp": modstamp + step * (i - start),
        }
        for i in range(start, start + count)
    ]


def test_every_object_loads_typed_into_its_table(sf_sandbox, warehouse):
    emulator = sf_sandbox.emulator
    emulator.seed("User", [{"Username": "rep@acme.test", "LastName": "Rep", "Email": "rep@acme.test"}])
    account = {"Name": "Acme", "NumberOfEmployees": 120, "AnnualRevenue": 5e6}
    (account_id,) = emulator.seed("Account", [account])
    emulator.seed("Contact", [{"LastName": "Hopper", "AccountId": account_id, "Email": "grace@acme.test"}])
    emulator.seed("Opportunity", [{
        "Name": "Acme renewal", "AccountId": account_id, "StageName": "Closed Won", "CloseDate": "2024-06-30",
        "Amount": 12000,
    }])
    emulator.seed("Task", [{"Subject": "Call Grace", "Status": "Not Started", "Priority": "High"}])
    emulator.seed("Lead", _leads(3))

    _run(sf_sandbox, objects=("Lead", "Contact", "Account", "Opportunity", "User", "Task"))

    for table, count in {"lead": 3, "contact": 1, "account": 1, "opportunity": 1, "task": 1}.items():
        assert _sql(warehouse, f"select count(*) from raw_salesforce.{table}") == [(count,)]
    users = _sql(warehouse, 'select username, is_active from raw_salesforce."user"')
    assert ("rep@acme.test", True) in users
    columns = dict(_sql(
        warehouse,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw_salesforce' and table_name = 'opportunity'",
    ))
    assert columns["system_modstamp"] == "TIMESTAMP WITH TIME ZONE"
    assert columns["close_date"] == "DATE"
    assert columns["amount"] == "DOUBLE"
    assert columns["is_won"] == "BOOLEAN"
    assert columns["is_deleted"] == "BOOLEAN"
    assert not any(name.startswith("attributes") for name in columns)
    assert _sql(warehouse, "select amount, is_won, close_date from raw_salesforce.opportunity") == [
        (12000.0, True, datetime(2024, 6, 30).date())
    ]
    lead_columns = {row[0] for row in _sql(
        warehouse,
        "select column_name from information_schema.columns "
        "where table_schema = 'raw_salesforce' and table_name = 'lead'",
    )}
    assert "is_deleted" in lead_columns
    user_soql = _soql_sent(sf_sandbox.emulator, "User")
    assert user_soql and "IsDeleted" not in user_soql[0]
    assert [path for path, soql in _query_requests(sf_sandbox.emulator) if soql in user_soql] == [
        "/services/data/v54.0/query/"
    ]
    lead_paths = {path for path, soql in _query_requests(sf_sandbox.emulator) if soql in _soql_sent(
        sf_sandbox.emulator, "Lead")}
    assert lead_paths == {"/services/data/v54.0/queryAll/"}


def test_second_run_fetches_only_changes_and_loads_no_duplicates(sf_sandbox, sf_client, warehouse):
    emulator = sf_sandbox.emulator
    ids = emulator.seed("Lead", _leads(5, step=timedelta(minutes=1)))
    # the org's clock when the first run reads: half a minute after the last change (Get Updated covers
    # up to 09:04, its seconds dropped)
    emulator.clock = lambda: T0 + timedelta(minutes=4, seconds=30)
    first = _run(sf_sandbox)
    assert _loaded_rows(first, "lead") == 5
    emulator.clock = lambda: T0 + timedelta(days=1)
    sf_client.Lead.update(ids[0], {"Title": "Countess"})
    sf_client.Lead.delete(ids[1])

    second = _run(sf_sandbox)

    last_soql = _soql_sent(emulator, "Lead")[-1]
    assert "WHERE SystemModstamp >= 2024-05-01T09:04:00Z" in last_soql
    # what that query returned: the last record of run one (the cursor tie) and the two changed ones
    assert sf_client.query_all(last_soql, include_deleted=True)["totalSize"] == 3
    # the changed two, and nothing of the three untouched ones (the cursor tie is deduplicated)
    assert _loaded_rows(second, "lead") == 2
    rows = _sql(warehouse, "select id, title, is_deleted from raw_salesforce.lead order by id")
    assert len(rows) == 5 and len({row[0] for row in rows}) == 5
    by_id = {row[0]: row for row in rows}
    assert by_id[ids[0]][1:] == ("Countess", False)
    assert by_id[ids[1]][2] is True
    assert sum(1 for row in rows if row[2]) == 1

    third = _run(sf_sandbox)
    assert _loaded_rows(third, "lead") == 0
    assert _sql(warehouse, "select count(*) from raw_salesforce.lead") == [(5,)]


def test_records_sharing_one_modstamp_across_a_page_boundary_all_load(sf_sandbox, warehouse):
    emulator = sf_sandbox.emulator
    emulator.seed("Lead", _leads(2300))
    emulator.clock = lambda: T0 + timedelta(seconds=30)  # the org's clock as the run reads: T0's minute

    first = _run(sf_sandbox)

    assert _loaded_rows(first, "lead") == 2300
    query_more = [path for path, soql in _query_requests(emulator) if soql is None]
    assert query_more, "the 2300 records should have come in more than one page"
    # a late arrival carrying the very same SystemModstamp is still picked up, once
    emulator.seed("Lead", _leads(10, start=2300))
    second = _run(sf_sandbox)
    assert _loaded_rows(second, "lead") == 10
    assert _sql(warehouse, "select count(*), count(distinct id) from raw_salesforce.lead") == [(2310, 2310)]


def test_custom_fields_come_from_describe(sf_sandbox, warehouse):
    leads = _leads(2)
    leads[0]["Lead_Score__c"] = 87.5
    leads[0]["Revloop_Id__c"] = "rl-1"
    sf_sandbox.emulator.seed("Lead", leads)

    _run(sf_sandbox)

    assert _sql(warehouse, "select lead_score__c, revloop_id__c from raw_salesforce.lead order by email") == [
        (87.5, "rl-1"), (None, None)
    ]
    # all-null custom fields still get their type from describe
    assert _sql(
        warehouse,
        "select data_type from information_schema.columns where table_schema = 'raw_salesforce' "
        "and table_name = 'lead' and column_name = 'churn_risk__c'",
    ) == [("DOUBLE",)]


def test_an_org_without_some_fields_loads_what_it_has(sf_sandbox_factory, warehouse, caplog):
    sandbox = sf_sandbox_factory(with_revloop_fields=False)
    # A real org may lack a standard field (a feature turned off, an older edition).
    del sandbox.emulator.org.tables["Lead"].fields["Industry"]
    sandbox.emulator.seed("Lead", _leads(2))

    _run(sandbox)

    columns = {row[0] for row in _sql(
        warehouse,
        "select column_name from information_schema.columns "
        "where table_schema = 'raw_salesforce' and table_name = 'lead'",
    )}
    assert "industry" not in columns and "lead_score__c" not in columns
    assert {"email", "annual_revenue", "system_modstamp"} <= columns
    assert _sql(warehouse, "select count(*) from raw_salesforce.lead") == [(2,)]
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert any("Industry" in message for message in warnings)
    assert "Industry" not in _soql_sent(sandbox.emulator, "Lead")[0]


def test_server_errors_are_survived_with_nothing_lost(sf_sandbox, warehouse):
    # The emulator answers an injected 429 as Salesforce throttles, with 403 REQUEST_LIMIT_EXCEEDED (tested
    # below); 429 retries are urllib3's, covered by the retry policy's unit tests.
    emulator = sf_sandbox.emulator
    emulator.seed("Lead", _leads(4500))
    emulator.faults.fail_next(503, count=2)  # the describe
    emulator.faults.fail_next(500, count=1, path_prefix="/services/data/v54.0/queryAll/")
    emulator.faults.fail_next(502, count=1, path_prefix="/services/data/v54.0/query/")  # mid-paging
    emulator.faults.fail_next(504, count=1, path_prefix="/services/data/v54.0/query/")

    pipeline = _run(sf_sandbox)

    assert _loaded_rows(pipeline, "lead") == 4500
    statuses = sorted(r.status for r in emulator.request_log if r.status >= 500)
    assert statuses == [500, 502, 503, 503, 504]
    assert _sql(warehouse, "select count(distinct id) from raw_salesforce.lead") == [(4500,)]


def test_a_run_that_fails_mid_paging_loses_nothing_on_the_next(sf_sandbox, warehouse):
    emulator = sf_sandbox.emulator
    emulator.seed("Lead", _leads(2300, step=timedelta(milliseconds=1)))
    # every attempt at page two fails, retries included
    emulator.faults.fail_next(503, count=50, path_prefix="/services/data/v54.0/query/")

    with pytest.raises(Exception, match="SERVER_UNAVAILABLE"):
        _run(sf_sandbox)
    emulator.faults.scripted.clear()
    pipeline = _run(sf_sandbox)

    assert _loaded_rows(pipeline, "lead") == 2300
    assert _sql(warehouse, "select count(*), count(distinct id) from raw_salesforce.lead") == [(2300, 2300)]


def test_request_limit_exceeded_fails_clearly_without_retrying(sf_sandbox_factory, warehouse):
    sandbox = sf_sandbox_factory(request_limit=1)  # the describe goes through, the query is refused
    emulator = sandbox.emulator
    emulator.seed("Lead", _leads(3))

    with pytest.raises(Exception) as failure:
        _run(sandbox)

    chain = []
    exc = failure.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    limit_errors = [e for e in chain if isinstance(e, SalesforceRequestLimitExceeded)]
    assert limit_errors, f"expected a SalesforceRequestLimitExceeded, got {failure.value!r}"
    assert "REQUEST_LIMIT_EXCEEDED" in str(limit_errors[0])
    assert "allowance" in str(limit_errors[0])
    refused = [r for r in emulator.request_log if r.status == 403]
    assert len(refused) == 1, "a REQUEST_LIMIT_EXCEEDED must not be retried"


def test_unparsable_record_is_quarantined_and_the_rest_load(sf_sandbox, warehouse):
    emulator = sf_sandbox.emulator
    ids = emulator.seed("Lead", _leads(3))
    # Salesforce should never send this, but one bad record must not stop the run.
    emulator.org.tables["Lead"].records[ids[1]]["AnnualRevenue"] = "lots"
    rejections = Rejections()

    _run(sf_sandbox, rejections=rejections)
    load_rejections(rejections, warehouse)

    assert {row[0] for row in _sql(warehouse, "select id from raw_salesforce.lead")} == {ids[0], ids[2]}
    rejected = _sql(warehouse, "select source, record_id, reason from quarantine.rejected_records")
    assert [(source, record_id) for source, record_id, _ in rejected] == [("salesforce", ids[1])]
    assert "AnnualRevenue" in rejected[0][2]


def test_first_run_can_start_from_a_date(sf_sandbox, warehouse):
    sf_sandbox.emulator.seed("Lead", _leads(6, step=timedelta(days=1)))

    pipeline = _run(sf_sandbox, since=T0 + timedelta(days=3))

    assert _loaded_rows(pipeline, "lead") == 3
    assert "WHERE SystemModstamp >= 2024-05-04T09:00:00Z" in _soql_sent(sf_sandbox.emulator, "Lead")[0]


def test_connection_from_environment_trusts_the_sandbox_bundle(sf_sandbox, warehouse, monkeypatch):
    for name in (
        "SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN", "SALESFORCE_DOMAIN",
        "SALESFORCE_API_VERSION", "SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    assert SalesforceConnection.from_env() is None

    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", sf_sandbox.url)
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", sf_sandbox.token)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sf_sandbox.ca_bundle))
    sf_sandbox.emulator.seed("Lead", _leads(2))
    connection = SalesforceConnection.from_env()
    assert sf_sandbox.token not in repr(connection)

    source = salesforce_source(connection)
    assert list(source.resources) == [
        "lead", "contact", "account", "opportunity", "user", "task", "opportunitycontactrole",
        "deleted_records",
    ]
    assert sf_sandbox.emulator.request_log == [], "building the source must not reach the org"
    pipeline = make_pipeline(PIPELINE_NAME, DATASET_NAME)
    pipeline.run(source.with_resources("lead"))

    assert _sql(warehouse, "select count(*) from raw_salesforce.lead") == [(2,)]
