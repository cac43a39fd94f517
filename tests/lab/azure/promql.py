"""Enough of PromQL to tell a query that parses from one that does not, and which type it returns.

Grammar and error wording follow prometheus/prometheus ``promql/parser`` (generated_parser.y, lex.go,
functions.go; v2.53): number, string, vector selector with matchers, range ``[5m]`` and subquery
``[5m:1m]``, ``offset``, function calls, aggregations with ``by``/``without`` before or after the
arguments, unary minus, binary operators with Prometheus' precedence (``^`` right-associative), ``bool``,
``on``/``ignoring`` and ``group_left``/``group_right``. Errors read ``<line>:<col>: parse error: ...``.
Type checks: a range-vector function needs a range vector, an aggregation an instant vector.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

AGGREGATIONS = {"sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
                "count_values", "group", "limitk", "limit_ratio"}
# name -> (argument types, return type); "matrix" arguments must be range vectors.
_OVER_TIME = {f"{k}_over_time" for k in ("avg", "min", "max", "sum", "count", "quantile", "stddev", "stdvar", "last",
                                         "present", "absent", "mad")}
RANGE_FUNCTIONS = {"rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets", "predict_linear",
                   "holt_winters", "double_exponential_smoothing"} | _OVER_TIME
SCALAR_FUNCTIONS = {"scalar", "time", "pi"}
VECTOR_FUNCTIONS = {"abs", "absent", "ceil", "clamp", "clamp_max", "clamp_min", "day_of_month", "day_of_week",
                    "day_of_year", "days_in_month", "exp", "floor", "histogram_quantile", "hour", "label_join",
                    "label_replace", "ln", "log10", "log2", "minute", "month", "round", "sgn", "sort", "sort_desc",
                    "sqrt", "timestamp", "vector", "year", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
                    "tanh", "deg", "rad", "histogram_count", "histogram_sum", "histogram_fraction", "histogram_avg"}
PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<": 3, ">": 3, "<=": 3, ">=": 3,
              "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
_TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<duration>(?:\d+(?:ms|s|m|h|d|w|y))+)(?![A-Za-z0-9_:])
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[Ii]nf\b|[Nn]a[Nn]\b)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|==|!=|<=|>=|[-+*/%^<>=(){}\[\],:@])
""", re.VERBOSE)


class ParseError(ValueError):
    pass


@dataclass
class Node:
    """A parsed expression: its type (scalar, vector, matrix, string) and what evaluation needs."""

    type: str
    kind: str
    value: float | None = None
    text: str = ""
    name: str | None = None
    matchers: list[tuple[str, str, str]] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    op: str = ""


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ParseError(f"1:{pos + 1}: parse error: unexpected character: {text[pos]!r}")  # lex.go errorf
        if match.lastgroup != "ws":
            out.append((match.lastgroup or "", match.group(), pos))
        pos = match.end()
    out.append(("eof", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str, int]:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        self.i += 1
        return token

    def fail(self, what: str | None = None, inside: str = "") -> ParseError:
        """``unexpected <item>`` with the item described as Prometheus' lexer items print themselves
        (promql/parser/lex.go ``Item.desc``): ``end of input``, ``identifier "x"``, ``number "1"``,
        ``"("`` for punctuation, ``<op:^>`` for operators."""
        kind, value, pos = self.peek()
        if what is None:
            if kind == "eof":
                what = "end of input"
            elif kind in ("ident", "number", "duration"):
                what = f'{"identifier" if kind == "ident" else kind} "{value}"'
            elif kind == "string":
                what = f"string {value}"
            elif value in "(){}[],=:@":
                what = f'"{value}"'
            else:
                what = f"<op:{value}>"
        return ParseError(f"1:{pos + 1}: parse error: unexpected {what}{inside}")

    def expect(self, value: str, inside: str = "") -> None:
        if self.peek()[1] != value:
            if value == ")" and self.peek()[0] == "eof":
                raise ParseError(f"1:{self.peek()[2] + 1}: parse error: unclosed left parenthesis")
            raise self.fail(inside=inside)
        self.take()

    def parse(self) -> Node:
        if self.peek()[0] == "eof":
            raise ParseError("1:1: parse error: no expression found in input")
        node = self.binary(1)
        if self.peek()[0] != "eof":
            raise self.fail()
        return node

    def _op(self) -> str | None:
        kind, value, _position = self.peek()
        if kind == "op" and value in PRECEDENCE:
            return value
        if kind == "ident" and value.lower() in ("and", "or", "unless", "atan2"):
            return value.lower()
        return None

    def binary(self, minimum: int) -> Node:
        left = self.unary()
        while (op := self._op()) is not None and PRECEDENCE[op] >= minimum:
            self.take()
            if self.peek()[1] == "bool":
                self.take()
            for keyword in ("on", "ignoring", "group_left", "group_right"):
                if self.peek()[1] == keyword:
                    self.take()
                    if self.peek()[1] == "(":
                        self.labels()
            right = self.binary(PRECEDENCE[op] + (0 if op == "^" else 1))
            if op in ("and", "or", "unless") and "scalar" in (left.type, right.type):
                raise ParseError(f"1:1: parse error: set operator \"{op}\" not allowed in binary scalar expression")
            kind = "scalar" if left.type == right.type == "scalar" else "vector"
            for side in (left, right):
                if side.type in ("matrix", "string"):
                    raise ParseError("1:1: parse error: binary expression must contain only scalar and instant vector types")
            left = Node(kind, "binary", op=op, children=[left, right])
        return left

    def unary(self) -> Node:
        if self.peek()[1] in ("-", "+"):
            sign = self.take()[1]
            inner = self.unary()
            if inner.type not in ("scalar", "vector"):
                raise ParseError("1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector")
            return Node(inner.type, "unary", op=sign, children=[inner])
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        if self.peek()[1] == "[":
            start = self.take()[2]
            if self.peek()[0] != "duration":
                raise self.fail(inside=" in subquery or range selector" if self.peek()[0] != "eof" else "")
            self.take()
            if self.peek()[1] == ":":
                self.take()
                if self.peek()[0] == "duration":
                    self.take()
                if node.type != "vector":
                    raise ParseError(f"1:{start + 1}: parse error: subquery is only allowed on instant vector, got {node.type}")
            elif node.kind != "selector":
                raise ParseError(f"1:{start + 1}: parse error: ranges only allowed for vector selectors")
            self.expect("]")
            node = Node("matrix", "range", children=[node], name=node.name, matchers=node.matchers)
        while self.peek()[1] in ("offset", "@"):
            self.take()
            if self.peek()[1] == "-":
                self.take()
            if self.take()[0] not in ("duration", "number", "ident"):
                raise ParseError("1:1: parse error: unexpected token after offset or @ modifier")
        return node

    def labels(self) -> list[str]:
        self.expect("(")
        names = []
        while self.peek()[1] != ")":
            kind, value, _position = self.take()
            if kind != "ident":
                self.i -= 1
                raise self.fail(inside=" in grouping opts")
            names.append(value)
            if self.peek()[1] == ",":
                self.take()
            elif self.peek()[1] != ")":
                raise self.fail(inside=" in grouping opts")
        self.take()
        return names

    def primary(self) -> Node:
        kind, value, _pos = self.peek()
        if kind == "number":
            self.take()
            return Node("scalar", "number", value=_number(value))
        if kind == "string":
            self.take()
            return Node("string", "string", text=_unquote(value))
        if value == "(":
            self.take()
            inner = self.binary(1)
            self.expect(")")
            return Node(inner.type, "paren", children=[inner], name=inner.name, matchers=inner.matchers)
        if value == "{":
            return self.selector(None)
        if kind == "ident":
            lowered = value.lower()
            if lowered in AGGREGATIONS and self.peek(1)[1] in ("(", "by", "without"):
                return self.aggregation()
            if self.peek(1)[1] == "(":
                return self.call()
            self.take()
            return self.selector(value) if self.peek()[1] == "{" else Node("vector", "selector", name=value)
        raise self.fail()

    def selector(self, name: str | None) -> Node:
        self.expect("{")
        matchers: list[tuple[str, str, str]] = []
        while self.peek()[1] != "}":
            kind, label, _position = self.take()
            if kind != "ident":
                self.i -= 1
                raise self.fail(inside=" inside braces")
            op = self.take()[1]
            if op not in ("=", "!=", "=~", "!~"):
                self.i -= 1
                raise self.fail(inside=" in label matching, expected one of \"=\", \"!=\", \"=~\" or \"!~\"")
            kind, raw, _position = self.take()
            if kind != "string":
                self.i -= 1
                raise self.fail(inside=" in label matching, expected string")
            matchers.append((label, op, _unquote(raw)))
            if self.peek()[1] == ",":
                self.take()
            elif self.peek()[1] != "}":
                raise self.fail(inside=" inside braces")
        self.take()
        if name is None and not any(op in ("=", "=~") and value for _l, op, value in matchers):
            raise ParseError("1:1: parse error: vector selector must contain at least one non-empty matcher")
        return Node("vector", "selector", name=name, matchers=matchers)

    def call(self) -> Node:
        name, pos = self.take()[1], self.peek()[2]
        if name not in RANGE_FUNCTIONS | SCALAR_FUNCTIONS | VECTOR_FUNCTIONS:
            raise ParseError(f"1:{pos}: parse error: unknown function with name \"{name}\"")
        args = self.arguments()
        if name in RANGE_FUNCTIONS and not any(a.type == "matrix" for a in args):
            got = args[0].type if args else "nothing"
            raise ParseError(f"1:{pos + 1}: parse error: expected type range vector in call to function \"{name}\", "
                             f"got {_type_name(got)}")
        return Node("scalar" if name in SCALAR_FUNCTIONS else "vector", "call", name=name, children=args)

    def aggregation(self) -> Node:
        name = self.take()[1]
        if self.peek()[1] in ("by", "without"):
            self.take()
            self.labels()
        pos = self.peek()[2]
        args = self.arguments()
        if self.peek()[1] in ("by", "without"):
            self.take()
            self.labels()
        if not args or args[-1].type != "vector":
            got = args[-1].type if args else "nothing"
            raise ParseError(f"1:{pos + 2}: parse error: expected type instant vector in aggregation expression, "
                             f"got {_type_name(got)}")
        return Node("vector", "aggregation", name=name, children=args)

    def arguments(self) -> list[Node]:
        self.expect("(")
        args = []
        while self.peek()[1] != ")":
            args.append(self.binary(1))
            if self.peek()[1] == ",":
                self.take()
            elif self.peek()[1] != ")":
                self.expect(")")
        self.take()
        return args


def _type_name(kind: str) -> str:
    return {"vector": "instant vector", "matrix": "range vector"}.get(kind, kind)


def _number(text: str) -> float:
    lowered = text.lower()
    if lowered.startswith("0x"):
        return float(int(lowered, 16))
    return float(lowered)


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return body if raw[0] == "`" else re.sub(r"\\(.)", r"\1", body)


def parse(text: str) -> Node:
    return _Parser(text).parse()


def constant(node: Node) -> float | None:
    """The value of an expression made of number literals only (else None)."""
    if node.kind == "number":
        return node.value
    if node.kind == "paren":
        return constant(node.children[0])
    if node.kind == "unary":
        inner = constant(node.children[0])
        return None if inner is None else (-inner if node.op == "-" else inner)
    if node.kind == "binary" and node.op in ("+", "-", "*", "/", "%", "^"):
        a, b = constant(node.children[0]), constant(node.children[1])
        if a is None or b is None:
            return None
        try:
            return {"+": a + b, "-": a - b, "*": a * b, "^": a ** b}.get(node.op) if node.op not in ("/", "%") else (
                (a / b if node.op == "/" else a % b) if b else (float("nan") if a == 0 or node.op == "%" else
                                                                float("inf") if a > 0 else float("-inf")))
        except OverflowError:
            return float("inf")
    return None


def series_of(node: Node) -> dict[str, str] | None:
    """The label set a bare selector with equality matchers names (None for anything else)."""
    if node.kind != "selector" or any(op != "=" for _l, op, _v in node.matchers):
        return None
    labels = {label: value for label, _op, value in node.matchers}
    if node.name:
        labels["__name__"] = node.name
    return labels


def matches(node: Node, labels: dict[str, Any]) -> bool:
    """Whether a series' labels satisfy a selector (``match[]`` of the series API)."""
    checks = list(node.matchers) + ([("__name__", "=", node.name)] if node.name else [])
    for label, op, value in checks:
        have = str(labels.get(label, ""))
        hit = have == value if op in ("=", "!=") else re.fullmatch(value, have) is not None
        if hit != (op in ("=", "=~")):
            return False
    return True
