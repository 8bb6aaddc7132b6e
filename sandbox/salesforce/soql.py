"""A parser for the subset of SOQL the sandbox answers: SELECT ... FROM ... WHERE ... ORDER BY ... LIMIT."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sandbox.salesforce.values import parse_date, parse_datetime


class SoqlSyntaxError(Exception):
    """A query Salesforce would reject as MALFORMED_QUERY; pos is the character offset of the culprit."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, date, datetime, date_literal
    value: object
    pos: int


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str  # = != < <= > >= IN NOT IN LIKE
    value: Literal | tuple[Literal, ...]
    pos: int


@dataclass(frozen=True)
class Not:
    operand: object


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND, OR
    operands: tuple


@dataclass(frozen=True)
class OrderItem:
    field: str
    descending: bool
    nulls_last: bool
    pos: int


@dataclass(frozen=True)
class Query:
    fields: tuple[tuple[str, int], ...]  # (name as written, position); FIELDS(ALL) etc. kept as written
    count_only: bool
    object_name: str
    object_pos: int
    where: object | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    text: str


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>[+-]?\d+(?:\.\d+)?)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),:])
    )""",
    re.VERBOSE,
)
_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    "'": "'",
    '"': '"',
    "\\": "\\",
    "%": "\\%",
    "_": "\\_",
}
_RELATIVE_DATES = {"TODAY", "YESTERDAY", "TOMORROW"}
_N_DATES = {"LAST_N_DAYS", "NEXT_N_DAYS"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.lastgroup is None:
            start = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise SoqlSyntaxError(f"unexpected token: '{text[start]}'", start)
        kind = match.lastgroup
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _unescape(quoted: str) -> str:
    # LIKE wildcards escaped as \% and \_ stay escaped so the LIKE matcher can tell them apart.
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), quoted[1:-1])


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def is_keyword(self, *words: str) -> bool:
        return self.token.kind == "ident" and self.token.text.upper() in words

    def expect_keyword(self, word: str) -> _Token:
        if not self.is_keyword(word):
            self.unexpected()
        return self.advance()

    def expect_punct(self, char: str) -> _Token:
        if self.token.text != char or self.token.kind != "punct":
            self.unexpected()
        return self.advance()

    def unexpected(self):
        token = self.token
        if token.kind == "end":
            raise SoqlSyntaxError("unexpected token: <EOF>", token.pos)
        raise SoqlSyntaxError(f"unexpected token: '{token.text}'", token.pos)

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        fields, count_only = self.select_list()
        self.expect_keyword("FROM")
        if self.token.kind != "ident":
            self.unexpected()
        obj = self.advance()
        where = order_by = limit = offset = None
        if self.is_keyword("WHERE"):
            self.advance()
            where = self.condition()
        if self.is_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            order_by = self.order_list()
        if self.is_keyword("LIMIT"):
            self.advance()
            limit = self.non_negative_int()
        if self.is_keyword("OFFSET"):
            self.advance()
            offset = self.non_negative_int()
        if self.token.kind != "end":
            self.unexpected()
        return Query(
            tuple(fields),
            count_only,
            obj.text,
            obj.pos,
            where,
            tuple(order_by or ()),
            limit,
            offset,
            self.text,
        )

    def select_list(self) -> tuple[list[tuple[str, int]], bool]:
        if self.is_keyword("COUNT") and self.tokens[self.i + 1].text == "(":
            self.advance()
            self.expect_punct("(")
            self.expect_punct(")")
            return [], True
        fields = []
        while True:
            if self.token.kind != "ident" or self.token.text.upper() == "FROM":
                self.unexpected()
            token = self.advance()
            if token.text.upper() == "FIELDS" and self.token.text == "(":
                self.advance()
                if not self.is_keyword("ALL", "STANDARD", "CUSTOM"):
                    self.unexpected()
                fields.append((f"FIELDS({self.advance().text.upper()})", token.pos))
                self.expect_punct(")")
            elif self.token.text == "(":
                raise SoqlSyntaxError(
                    f"Aggregate function {token.text}() is not supported by the sandbox", token.pos
                )
            else:
                fields.append((token.text, token.pos))
            if self.token.text != ",":
                return fields, False
            self.advance()

    def condition(self) -> object:
        operands = [self.term()]
        op = None
        while self.is_keyword("AND", "OR"):
            word = self.token.text.upper()
            if op is not None and word != op:
                self.unexpected()  # SOQL demands parentheses when AND and OR are mixed
            op = word
            self.advance()
            operands.append(self.term())
        return operands[0] if op is None else BoolOp(op, tuple(operands))

    def term(self) -> object:
        if self.is_keyword("NOT"):
            self.advance()
            return Not(self.term())
        if self.token.text == "(" and self.token.kind == "punct":
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        if self.token.kind != "ident":
            self.unexpected()
        field = self.advance()
        if self.token.kind == "op":
            op = self.advance().text
            return Comparison(field.text, "!=" if op == "<>" else op, self.literal(), field.pos)
        if self.is_keyword("LIKE"):
            self.advance()
            value = self.literal()
            if value.kind != "string":
                raise SoqlSyntaxError("LIKE needs a quoted string pattern", value.pos)
            return Comparison(field.text, "LIKE", value, field.pos)
        negate = False
        if self.is_keyword("NOT"):
            self.advance()
            negate = True
        if self.is_keyword("IN"):
            self.advance()
            self.expect_punct("(")
            values = [self.literal()]
            while self.token.text == ",":
                self.advance()
                values.append(self.literal())
            self.expect_punct(")")
            return Comparison(field.text, "NOT IN" if negate else "IN", tuple(values), field.pos)
        self.unexpected()

    def literal(self) -> Literal:
        token = self.token
        kind = token.kind
        if kind == "string":
            self.advance()
            return Literal("string", _unescape(token.text), token.pos)
        if kind == "number":
            self.advance()
            return Literal("number", float(token.text) if "." in token.text else int(token.text), token.pos)
        if kind == "datetime":
            self.advance()
            return Literal("datetime", parse_datetime(token.text), token.pos)
        if kind == "date":
            self.advance()
            try:
                return Literal("date", parse_date(token.text), token.pos)
            except ValueError as exc:
                raise SoqlSyntaxError(f"invalid date: {token.text}", token.pos) from exc
        if kind == "ident":
            word = token.text.upper()
            if word in ("TRUE", "FALSE"):
                self.advance()
                return Literal("boolean", word == "TRUE", token.pos)
            if word == "NULL":
                self.advance()
                return Literal("null", None, token.pos)
            if word in _RELATIVE_DATES:
                self.advance()
                return Literal("date_literal", (word, 0), token.pos)
            if word in _N_DATES:
                self.advance()
                self.expect_punct(":")
                return Literal("date_literal", (word, self.non_negative_int()), token.pos)
        self.unexpected()

    def order_list(self) -> list[OrderItem]:
        items = []
        while True:
            if self.token.kind != "ident":
                self.unexpected()
            field = self.advance()
            descending = False
            if self.is_keyword("ASC", "DESC"):
                descending = self.advance().text.upper() == "DESC"
            nulls_last = descending  # Salesforce's default: nulls first ascending, last descending
            if self.is_keyword("NULLS"):
                self.advance()
                if not self.is_keyword("FIRST", "LAST"):
                    self.unexpected()
                nulls_last = self.advance().text.upper() == "LAST"
            items.append(OrderItem(field.text, descending, nulls_last, field.pos))
            if self.token.text != ",":
                return items
            self.advance()

    def non_negative_int(self) -> int:
        token = self.token
        if token.kind != "number" or not token.text.isdigit():
            self.unexpected()
        self.advance()
        return int(token.text)


def parse(text: str) -> Query:
    """The parsed query, or SoqlSyntaxError."""
    return _Parser(text).parse()


def relative_date_range(literal: tuple[str, int], today: date) -> tuple[date, date]:
    """[first, last] day covered by a relative date literal such as LAST_N_DAYS:30."""
    word, n = literal
    if word == "TODAY":
        return today, today
    if word == "YESTERDAY":
        return today - timedelta(days=1), today - timedelta(days=1)
    if word == "TOMORROW":
        return today + timedelta(days=1), today + timedelta(days=1)
    if word == "LAST_N_DAYS":
        return today - timedelta(days=n), today
    return today + timedelta(days=1), today + timedelta(days=n)
