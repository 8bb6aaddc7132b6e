"""Pick the rep of each handoff by the rules of config/assignment.yml, in their order."""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from revloop.config.assignment import AssignmentConfig, Territory


@dataclass(frozen=True)
class Rep:
    """A rep in one CRM (Salesforce User / HubSpot owner) and their workload there."""

    crm: str
    rep_id: str
    email: str | None
    name: str | None = None
    department: str | None = None
    title: str | None = None
    open_lead_count: float = 0
    open_pipeline: float = 0


@dataclass(frozen=True)
class Lead:
    """What the rules look at in a lead."""

    country: str | None = None
    industry: str | None = None
    products: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Assignment:
    """The rep picked, the rule that decided and what each rule did."""

    rep: Rep
    rule: str
    detail: str


def _norm(text: str | None) -> str:
    return (text or "").strip().lower()


class Assigner:
    """Assigns leads one by one; workload and the round-robin pointer move with each assignment."""

    def __init__(
        self,
        config: AssignmentConfig,
        reps: Iterable[Rep],
        last_sequence: Mapping[tuple[str, str], int],
        sequence: int,
    ):
        self.config = config
        excluded = {_norm(e) for e in config.exclude}
        self.reps = [r for r in reps if _norm(r.email) not in excluded]
        self.last_sequence = dict(last_sequence)
        self.sequence = sequence
        self.added: dict[tuple[str, str], int] = {}
        self.picks: list[tuple[str, str, int]] = []  # (crm, rep id, sequence): the pointer to persist
        self._skills = {(r.crm, r.rep_id): self.skills(r) for r in self.reps}
        # each territory with its countries, industries and member e-mails normalised once, not per lead
        self._territories = [
            (
                t,
                {_norm(c) for c in t.countries},
                {_norm(i) for i in t.industries},
                {_norm(e) for e in t.reps},
                _norm(t.team),
            )
            for t in config.territories
        ]

    def skills(self, rep: Rep) -> set[str]:
        """Products a rep knows: named in their title, plus those config lists for their e-mail."""
        title = _norm(rep.title)
        named = {
            _norm(p) for p in self.config.skills.products if re.search(rf"\b{re.escape(_norm(p))}\b", title)
        }
        listed = {
            _norm(p)
            for email, products in self.config.skills.reps.items()
            if _norm(email) == _norm(rep.email)
            for p in products
        }
        return named | listed

    def _territory(self, lead: Lead) -> tuple[Territory, set[str], str] | None:
        """The lead's territory, its members' e-mails and its team, normalised."""
        country, industry = _norm(lead.country), _norm(lead.industry)
        for territory, countries, industries, members, team in self._territories:
            if (lead.country and country in countries) or (lead.industry and industry in industries):
                return territory, members, team
        return None

    def load(self, rep: Rep) -> float:
        """Open leads and pipeline, weighted, plus the leads given in this run."""
        w = self.config.workload
        added = self.added.get((rep.crm, rep.rep_id), 0)
        return (rep.open_lead_count + added) * w.open_lead_weight + rep.open_pipeline / w.pipeline_per_point

    def _apply(self, rule: str, lead: Lead, reps: Sequence[Rep]) -> tuple[list[Rep], str]:
        if rule == "territory":
            found = self._territory(lead)
            if found is None:
                return [], "no territory"
            territory, members, team = found
            kept = [r for r in reps if _norm(r.email) in members or (team and _norm(r.department) == team)]
            return kept, territory.name
        if rule == "skill":
            if not lead.products:
                return [], "no product interest"
            overlap = {r.rep_id: len(self._skills[(r.crm, r.rep_id)] & lead.products) for r in reps}
            best = max(overlap.values(), default=0)
            if best == 0:
                return [], f"nobody knows {', '.join(sorted(lead.products))}"
            return [r for r in reps if overlap[r.rep_id] == best], ", ".join(sorted(lead.products))
        if rule == "workload":
            lowest = min(self.load(r) for r in reps)
            limit = lowest + self.config.workload.tolerance
            return [r for r in reps if self.load(r) <= limit], f"load <= {limit:g}"
        # round robin: the rep whose last turn is longest ago (never: first), ties by id
        pick = min(reps, key=lambda r: (self.last_sequence.get((r.crm, r.rep_id), 0), r.rep_id))
        return [pick], "longest since last turn"

    def assign(self, crm: str, lead: Lead, among: set[str] | None = None) -> Assignment | None:
        """The rep for a lead handed off in crm (one of the rep ids among, if given), or None for nobody."""
        reps = sorted(
            (r for r in self.reps if r.crm == crm and (among is None or r.rep_id in among)),
            key=lambda r: r.rep_id,
        )
        if not reps:
            return None
        steps, decided = [], None
        for rule in self.config.order:
            kept, why = self._apply(rule, lead, reps)
            if not kept:
                steps.append(f"{rule}: skipped ({why})")
                continue
            steps.append(f"{rule}: {len(kept)} of {len(reps)} ({why})")
            reps = kept
            if len(reps) == 1:
                decided = rule
                break
        rep = reps[0]
        self.sequence += 1
        self.last_sequence[(crm, rep.rep_id)] = self.sequence
        self.picks.append((crm, rep.rep_id, self.sequence))
        self.added[(crm, rep.rep_id)] = self.added.get((crm, rep.rep_id), 0) + 1
        return Assignment(rep, decided or "round_robin", "; ".join(steps))


def rep_from_row(row: Mapping[str, Any]) -> Rep:
    """A Rep from an int_handoff_reps row."""
    return Rep(
        crm=row["crm"],
        rep_id=str(row["rep_id"]),
        email=row.get("email"),
        name=(row.get("rep_name") or "").strip() or None,
        department=row.get("department"),
        title=row.get("title"),
        open_lead_count=float(row.get("open_lead_count") or 0),
        open_pipeline=float(row.get("open_pipeline") or 0),
    )
