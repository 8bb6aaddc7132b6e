"""Segment files: load config/segments/*.yml, read static member lists, warn about overdue reviews."""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from revloop.config import ConfigError, config_dir
from revloop.config.segments import Segment


class SegmentError(ValueError):
    """A segment definition that cannot be loaded or compiled; the message starts with its file."""


@dataclass(frozen=True)
class SegmentFile:
    """A validated segment and the file it came from, with its static members resolved."""

    path: Path
    segment: Segment
    members: tuple[str, ...] = ()

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
    members = _members(path, segment) if segment.type == "static" else ()
    return SegmentFile(path=path, segment=segment, members=members)


def _members(path: Path, segment: Segment) -> tuple[str, ...]:
    entries = list(segment.members or [])
    if segment.members_file:
        list_path = (path.parent / segment.members_file).resolve()
        try:
            lines = list_path.read_text().splitlines()
        except OSError as exc:
            raise SegmentError(
                f"{path}: members_file {segment.members_file!r} cannot be read: {exc}"
            ) from None
        entries += [line.split("#", 1)[0].strip() for line in lines]
    members = tuple(dict.fromkeys(entry for entry in entries if entry))
    if not members:
        raise SegmentError(f"{path}: static segment {segment.name!r} lists no members")
    return members


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
