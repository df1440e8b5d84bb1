"""Config expressions (branch mappings, selection, weight, labels, event id) evaluated on columns.

Every expression of a config is parsed here with `ast` into a small, safe subset of Python whose
operations numpy and awkward both dispatch, and evaluated by rootml: on the branches read (mapped
columns, jagged ones included), on canonical columns derived after reading (e.g. jet_pt from
Jet_Px/Jet_Py) and on HDF5 columns. uproot's own expression language is never used: it allows
attribute access, so a config could run arbitrary code. A branch whose name is no identifier (Delphes'
`Jet.Flavor`) is read inside an expression as `branch("Jet.Flavor")`: its one argument is a string constant.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rootml.errors import ConfigError

FUNCTIONS: dict[str, Any] = {
    name: getattr(np, name)
    for name in (
        "abs", "sqrt", "exp", "log", "log10", "sin", "cos", "tan", "arctan2", "sinh", "cosh", "tanh",
        "arcsinh", "hypot", "minimum", "maximum", "where", "isfinite", "floor", "ceil",
    )
}
CONSTANTS: dict[str, float] = {"pi": float(np.pi)}
BRANCH_FUNCTION = "branch"
# A plain branch name, read as is: an identifier, Delphes' short `Jet.PT` or full `Jet/Jet.PT` (`Jet/Jet.Tau[5]`).
BRANCH_NAME = re.compile(r"^[A-Za-z_][\w.]*$|^([A-Za-z_]\w*)/\1\.[\w.\[\]]+$")

_ALLOWED_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Name, ast.Load, ast.Constant, ast.Call,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)


def _truth(node: ast.AST) -> ast.AST:
    """`node` as a boolean array: comparisons already are, anything else is compared with 0 (Python truthiness)."""
    if isinstance(node, ast.Compare):
        return node
    return ast.Compare(left=node, ops=[ast.NotEq()], comparators=[ast.Constant(0)])


class _BranchCalls(ast.NodeTransformer):
    """Replace each `branch("name")` by a name of its own (`__branch0__`, ...), remembering which branch it reads."""

    def __init__(self, key: str, source: str) -> None:
        """Start with no branch call seen; errors name `key` and the expression `source`."""
        self.key, self.source = key, source
        self.aliases: dict[str, str] = {}

    def visit_Call(self, node: ast.Call) -> ast.AST:
        """`branch("Jet.Flavor")` -> `__branchN__`; other calls are visited as they are."""
        self.generic_visit(node)
        if not (isinstance(node.func, ast.Name) and node.func.id == BRANCH_FUNCTION):
            return node
        if node.keywords or len(node.args) != 1 or not isinstance(node.args[0], ast.Constant) or not (
            isinstance(node.args[0].value, str) and node.args[0].value
        ):
            raise ConfigError(self.key, f"expression {self.source!r}: {BRANCH_FUNCTION}() takes one string constant, "
                                        f'the branch name, e.g. {BRANCH_FUNCTION}("Jet.Flavor")')
        alias = f"__branch{len(self.aliases)}__"
        self.aliases[alias] = node.args[0].value
        return ast.copy_location(ast.Name(id=alias, ctx=ast.Load()), node)


class _ToElementwise(ast.NodeTransformer):
    """Rewrite `and`/`or`/`not` and chained comparisons into the element-wise `&`, `|`, `~`."""

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        """`a and b and c` -> `(a != 0) & (b != 0) & (c != 0)` (and `|` for `or`)."""
        self.generic_visit(node)
        op = ast.BitAnd() if isinstance(node.op, ast.And) else ast.BitOr()
        result = _truth(node.values[0])
        for value in node.values[1:]:
            result = ast.BinOp(left=result, op=op, right=_truth(value))
        return result

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        """`not a` -> `~(a != 0)`."""
        self.generic_visit(node)
        return ast.UnaryOp(op=ast.Invert(), operand=_truth(node.operand)) if isinstance(node.op, ast.Not) else node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        """`a < b < c` -> `(a < b) & (b < c)`."""
        self.generic_visit(node)
        operands = [node.left, *node.comparators]
        pairs = [
            ast.Compare(left=operands[i], ops=[op], comparators=[operands[i + 1]]) for i, op in enumerate(node.ops)
        ]
        result: ast.AST = pairs[0]
        for pair in pairs[1:]:
            result = ast.BinOp(left=result, op=ast.BitAnd(), right=pair)
        return result


@dataclass(frozen=True)
class Expression:
    """A parsed config expression: its text, config key, the column names it reads, and compiled code.

    `code` is None for a plain branch name (`parse_source`), which evaluates to that column as is;
    `aliases` maps the name each `branch("...")` call became in `code` to the branch it reads.
    """

    text: str
    key: str
    names: frozenset[str]
    code: Any = field(repr=False, compare=False)
    aliases: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, text: object, key: str) -> Expression:
        """Parse `text` (a string or number) or raise ConfigError naming `key`."""
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise ConfigError(key, f"expected an expression string or a number, got {text!r}")
        source = str(text)
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as err:
            raise ConfigError(key, f"cannot parse expression {source!r}: {err.msg}") from None
        unsupported = next((node for node in ast.walk(tree) if not isinstance(node, _ALLOWED_NODES)), None)
        if unsupported is not None:
            hint = (f'; a dotted branch name is written {BRANCH_FUNCTION}("{ast.unparse(unsupported)}")'
                    if isinstance(unsupported, ast.Attribute) else "")
            raise ConfigError(
                key, f"expression {source!r} uses unsupported syntax ({type(unsupported).__name__}){hint}"
            )
        branches = _BranchCalls(key, source)
        tree = branches.visit(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (
                not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords
            ):
                allowed = sorted([*FUNCTIONS, BRANCH_FUNCTION])
                raise ConfigError(key, f"expression {source!r}: only calls of {allowed} are allowed")
        tree = ast.fix_missing_locations(_ToElementwise().visit(tree))
        names = frozenset(
            branches.aliases.get(node.id, node.id) for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in CONSTANTS
        )
        return cls(source, key, names, compile(tree, f"<{key}>", "eval"), branches.aliases)

    @classmethod
    def parse_source(cls, text: str, key: str) -> Expression:
        """A `branches` value: a plain branch name (matching BRANCH_NAME) read as is, anything else `parse`d."""
        if BRANCH_NAME.fullmatch(text):
            return cls(text, key, frozenset({text}), None)
        return cls.parse(text, key)

    @property
    def is_branch(self) -> bool:
        """Whether the expression is a plain branch name, read as is."""
        return self.code is None

    def evaluate(self, columns: Mapping[str, Any]) -> Any:
        """Evaluate on `columns` (name -> per-row array); a missing name raises ConfigError."""
        missing = sorted(self.names - set(columns))
        if missing:
            raise ConfigError(self.key, f"expression {self.text!r} uses unknown column(s) {missing}")
        if self.code is None:
            return columns[self.text]
        scope = {**FUNCTIONS, **CONSTANTS, **{name: columns[name] for name in self.names}}
        scope |= {alias: columns[branch] for alias, branch in self.aliases.items()}
        return eval(self.code, {"__builtins__": {}}, scope)  # noqa: S307 (AST checked above: no attributes, no builtins)
