"""Segment files: load config/segments/*.yml, read static member lists, warn about overdue reviews."""

import datetime as dt
import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import ValidationError

from revloop.config import ConfigError, config_dir
from revloop.config.segments import MEMBERS_FILE_RULE, Condition, EventRule, ScoreRule, Segment, walk

DATA_DIR_ENV = "REVLOOP_SEGMENT_DATA_DIR"
# a members list is a hand-made list of ids, not a dump: a larger file is refused, not read
MAX_MEMBERS_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Family:
    """One criteria family: the customer_profiles columns it filters on, and the rule kinds it uses that
    are no column (event / page rules over touchpoints, model scores)."""

    name: str
    description: str
    fields: tuple[str, ...] = ()
    rule_kinds: tuple[str, ...] = ()


# The criteria of each family (design 7.2), the one list the builder offers them from and labels are checked
# against. Where each column's value comes from: docs/enrichment.md.
FAMILIES: tuple[Family, ...] = (
    Family(
        "demographic",
        "Who the person is: age, gender, location, language, income.",
        ("age", "age_range", "gender", "country", "city", "locale", "language", "income_level"),
    ),
    Family(
        "firmographic",
        "The person's company and place in it: industry, size, revenue, department, title, target accounts.",
        (
            "company_name", "company_domain", "email_domain", "industry", "company_industry",
            "employee_count", "company_size_band", "annual_revenue", "revenue_band", "company_country",
            "company_city", "department", "job_title",
        ),
    ),
    Family(
        "behavioural",
        "What the person did: events, pages, engagement, purchases, lifecycle.",
        (
            "engagement_level", "interaction_count", "recent_interaction_count", "last_interaction_at",
            "order_count", "order_revenue", "is_customer", "lifecycle_stage", "first_seen_at", "last_seen_at",
        ),
        ("event", "page_path_prefix"),
    ),
    Family(
        "technographic",
        "What the person and their company use: technology stack, platforms, integrations, roles, devices.",
        (
            "technology_stack", "platform_usage", "integration_count", "user_roles", "browser_family",
            "os_family", "device_type",
        ),
    ),
    Family(
        "psychographic",
        "What the person cares about: interests, values, lifestyle, personality, communication preference.",
        (
            "interests", "top_interest", "personal_values", "lifestyle", "personality",
            "communication_preference",
        ),
    ),
    Family(
        "predictive",
        "What the models expect: scores and sales readiness.",
        ("is_sales_ready",),
        ("score",),
    ),
    Family("list", "A hand-made static list of people (event invitees, hand-picked contacts)."),
)
FAMILY_OF_FIELD = {field: family.name for family in FAMILIES for field in family.fields}


class SegmentError(ValueError):
    """A segment definition that cannot be loaded or compiled; the message starts with its file."""


@dataclass(frozen=True)
class SegmentFile:
    """A validated segment and the file it came from, with its static members resolved."""

    path: Path
    segment: Segment
    members: tuple[str, ...] = ()
    # line number in members_file of each member that came from it (the last ones of `members`): warnings
    # name these lines and never quote them
    file_lines: tuple[int, ...] = ()

    @cached_property
    def _line_of(self) -> dict[str, int]:
        from_file = self.members[len(self.members) - len(self.file_lines) :]
        return dict(zip(from_file, self.file_lines, strict=True))

    def members_file_line(self, member: str) -> int | None:
        """The line of members_file a member came from, None for a member written in the YAML."""
        return self._line_of.get(member)

    def review_warning(self, today: dt.date | None = None) -> str | None:
        """A warning when a static segment's review date has passed."""
        today = today or dt.datetime.now(dt.UTC).date()
        review_by = self.segment.review_by
        if review_by is not None and review_by < today:
            return (
                f"{self.path}: static segment {self.segment.name!r} was due for review on "
                f"{review_by.isoformat()} ({(today - review_by).days} days ago); check its list of members"
            )
        return None


def segments_dir(folder: Path | None = None) -> Path:
    """The folder of segment files: <config dir>/segments."""
    return (folder or config_dir()) / "segments"


def load_segment(path: Path) -> SegmentFile:
    """One segment file, validated; a SegmentError names the file and the offending rule or key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise SegmentError(f"{path}: no such file") from exc
    except yaml.YAMLError as exc:
        raise SegmentError(f"{path}: not valid YAML: {exc}") from exc
    return parse_segment(data, path)


def parse_segment(data: object, path: Path) -> SegmentFile:
    """A segment from already-parsed YAML; `path` names it in errors and anchors a relative members_file."""
    if not isinstance(data, dict):
        raise SegmentError(f"{path}: a segment file holds one mapping (name, type, description, owner, ...)")
    try:
        segment = Segment.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<segment>'}: {e['msg']}" for e in exc.errors()
        )
        raise SegmentError(f"{path}: {problems}") from None
    _check_family(path, segment)
    members, file_lines = _members(path, segment) if segment.type == "static" else ((), ())
    return SegmentFile(path=path, segment=segment, members=members, file_lines=file_lines)


def criteria_families(segment: Segment) -> set[str]:
    """The families of the criteria a segment's rules use (a static segment's: list)."""
    if segment.rules is None:
        return {"list"}
    used = set()
    for rule in walk(segment.rules):
        if isinstance(rule, Condition) and rule.field in FAMILY_OF_FIELD:
            used.add(FAMILY_OF_FIELD[rule.field])
        elif isinstance(rule, EventRule):
            used.add("behavioural")
        elif isinstance(rule, ScoreRule):
            used.add("predictive")
    return used


def _check_family(path: Path, segment: Segment) -> None:
    """A segment's family label must name a family of the criteria it uses: no mislabelled segment."""
    if segment.family is None:
        return
    used = criteria_families(segment)
    if segment.family not in used:
        raise SegmentError(
            f"{path}: family {segment.family!r} is not a family of the criteria it uses "
            f"({', '.join(sorted(used)) or 'none'}): label it with one of those"
        )


def members_roots(path: Path) -> list[Path]:
    """The folders a members_file of segment file `path` may be read from: its own, then the data folder."""
    roots = [path.parent]
    if os.environ.get(DATA_DIR_ENV):
        roots.append(Path(os.environ[DATA_DIR_ENV]))
    return roots


def resolve_members_file(path: Path, name: str) -> Path:
    """Where a members_file lies, links followed; SegmentError when that is outside every allowed folder."""
    candidates = []
    for root in members_roots(path):
        real_root = root.resolve()
        target = (real_root / name).resolve()
        if not target.is_relative_to(real_root):
            raise SegmentError(f"{path}: members_file {name!r}: {MEMBERS_FILE_RULE} (a link leads out of it)")
        candidates.append(target)
    found = next((c for c in candidates if c.exists()), None)
    if found is None:
        raise SegmentError(f"{path}: members_file {name!r} does not exist")
    status = found.stat()
    if not stat.S_ISREG(status.st_mode):
        raise SegmentError(f"{path}: members_file {name!r} is not a regular file")
    if status.st_size > MAX_MEMBERS_FILE_BYTES:
        raise SegmentError(f"{path}: members_file {name!r} is over {MAX_MEMBERS_FILE_BYTES} bytes")
    return found


def _members(path: Path, segment: Segment) -> tuple[tuple[str, ...], tuple[int, ...]]:
    inline = list(segment.members or [])
    from_file: list[str] = []
    if segment.members_file:
        list_path = resolve_members_file(path, segment.members_file)
        try:
            lines = list_path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            # the reason only (strerror): never a line of the file
            raise SegmentError(
                f"{path}: members_file {segment.members_file!r} cannot be read: {exc.strerror}"
            ) from None
        except UnicodeDecodeError:
            raise SegmentError(
                f"{path}: members_file {segment.members_file!r} is not UTF-8 text (one id or e-mail a line)"
            ) from None
        from_file = [line.split("#", 1)[0].strip() for line in lines]
    listed = dict.fromkeys(entry for entry in inline if entry)
    lines_of: dict[str, int] = {}
    for number, entry in enumerate(from_file, start=1):
        if entry and entry not in listed:
            lines_of.setdefault(entry, number)
    members = (*listed, *lines_of)
    if not members:
        raise SegmentError(f"{path}: static segment {segment.name!r} lists no members")
    return members, tuple(lines_of.values())


def load_segments(folder: Path | None = None) -> tuple[list[SegmentFile], list[str]]:
    """Every segment of config/segments (sorted by file), and the errors of files that failed.

    A bad file does not stop the others; two files with the same segment name are both reported.
    """
    directory = segments_dir(folder)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: missing (segment definitions live in config/segments/*.yml)")
    loaded: list[SegmentFile] = []
    errors: list[str] = []
    for path in sorted(directory.glob("*.y*ml")):
        try:
            loaded.append(load_segment(path))
        except SegmentError as exc:
            errors.append(str(exc))
    by_name: dict[str, list[SegmentFile]] = {}
    for item in loaded:
        by_name.setdefault(item.segment.name, []).append(item)
    unique = []
    for name, items in by_name.items():
        if len(items) > 1:
            errors.append(f"segment name {name!r} is defined twice: {', '.join(str(i.path) for i in items)}")
        else:
            unique.append(items[0])
    return sorted(unique, key=lambda item: item.path), errors
