"""mask_pii: e-mails, phones and people's names masked in samples shown outside the warehouse (default on)."""

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

MASK_PII_ENV = "REVLOOP_MASK_PII"
OFF = ("0", "false", "no", "off")

# Columns holding an e-mail, a phone or a person's name (company_name, event_name... are not people's names);
# traits is Segment's identify payload, made of those.
PII_COLUMN = re.compile(
    r"e_?mail|phone|mobile|fax|^(first|last|middle|full|given|family|sur|contact|display)?_?name$|^traits$",
    re.I,
)
EMAIL = re.compile(r"([A-Za-z0-9._%+'-])[A-Za-z0-9._%+'-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
MASK = "***"


def mask_pii_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether samples are masked: yes unless REVLOOP_MASK_PII is 0, false, no or off."""
    value = (environ if environ is not None else os.environ).get(MASK_PII_ENV, "")
    return value.strip().lower() not in OFF


def is_pii_column(column: str) -> bool:
    """Whether a column's name says it holds an e-mail, a phone or a person's name."""
    return bool(PII_COLUMN.search(column))


def mask_value(column: str, value: Any) -> Any:
    """A sample value with its personal part hidden; e-mail addresses are masked in every text column."""
    if value is None:
        return None
    if is_pii_column(column):
        text = str(value)
        if EMAIL.fullmatch(text.strip()):
            return EMAIL.sub(rf"\1{MASK}@\2", text.strip())
        if re.search(r"phone|mobile|fax", column, re.I):
            digits = re.sub(r"\D", "", text)
            return MASK + digits[-2:] if len(digits) > 4 else MASK
        if re.search(r"name", column, re.I) and text.strip():
            return text.strip()[0] + MASK
        return MASK
    if isinstance(value, str):
        return EMAIL.sub(rf"\1{MASK}@\2", value)
    return value


def mask_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[tuple]:
    """Rows of a sample with mask_value applied to every cell."""
    return [tuple(mask_value(c, v) for c, v in zip(columns, row, strict=True)) for row in rows]


def mask_records(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Dict rows of a sample with mask_value applied to every cell."""
    return [{c: mask_value(c, v) for c, v in record.items()} for record in records]
