"""HubSpot-defined association types between the sandbox's object types, and the association graph."""

from collections import defaultdict
from dataclasses import dataclass

from sandbox.hubspot.errors import validation_error


@dataclass(frozen=True)
class AssociationType:
    """One HUBSPOT_DEFINED association type, in one direction."""

    type_id: int
    from_type: str
    to_type: str
    label: str | None = None  # "Primary" for the primary company of a contact or deal

    @property
    def v3_name(self) -> str:
        base = f"{self.from_type[:-1]}_to_{self.to_type[:-1]}".replace("companie", "company")
        return base if self.label else f"{base}_unlabeled" if self.type_id in _HAS_PRIMARY_TWIN else base


# HubSpot's default type ids; (unlabeled id, primary id or None) per direction.
_DEFAULTS: dict[tuple[str, str], tuple[int, int | None]] = {
    ("contacts", "companies"): (279, 1),
    ("companies", "contacts"): (280, 2),
    ("deals", "companies"): (341, 5),
    ("companies", "deals"): (342, 6),
    ("deals", "contacts"): (3, None),
    ("contacts", "deals"): (4, None),
    ("tasks", "contacts"): (204, None),
    ("contacts", "tasks"): (203, None),
    ("tasks", "companies"): (192, None),
    ("companies", "tasks"): (191, None),
    ("tasks", "deals"): (216, None),
    ("deals", "tasks"): (215, None),
}
_HAS_PRIMARY_TWIN = {unlabeled for unlabeled, primary in _DEFAULTS.values() if primary}
TYPES: dict[int, AssociationType] = {}
for (_from, _to), (_unlabeled, _primary) in _DEFAULTS.items():
    TYPES[_unlabeled] = AssociationType(_unlabeled, _from, _to)
    if _primary:
        TYPES[_primary] = AssociationType(_primary, _from, _to, "Primary")


def _inverse(type_: AssociationType) -> AssociationType:
    unlabeled, primary = _DEFAULTS[(type_.to_type, type_.from_type)]
    return TYPES[primary if type_.label else unlabeled]


class AssociationGraph:
    """Typed links between records, kept in both directions as HubSpot does."""

    def __init__(self) -> None:
        # (from_type, from_id, to_type) -> to_id -> type ids
        self._links: dict[tuple[str, str, str], dict[str, set[int]]] = defaultdict(dict)

    def default_type(self, from_type: str, to_type: str) -> AssociationType:
        if (from_type, to_type) not in _DEFAULTS:
            raise validation_error(f"No association type is defined from {from_type} to {to_type}.")
        return TYPES[_DEFAULTS[(from_type, to_type)][0]]

    def type_for(
        self, from_type: str, to_type: str, type_id: int, category: str = "HUBSPOT_DEFINED"
    ) -> AssociationType:
        type_ = TYPES.get(int(type_id))
        if (
            category != "HUBSPOT_DEFINED"
            or type_ is None
            or (type_.from_type, type_.to_type) != (from_type, to_type)
        ):
            raise validation_error(
                f"{category} association type {type_id} is not valid from {from_type} to {to_type}."
            )
        return type_

    def link(self, type_: AssociationType, from_id: str, to_id: str) -> None:
        """Associate two records with the type and its inverse."""
        inverse = _inverse(type_)
        self._links[(type_.from_type, from_id, type_.to_type)].setdefault(to_id, set()).add(type_.type_id)
        self._links[(inverse.from_type, to_id, inverse.to_type)].setdefault(from_id, set()).add(
            inverse.type_id
        )

    def link_default(self, from_type: str, from_id: str, to_type: str, to_id: str) -> list[AssociationType]:
        """The unlabeled association, plus primary when the record has no primary of that kind yet."""
        created = [self.default_type(from_type, to_type)]
        primary_id = _DEFAULTS[(from_type, to_type)][1]
        if primary_id and not any(
            primary_id in ids for ids in self.targets(from_type, from_id, to_type).values()
        ):
            created.append(TYPES[primary_id])
        for type_ in created:
            self.link(type_, from_id, to_id)
        return created

    def unlink(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self._links[(from_type, from_id, to_type)].pop(to_id, None)
        self._links[(to_type, to_id, from_type)].pop(from_id, None)

    def targets(self, from_type: str, from_id: str, to_type: str) -> dict[str, set[int]]:
        """to_id -> type ids of a record's associations with to_type."""
        return self._links.get((from_type, from_id, to_type), {})

    def move_record(self, object_type: str, old_id: str, new_id: str) -> None:
        """Give every association of a record to another one (a merge's survivor)."""
        for from_type, to_type in _DEFAULTS:
            if from_type != object_type:
                continue
            for to_id, type_ids in self._links.pop((from_type, old_id, to_type), {}).items():
                if to_id in (old_id, new_id):
                    continue
                self._links[(from_type, new_id, to_type)].setdefault(to_id, set()).update(type_ids)
                inverse = self._links[(to_type, to_id, from_type)]
                inverse.setdefault(new_id, set()).update(inverse.pop(old_id, set()))

    def drop_record(self, object_type: str, record_id: str) -> None:
        """Remove every association of an archived record."""
        for from_type, to_type in _DEFAULTS:
            if from_type == object_type:
                for to_id in self._links.pop((from_type, record_id, to_type), {}):
                    self._links[(to_type, to_id, from_type)].pop(record_id, None)
