"""Diff planning: exactly which records and fields change in each CRM, from desired, raw and written state."""

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from activation.convert import RejectedValue, canonical, to_target
from revloop.config.sync import Crm, FieldMapping, ObjectMapping
from revloop.salesforce_user import made_by

SALESFORCE_COLLECTION_SIZE = 200
HUBSPOT_BATCH_SIZE = 100
# Fields that tie a record to revloop and to its partner in the other CRM.
KEY_FIELDS: dict[Crm, tuple[str, str]] = {
    "salesforce": ("Revloop_Id__c", "HubSpot_Id__c"),
    "hubspot": ("revloop_id", "salesforce_id"),
}

Operation = Literal["create", "update"]


@dataclass(frozen=True)
class CrmRecord:
    """One record's latest raw state in a CRM, with its native field names."""

    crm: Crm
    object_name: str
    record_id: str
    modified_at: datetime
    values: Mapping[str, Any]
    modified_by: str | None = None  # the Salesforce user who last changed it (LastModifiedById)


@dataclass(frozen=True)
class SyncPair:
    """A record and its partner in the other CRM (either may be missing), and the warehouse's values."""

    key: str
    salesforce: CrmRecord | None = None
    hubspot: CrmRecord | None = None
    desired: Mapping[str, Any] = field(default_factory=dict)
    may_create: bool = True  # False for a person's secondary records: their partner is another record's
    # False when the two records are one profile's but do not match each other (e-mail, stored cross ids):
    # then no person field flows between them and they are not linked; only warehouse values are written
    matched: bool = True


@dataclass
class RecordWrite:
    """One record to create or update in one CRM, with only the fields that change."""

    crm: Crm
    object_name: str
    operation: Operation
    key: str
    record_id: str | None
    fields: dict[str, Any]
    previous: dict[str, Any] = field(default_factory=dict)
    canonical: dict[str, Any] = field(default_factory=dict)  # what to remember as written, for echo checks
    based_on: datetime | None = None  # the target record's modification time the write was planned from
    # HubSpot creates: (record id, HubSpot-defined association type) each created record is linked to
    associations: tuple[tuple[str, int], ...] = ()

    def fingerprint(self) -> str:
        """What makes two writes the same: the CRM, object, operation, target record and every value sent."""
        target = self.record_id or f"key:{self.key}"
        payload = [self.crm, self.object_name, self.operation, target, self.fields]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def as_utc(moment: datetime | None) -> datetime | None:
    """A time in UTC (a time without zone read as UTC), so that one instant always compares equal."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# Writes a CRM refused before, as (fingerprint, the target's modification time then): while both are unchanged
# the same write would be refused again.
RefusedWrites = Set[tuple[str, datetime | None]]


@dataclass(frozen=True)
class Rejection:
    """A value caught before sending because the target would refuse it."""

    crm: Crm
    object_name: str
    key: str
    record_id: str | None
    field: str
    value: Any
    reason: str


@dataclass(frozen=True)
class Conflict:
    """Records of one profile that disagree on an identifier: none of them gets that field written."""

    key: str
    field: str  # the field as 'Salesforce name/HubSpot name'
    values: tuple[tuple[str, Any], ...]  # ('<crm>:<record id>', value as the record holds it), per record


@dataclass
class Plan:
    """Every write one object needs, and the values rejected and identifier conflicts met on the way."""

    object_key: str
    writes: list[RecordWrite] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    # writes not sent: the CRM refused this very write before and neither it nor its record changed since
    held: list[RecordWrite] = field(default_factory=list)
    pairs: int = 0  # pairs of records planned

    def counts(self) -> dict[str, int]:
        """Records per crm and operation, e.g. {'salesforce.update': 3}."""
        return dict(Counter(f"{w.crm}.{w.operation}" for w in self.writes))

    def api_calls(self) -> dict[str, int]:
        """API calls the writes take: one collection per 200 Salesforce records, one batch per 100 HubSpot.

        Each key-release phase (release_phases) is sent in calls of its own.
        """
        calls: Counter[str] = Counter()
        for phase in release_phases(self.writes):
            groups = Counter((w.crm, w.object_name, w.operation) for w in phase)
            for (crm, object_name, operation), n in groups.items():
                size = SALESFORCE_COLLECTION_SIZE if crm == "salesforce" else HUBSPOT_BATCH_SIZE
                calls[f"{crm}.{object_name}.{operation}"] += math.ceil(n / size)
        return dict(sorted(calls.items()))

    def summary(self, samples: int = 5) -> dict[str, Any]:
        """The dry-run report: counts, API calls, sample diffs and rejections."""
        return {
            "object": self.object_key,
            "pairs_planned": self.pairs,
            "counts": self.counts(),
            "api_calls": self.api_calls(),
            "sample_diffs": [
                {
                    "crm": w.crm,
                    "object": w.object_name,
                    "operation": w.operation,
                    "record_id": w.record_id,
                    "key": w.key,
                    "changes": {name: [w.previous.get(name), value] for name, value in w.fields.items()},
                }
                for w in self.writes[:samples]
            ],
            "rejected": len(self.rejections),
            "sample_rejections": [r.__dict__ for r in self.rejections[:samples]],
            "conflicts": len(self.conflicts),
            "held_refused": len(self.held),
        }


def key_moves(write: RecordWrite) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The revloop key a write gives its record and the one it takes away, each as a unique-index entry."""
    name = KEY_FIELDS[write.crm][0]
    if name not in write.fields:
        return None, None
    scope = (write.crm, write.object_name)
    # both CRMs compare unique text values without case
    taken = str(write.fields[name]).lower()
    held = write.previous.get(name) if write.operation == "update" else None
    released = str(held).lower() if held not in (None, "") and str(held).lower() != taken else None
    return (*scope, taken), ((*scope, released) if released else None)


def release_phases(writes: list[RecordWrite]) -> list[list[RecordWrite]]:
    """writes split into phases sent one after the other: a key released before another record takes it.

    When a profile merge moves a revloop key (unique in both CRMs) from one record to another, the write that
    takes it away must be sent in an earlier call than the one that gives it: both CRMs check a batch against
    the records as they were, and refuse the taker (HubSpot 409, Salesforce DUPLICATE_VALUE; a Salesforce
    upsert would even update the old holder). A cycle (two records swapping keys) cannot be ordered by
    phases: its writes fail visibly in activation.sync_log.
    """
    releaser: dict[tuple[str, ...], int] = {}
    takes: list[tuple[str, ...] | None] = []
    for i, write in enumerate(writes):
        taken, released = key_moves(write)
        takes.append(taken)
        if released is not None:
            releaser[released] = i
    phase: dict[int, int] = {}

    def phase_of(i: int, visiting: frozenset[int]) -> int:
        if i not in phase:
            before = releaser.get(takes[i]) if takes[i] is not None else None
            if before is None or before == i or before in visiting:
                phase[i] = 0
            else:
                phase[i] = phase_of(before, visiting | {i}) + 1
        return phase[i]

    phases: dict[int, list[RecordWrite]] = {}
    for i, write in enumerate(writes):
        phases.setdefault(phase_of(i, frozenset()), []).append(write)
    return [phases[n] for n in sorted(phases)]


class Written(NamedTuple):
    """A canonical value revloop wrote into one record field, and when (a tuple: a sync reads millions)."""

    value: Any
    at: datetime


# What revloop last wrote: (crm, record_id, field) -> Written.
WrittenState = Mapping[tuple[str, str, str], Written]
_UNSET = object()


def _other(crm: Crm) -> Crm:
    return "hubspot" if crm == "salesforce" else "salesforce"


def same_identifier(spec: FieldMapping, a: Any, b: Any) -> bool:
    """Whether two canonical values name the same identifier: phones by their digits (one number's spellings,
    with or without a country code, are one identifier), anything else as it is compared."""
    if a is None or b is None or a == b:
        return a == b
    if spec.type == "string":
        # without leading zeros: a national trunk 0 and an international 00 prefix say nothing
        digits_a, digits_b = (re.sub(r"\D", "", str(v)).lstrip("0") for v in (a, b))
        shorter, longer = sorted((digits_a, digits_b), key=len)
        return len(shorter) >= 7 and longer.endswith(shorter)
    return False


class _Planner:
    """Plans one object mapping; collects writes per target record and rejections."""

    def __init__(
        self,
        object_key: str,
        mapping: ObjectMapping,
        written: WrittenState,
        tie_winner: Crm,
        holders: dict[tuple[str, str, Any], str],
        created: Set[tuple[str, str]] = frozenset(),
        crms: Collection[Crm] = ("salesforce", "hubspot"),
        released: Set[tuple[str, Any]] = frozenset(),
        refused: RefusedWrites = frozenset(),
        own_user: str | None = None,
    ):
        self.mapping, self.written, self.tie_winner, self.holders = mapping, written, tie_winner, holders
        self.created, self.refused, self.own_user = created, refused, own_user
        # when revloop last wrote each record: a record it created and nobody changed since holds no evidence
        self.last_written: dict[tuple[str, str], datetime] = {}
        keyed: set[tuple[Crm, Any]] = set()  # (crm, revloop key) revloop gave a record there
        for (crm, record_id, name), w in written.items():
            at = self.last_written.get((crm, record_id))
            if at is None or w.at > at:
                self.last_written[(crm, record_id)] = w.at
            if name == KEY_FIELDS[crm][0]:
                keyed.add((crm, w.value))
        self.crms = tuple(crms)
        # One CRM configured: write-back only (warehouse values into its existing records; nothing is created
        # or copied from the other CRM, whose raw tables may still hold an old load).
        self.write_back_only = len(self.crms) == 1
        # Keys revloop already gave a record in each CRM: such a record exists (or a user deleted it, which
        # revloop respects), so it is never created again, even before the next ingestion shows it.
        # A key this plan moves off its record (a profile split) no longer says so: the record taking it may
        # be created, after the release (release_phases; run_plan drops it if the release fails).
        self.keyed = keyed - set(released)
        self.plan = Plan(object_key)
        self._conflicted: set[tuple[str, str]] = set()

    def _conflicts(self, pair: SyncPair) -> set[str]:
        """Identifier fields the pair's two records disagree on (each recorded once as a Conflict)."""
        sf, hs = pair.salesforce, pair.hubspot
        if sf is None or hs is None:
            return set()
        names = set()
        for spec in self.mapping.fields:
            if not spec.identifier or spec.direction != "both" or not spec.applies_to(sf.object_name):
                continue
            sf_value, hs_value = self._read(spec, sf), self._read(spec, hs)
            # records that do not match each other disagree even where one of them holds no value
            both = None not in (sf_value, hs_value)
            disagree = (both or not pair.matched) and not same_identifier(spec, sf_value, hs_value)
            if not disagree:
                continue
            label = f"{spec.salesforce}/{spec.hubspot}"
            names.add(label)
            if (pair.key, label) not in self._conflicted:
                self._conflicted.add((pair.key, label))
                self.plan.conflicts.append(
                    Conflict(
                        pair.key,
                        label,
                        (
                            (f"salesforce:{sf.record_id}", sf.values.get(spec.salesforce or "")),
                            (f"hubspot:{hs.record_id}", hs.values.get(spec.hubspot or "")),
                        ),
                    )
                )
        return names

    def _read(self, spec: FieldMapping, record: CrmRecord) -> Any:
        """The canonical value of a field in a record; an unreadable value counts as empty."""
        try:
            return canonical(spec, record.crm, record.values.get(spec.name_on(record.crm)))
        except RejectedValue:
            return None

    def _unreadable(self, spec: FieldMapping, record: CrmRecord) -> bool:
        """Whether a record holds a value of the field that has no counterpart (e.g. an unmapped status): the
        field then stays as it is on both sides, neither copied nor overwritten as if it were empty."""
        try:
            canonical(spec, record.crm, record.values.get(spec.name_on(record.crm)))
        except RejectedValue:
            return True
        return False

    def _written_value(self, crm: Crm, record_id: str, name: str | None) -> Any:
        written = self.written.get((crm, record_id, name or ""))
        return _UNSET if written is None else written.value

    def _already_sent(self, record: CrmRecord | None, name: str, value: Any) -> bool:
        """Whether revloop wrote this very value after the raw snapshot was taken (rerun before ingestion)."""
        written = self.written.get((record.crm, record.record_id, name)) if record else None
        return written is not None and written.value == value and written.at >= record.modified_at

    def _applies(self, spec: FieldMapping, crm: Crm, object_name: str) -> bool:
        return crm == "hubspot" or spec.applies_to(object_name)

    def _winner(self, spec: FieldMapping, pair: SyncPair, sf_value: Any, hs_value: Any) -> Crm | None:
        """Which side's value of a two-way field wins; None when they agree or nothing can be said."""
        if sf_value == hs_value:
            return None
        sf, hs = pair.salesforce, pair.hubspot
        assert sf is not None and hs is not None
        # A side still holding what revloop wrote there has not changed it: that is no change (no echo).
        sf_untouched = self._untouched(sf, spec.salesforce, sf_value)
        hs_untouched = self._untouched(hs, spec.hubspot, hs_value)
        if sf_untouched != hs_untouched:
            winner: Crm = "hubspot" if sf_untouched else "salesforce"
        elif sf.modified_at != hs.modified_at:
            winner = "salesforce" if sf.modified_at > hs.modified_at else "hubspot"
        else:
            winner = self.tie_winner
        # An empty value never wipes a value on the other side (a field missing on one side is not a delete),
        # and revloop's own write (or a default of a record it created) is no value to fill it with either.
        if (sf_value if winner == "salesforce" else hs_value) is None:
            return None if (sf_untouched, hs_untouched)[winner == "salesforce"] else _other(winner)
        return winner

    def _untouched(self, record: CrmRecord, name: str | None, value: Any) -> bool:
        """Whether a record's value is revloop's own: what it wrote there, or a value of a record revloop
        created that nobody changed since (the CRM's default on create, e.g. a new Lead's Status).

        Salesforce names who changed a record last (LastModifiedById): revloop's own user means nobody else
        did. HubSpot does not: there a change no later than revloop's last write to the record is none."""
        if self._written_value(record.crm, record.record_id, name) == value:
            return True
        if (record.crm, record.record_id) not in self.created:
            return False
        if self.own_user and record.modified_by:
            return made_by(record.modified_by, self.own_user)
        last = self.last_written.get((record.crm, record.record_id))
        return last is not None and record.modified_at <= last

    def _desired(self, pair: SyncPair, target: Crm) -> list[tuple[FieldMapping, Any]]:
        """Canonical values a target record should hold, from the other CRM or the warehouse.

        Records that do not match each other exchange no field, and an identifier the two disagree on is
        written to neither (it identifies each record: overwriting it would make one record another's)."""
        source = pair.hubspot if target == "salesforce" else pair.salesforce
        existing = pair.salesforce if target == "salesforce" else pair.hubspot
        if not pair.matched:
            source = None
        conflicted = self._conflicts(pair)
        desired: list[tuple[FieldMapping, Any]] = []
        for spec in self.mapping.fields:
            if target not in spec.targets() or f"{spec.salesforce}/{spec.hubspot}" in conflicted or (
                self.write_back_only and spec.source is None
            ):
                continue
            if spec.source is not None:
                try:
                    desired.append((spec, canonical(spec, None, pair.desired.get(spec.source))))
                except RejectedValue as exc:
                    self._reject(pair, target, existing, spec, pair.desired.get(spec.source), exc)
                continue
            if source is None or any(self._unreadable(spec, r) for r in (source, existing) if r is not None):
                continue
            value = self._read(spec, source)
            if spec.direction == "both" and existing is not None:
                winner = self._winner(
                    spec,
                    pair,
                    *(
                        (self._read(spec, existing), value)
                        if target == "salesforce"
                        else (value, self._read(spec, existing))
                    ),
                )
                if winner != _other(target):
                    continue
            desired.append((spec, value))
        return desired

    def _reject(
        self,
        pair: SyncPair,
        crm: Crm,
        record: CrmRecord | None,
        spec: FieldMapping,
        value: Any,
        exc: Exception,
    ) -> None:
        object_name = record.object_name if record else self._create_object(crm)
        self.plan.rejections.append(
            Rejection(
                crm,
                object_name,
                pair.key,
                record.record_id if record else None,
                spec.name_on(crm) or "",
                value,
                str(exc),
            )
        )

    def _create_object(self, crm: Crm) -> str:
        return self.mapping.salesforce_create_object if crm == "salesforce" else self.mapping.hubspot

    def plan_pair(self, pair: SyncPair) -> None:
        for target in self.crms:
            self._plan_target(pair, target)

    def _plan_target(self, pair: SyncPair, target: Crm) -> None:
        existing = pair.salesforce if target == "salesforce" else pair.hubspot
        partner = pair.hubspot if target == "salesforce" else pair.salesforce
        if self.write_back_only:
            partner = None
        creatable = pair.may_create and getattr(self.mapping.create_missing, target)
        if existing is None and (partner is None or not creatable or (target, pair.key) in self.keyed):
            return
        object_name = existing.object_name if existing else self._create_object(target)
        changes: dict[str, Any] = {}
        previous: dict[str, Any] = {}
        written: dict[str, Any] = {}
        for spec, value in self._desired(pair, target):
            if value is None or not self._applies(spec, target, object_name):
                continue
            if spec.on_create_only and existing is not None:
                continue
            current = self._read(spec, existing) if existing else None
            if spec.fill_only and current is not None:
                continue
            if value == current:
                continue
            name = spec.name_on(target) or ""
            if self._already_sent(existing, name, value):
                continue
            holder = self.holders.get((target, name, value)) if target in spec.unique_on else None
            if holder is not None and (existing is None or holder != existing.record_id):
                self._reject(
                    pair, target, existing, spec, value, RejectedValue(f"already held by record {holder}")
                )
                continue
            try:
                changes[name] = to_target(spec, target, value)
            except RejectedValue as exc:
                self._reject(pair, target, existing, spec, value, exc)
                continue
            previous[name] = existing.values.get(name) if existing else None
            written[name] = value
        revloop_key, partner_key = KEY_FIELDS[target]
        linked = partner if pair.matched else None
        links = {revloop_key: pair.key, **({partner_key: linked.record_id} if linked else {})}
        if self.write_back_only and not changes:
            links = {}  # write-back only: a record gets its revloop key along with a value, never alone
        for name, value in links.items():
            if existing is None or (
                existing.values.get(name) != value and not self._already_sent(existing, name, value)
            ):
                changes[name] = written[name] = value
                previous[name] = existing.values.get(name) if existing else None
        if existing is None:
            missing = [n for n in self.mapping.required_on_create.get(target, []) if changes.get(n) is None]
            if missing:
                self.plan.rejections.append(
                    Rejection(
                        target,
                        object_name,
                        pair.key,
                        None,
                        ", ".join(missing),
                        None,
                        f"cannot create without {', '.join(missing)}",
                    )
                )
                return
        if changes:
            write = RecordWrite(
                target,
                object_name,
                "update" if existing else "create",
                pair.key,
                existing.record_id if existing else None,
                changes,
                previous,
                written,
                as_utc(existing.modified_at) if existing else None,
            )
            refused_before = (write.fingerprint(), write.based_on) in self.refused
            (self.plan.held if refused_before else self.plan.writes).append(write)


def _unique_holders(mapping: ObjectMapping, pairs: list[SyncPair]) -> dict[tuple[str, str, Any], str]:
    """(crm, field, canonical value) -> the record holding it, for fields unique in a CRM."""
    holders: dict[tuple[str, str, Any], str] = {}
    for spec in mapping.fields:
        for crm in spec.unique_on:
            name = spec.name_on(crm) or ""
            for pair in pairs:
                record = pair.salesforce if crm == "salesforce" else pair.hubspot
                if record is None:
                    continue
                try:
                    value = canonical(spec, crm, record.values.get(name))
                except RejectedValue:
                    continue
                if value is not None:
                    holders.setdefault((crm, name, value), record.record_id)
    return holders


def _released_keys(pairs: list[SyncPair], written: WrittenState) -> set[tuple[str, Any]]:
    """(crm, revloop key) revloop gave a record that now belongs under another key (its profile split)."""
    released = set()
    for pair in pairs:
        for record in (pair.salesforce, pair.hubspot):
            given = written.get((record.crm, record.record_id, KEY_FIELDS[record.crm][0])) if record else None
            if record is not None and given is not None and given.value != pair.key:
                released.add((record.crm, given.value))
    return released


def plan_object(
    object_key: str,
    mapping: ObjectMapping,
    pairs: Iterable[SyncPair],
    written: WrittenState,
    tie_winner: Crm = "salesforce",
    created: Set[tuple[str, str]] = frozenset(),
    crms: Collection[Crm] = ("salesforce", "hubspot"),
    refused: RefusedWrites = frozenset(),
    own_user: str | None = None,
    only: Set[tuple[str, str]] | None = None,
) -> Plan:
    """The writes that bring the configured CRMs to the desired state of one mapped object, and what was
    rejected. Both CRMs: the two-way sync; one: the write-back of warehouse values into that CRM only.

    created: (crm, record id) of the records revloop created (activation.sync_log). refused: writes the CRM
    refused before (ActivationStore.refused), held back while they and their record stay as they were.
    own_user: revloop's Salesforce user id, which tells its own changes from anyone else's.
    only: (crm, record id) of the records to plan for: just the pairs holding one of them are planned (the
    values other records hold still count, e.g. an e-mail another record has); None plans every pair."""
    pairs = list(pairs)
    holders = _unique_holders(mapping, pairs)
    planner = _Planner(
        object_key, mapping, written, tie_winner, holders, created, crms, _released_keys(pairs, written),
        refused, own_user,
    )
    for pair in pairs:
        records = [(r.crm, r.record_id) for r in (pair.salesforce, pair.hubspot) if r is not None]
        if only is None or not only.isdisjoint(records):
            planner.plan_pair(pair)
            planner.plan.pairs += 1
    return planner.plan
