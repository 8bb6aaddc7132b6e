"""A segment's errors in words, each tied to what it concerns: a setting (name, review_by, ...) or a rule's
path (rules.all[1].any[0]), so that the builder can show it beside that field and never names a file that
does not exist yet."""

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import ValidationError

from revloop.config.segments import RuleError, Segment, parse_rule

RULE_PATH = re.compile(r"^(rules(?:\.(?:all|any)\[\d+\]|\.not)*)(?:\.(?:all|any))?: (.*)$", re.S)
SETTINGS = ("name", "type", "family", "description", "owner", "members_file", "members", "review_by")
# pydantic's phrases, as a person would say them
PHRASES = (
    ("Field required", "required"),
    ("String should have at least 1 character", "required"),
    ("Input should be a valid integer", "a whole number"),
    ("Input should be a valid number", "a number"),
    ("Input should be a valid string", "text"),
    ("Input should be a valid boolean", "true or false"),
    ("Input should be a valid list", "a list"),
    ("Extra inputs are not permitted", "is not a setting of this kind of rule"),
)
PATTERN_WORDS = {r"^[a-z][a-z0-9_]*$": "lower-case letters, digits and _ only, starting with a letter"}


@dataclass(frozen=True)
class Problem:
    """What is wrong (`message`) and where: a setting name, a rule path, or "segment" for the whole."""

    where: str
    message: str


def in_words(text: str) -> str:
    """Pydantic's wording replaced by plain words; the rest kept."""
    # parse_rule quotes pydantic's messages inside its own ("<rule>: Value error, ...")
    text = text.replace("<rule>: ", "").replace("Value error, ", "")
    for phrase, words in PHRASES:
        text = text.replace(phrase, words)
    return re.sub(
        r"Input should be ((?:'[^']*'(?:, | or )?)+)",
        lambda m: "one of " + ", ".join(re.findall(r"'([^']*)'", m.group(1))),
        text,
    )


def locate(text: str) -> Problem:
    """A problem from one message: a rule path at its start becomes `where`, else the setting it names."""
    match = RULE_PATH.match(text)
    if match:
        return Problem(match.group(1), in_words(match.group(2)))
    named = next((s for s in SETTINGS if re.search(rf"\b{s}\b", text)), None)
    if named is None and "rule" in text:
        named = "rules"
    return Problem(named or "segment", in_words(text))


def explain(data: object, error: str, path: Path) -> list[dict[str, str]]:
    """The problems of a definition that failed with `error` (a SegmentError about file `path`)."""
    problems: list[Problem] = []
    if isinstance(data, dict):
        try:
            Segment.model_validate(data)
        except ValidationError as exc:
            problems = [_from_pydantic(e) for e in exc.errors()]
        if data.get("rules") is not None and not any(p.where.startswith("rules") for p in problems):
            # pydantic checks the rules only once every setting is valid: report both at once
            try:
                parse_rule(data["rules"])
            except RuleError as exc:
                problems.append(locate(str(exc)))
    if not problems:
        problems = [locate(error.removeprefix(f"{path}: "))]
    return [asdict(p) for p in problems]


def _from_pydantic(error: dict) -> Problem:
    loc = [str(p) for p in error["loc"]]
    if not loc:
        return locate(error["msg"].removeprefix("Value error, "))
    where = loc[0] if loc[0] in SETTINGS else "segment"
    kind = error["type"]
    if kind == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern", "")
        return Problem(where, PATTERN_WORDS.get(pattern, f"does not match {pattern}"))
    if kind.startswith("date"):
        return Problem(where, "a date like 2027-03-31")
    if kind == "extra_forbidden":
        return Problem("segment", f"{'.'.join(loc)} is not a segment setting")
    return Problem(where, in_words(error["msg"]))
