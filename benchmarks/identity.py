"""Identity resolution benchmark: resolve_identities on ~1M synthetic int_identity_records records.

    python -m benchmarks.identity --records 1000000

The records (CRM leads, contacts, HubSpot contacts, event user and anonymous records, second browser
cookies, strangers; office IPs shared by colleagues with a few common browsers, anonymous colleagues
behind a known person's office IP with the same browser and their own device, switchboard phones on 5%
of people) are generated straight into intermediate.int_identity_records of a fresh DuckDB file;
resolve_identities then runs in a fresh process (so peak RSS is its own): read, phones to E.164,
components, the probabilistic model, stable ids and the dlt write of schema identity. A second run (same
data, state present) measures the steady state. Pairwise precision and recall are scored against the
person every generated id belongs to.
"""

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from benchmarks.fresh_process import in_fresh_process
from identity.records import COLUMNS

_TYPES = {"message_count": pa.int64()}
# CRM 1.5 + website user/anonymous 1.0 + second cookies 0.1 + strangers 0.2 + anonymous colleagues 0.15
RECORDS_PER_PERSON = 2.95


def _text(prefix: str, numbers: np.ndarray) -> np.ndarray:
    return np.char.add(prefix, numbers.astype(str)).astype(object)


def _block(system, kind, ids, **columns) -> pa.Table:
    """Records of one kind in int_identity_records' columns (identity.records.COLUMNS); unset ones null."""
    n = len(ids)
    given = {
        "source_system": np.full(n, system, object),
        "source_record_type": np.full(n, kind, object),
        "source_id": ids,
        "observed_at": pa.array(
            np.full(n, np.datetime64("2026-01-01T00:00:00", "us")), pa.timestamp("us", "UTC")
        ),
        "message_count": np.ones(n, dtype=np.int64),
        **columns,
    }
    data = {name: given.get(name, np.full(n, None, object)) for name in COLUMNS}
    return pa.table(
        {
            k: (v if isinstance(v, pa.Array) else pa.array(v, _TYPES.get(k, pa.string())))
            for k, v in data.items()
        }
    )


def generate_records(records: int, seed: int = 7) -> pa.Table:
    """About `records` source records of int_identity_records' shape, with planted people behind them."""
    rng = np.random.default_rng(seed)
    people = int(records / RECORDS_PER_PERSON)
    person = np.arange(people)
    email = _text("person", person).astype(str)
    email = np.char.add(email, np.char.add("@company", (person % 30_000).astype(str))).astype(str)
    email = np.char.add(email, ".com").astype(object)
    has_phone = rng.random(people) < 0.7
    # real US area codes, exchanges 200-999 and line numbers: one valid number per person
    area = np.array(["415", "212", "312", "512", "617"])[person % 5]
    exchange = (200 + (person // 5) % 800).astype(str)
    line = np.char.zfill((person // 4000 % 10_000).astype(str), 4)
    international = np.char.add(np.char.add(np.char.add("+1 ", area), np.char.add(" ", exchange)), " ")
    international = np.char.add(international, line).astype(object)
    national = np.char.add(np.char.add(np.char.add("(", area), np.char.add(") ", exchange)), "-")
    national = np.char.add(national, line).astype(object)
    phone = np.where(rng.random(people) < 0.8, international, national)
    phone = np.where(has_phone, phone, None)
    country = np.full(people, "United States", object)
    office = person % 30_000
    # 5% of people: their CRM records carry their office's switchboard number (one per office, area 646)
    switchboard = np.char.add("+1 646 ", (200 + office % 800).astype(str))
    switchboard = np.char.add(np.char.add(switchboard, " "), np.char.zfill((office // 800).astype(str), 4))
    phone = np.where(rng.random(people) < 0.05, switchboard.astype(object), phone)
    office_ip = _text("10.", office)
    agents = _text("Mozilla/5.0 build ", rng.integers(0, 50, people))  # colleagues share browsers
    home_ip = _text("home-", person)
    device = _text("dev-", person)
    pages = np.array(["/|/pricing", "/|/product|/blog", "/docs|/pricing", "/about|/careers"], dtype=object)
    hours = np.array(["8|9|10", "13|14", "19|20|21", "9|14|20"], dtype=object)
    page_of = pages[rng.integers(0, 4, people)]
    hour_of = hours[rng.integers(0, 4, people)]

    blocks = []
    lead = rng.random(people) < 0.7
    contact = rng.random(people) < 0.3
    hubspot = rng.random(people) < 0.5
    blocks.append(
        _block(
            "salesforce",
            "lead",
            _text("00Q", person[lead]),
            email=email[lead],
            phone_raw=phone[lead],
            country=country[lead],
        )
    )
    blocks.append(
        _block(
            "salesforce",
            "contact",
            _text("003", person[contact]),
            email=email[contact],
            phone_raw=phone[contact],
            country=country[contact],
            salesforce_contact_id=_text("003", person[contact]),
        )
    )
    blocks.append(_block("hubspot", "hubspot_contact", _text("hs", person[hubspot]), email=email[hubspot]))
    web = rng.random(people) < 0.5
    w = person[web]
    for ip in (home_ip[web], office_ip[web]):  # the user record seen from home and from the office
        blocks.append(
            _block(
                "website",
                "event_user",
                _text("usr_", w),
                customer_id=_text("usr_", w),
                anonymous_id=_text("anon-", w),
                device_id=device[web],
                ip=ip,
                user_agent=agents[web],
                page_paths=page_of[web],
                active_hours=hour_of[web],
            )
        )
    blocks.append(
        _block(
            "website",
            "event_anonymous",
            _text("anon-", w),
            anonymous_id=_text("anon-", w),
            device_id=device[web],
            ip=home_ip[web],
            user_agent=agents[web],
            page_paths=page_of[web],
            active_hours=hour_of[web],
        )
    )
    second = web & (rng.random(people) < 0.2)
    s = person[second]
    by_device = rng.random(len(s)) < 0.5
    blocks.append(
        _block(
            "website",
            "event_anonymous",
            _text("second-", s),
            anonymous_id=_text("second-", s),
            device_id=np.where(by_device, device[second], None),  # else a private window: no device id
            ip=np.where(by_device, _text("roaming-", s), home_ip[second]),
            user_agent=np.where(by_device, _text("other-agent-", s), agents[second]),
            page_paths=page_of[second],
            active_hours=hour_of[second],
        )
    )
    # anonymous colleagues: another person behind a known person's office IP with the same browser build
    colleague = web & (rng.random(people) < 0.3)
    c = person[colleague]
    blocks.append(
        _block(
            "website",
            "event_anonymous",
            _text("colleague-", c),
            anonymous_id=_text("colleague-", c),
            device_id=_text("cdev-", c),
            ip=office_ip[colleague],
            user_agent=agents[colleague],
            page_paths=page_of[colleague],
            active_hours=hour_of[colleague],
        )
    )
    strangers = np.arange(int(people * 0.2))
    # a third of strangers browse from an office (its IP and a common browser): the shared-IP trap
    at_office = rng.random(len(strangers)) < 0.33
    blocks.append(
        _block(
            "website",
            "event_anonymous",
            _text("stranger-", strangers),
            anonymous_id=_text("stranger-", strangers),
            device_id=_text("sdev-", strangers),
            ip=np.where(at_office, _text("10.", strangers % 30_000), _text("sip-", strangers)),
            user_agent=np.where(
                at_office, _text("Mozilla/5.0 build ", strangers % 50), _text("sua-", strangers)
            ),
            page_paths=pages[strangers % 4],
            active_hours=hours[strangers % 3],
        )
    )
    return pa.concat_tables(blocks)


def prepare(warehouse: Path, records: int, seed: int) -> tuple[int, int]:
    """Write the generated rows as intermediate.int_identity_records; (rows, records)."""
    from revloop.warehouse import connect_warehouse

    table = generate_records(records, seed)
    with connect_warehouse(warehouse) as con:
        con.execute("create schema if not exists intermediate")
        con.register("generated", table)
        con.execute("create or replace table intermediate.int_identity_records as select * from generated")
        distinct = con.execute(
            "select count(*) from (select distinct source_system, source_record_type, source_id "
            "from intermediate.int_identity_records)"
        ).fetchone()[0]
    return table.num_rows, distinct


def run_identity(warehouse: Path) -> tuple[float, float, float, str]:
    """resolve_identities once; (seconds, CPU seconds (all its threads), peak RSS MB, summary)."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    from identity import resolve_identities

    started, cpu = time.perf_counter(), time.process_time()
    summary = resolve_identities(warehouse)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, str(summary)


def planted_links(warehouse: Path) -> str:
    """How the planted second cookies and strangers came out: second-<n> belongs to usr_<n>."""
    from revloop.warehouse import connect_warehouse

    with connect_warehouse(warehouse, read_only=True) as con:
        right, wrong = con.execute(
            "select count(*) filter (where s.profile_id = u.profile_id),"
            " count(*) filter (where s.profile_id <> u.profile_id)"
            " from identity.profile_map s join identity.profile_map u"
            " on u.source_id = 'usr_' || substr(s.source_id, 8) and u.source_record_type = 'event_user'"
            " where s.source_id like 'second-%'"
        ).fetchone()
        strangers = con.execute(
            "select count(*) from identity.profile_map where source_id like 'stranger-%'"
        ).fetchone()[0]
    return (
        f"second cookies linked to their person: {right:,} (to someone else: {wrong:,}); "
        f"strangers linked: {strangers:,}"
    )


def accuracy(warehouse: Path) -> str:
    """Pairwise precision and recall of identity.profile_map against the person behind every generated id.

    Strangers and anonymous colleagues are people of their own (they must link to nobody); every other id
    carries its person's number. Recall counts the pairs the data supports: a person's CRM records (one
    e-mail) and, apart, their website user, cookie and second cookie (no e-mail on the website here).
    """
    from revloop.warehouse import connect_warehouse

    person = (
        "case when source_id like 'stranger-%' or source_id like 'colleague-%' then source_id "
        "else regexp_replace(source_id, '^(00Q|003|hs|usr_|anon-|second-)', '') end"
    )
    with connect_warehouse(warehouse, read_only=True) as con:
        precision, recall, mixed = con.execute(
            f"""
            with mapped as (select profile_id, {person} as person, source_id from identity.profile_map),
            by_profile as (select profile_id, count(*) as n, count(distinct person) as people
                           from mapped group by all),
            by_both as (select count(*) as n from mapped group by profile_id, person),
            linkable as (select count(*) as n from mapped
                         where source_id not like 'stranger-%' and source_id not like 'colleague-%'
                         group by person, regexp_matches(source_id, '^(usr_|anon-|second-)')),
            found as (select count(*) as n from mapped
                      where source_id not like 'stranger-%' and source_id not like 'colleague-%'
                      group by profile_id, person, regexp_matches(source_id, '^(usr_|anon-|second-)'))
            select
                (select sum(n * (n - 1) / 2) from by_both) / (select sum(n * (n - 1) / 2) from by_profile),
                (select sum(n * (n - 1) / 2) from found) / (select sum(n * (n - 1) / 2) from linkable),
                (select count(*) from by_profile where people >= 2)
            """
        ).fetchone()
    return f"pairwise precision {precision:.4f} recall {recall:.4f}; profiles holding two people: {mixed:,}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="source records to generate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--workdir", type=Path, help="where the warehouse goes (default: a temp dir, removed after)"
    )
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="revloop-bench-identity-"))
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "warehouse.duckdb"
    try:
        started = time.perf_counter()
        rows, records = prepare(warehouse, args.records, args.seed)
        print(f"generated {records:,} records ({rows:,} rows) in {time.perf_counter() - started:.1f}s")
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        for name in ("first run (no state)", "second run (state, no change)"):
            seconds, cpu, peak, summary = in_fresh_process(run_identity, warehouse)
            print(
                f"{name:32s} {seconds:7.2f}s (CPU {cpu:.2f}s)  peak RSS {peak:,.0f} MB  "
                f"{records / seconds:,.0f} records/s  {accuracy(warehouse)}"
            )
            print(f"    {summary}")
        print(planted_links(warehouse))
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
