"""Config expressions: Python syntax made element-wise on numpy and awkward columns, nothing else allowed."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from rootml.errors import ConfigError
from rootml.ingest.expressions import Expression

COLUMNS = {"pt": np.array([10.0, 40.0, 80.0, 120.0]), "eta": np.array([0.5, -2.6, 1.0, -0.2]),
           "flag": ak.Array([1, 0, 1, 1])}


@pytest.mark.parametrize(("text", "expected"), [
    ("pt > 30 and abs(eta) < 2.4", [False, False, True, True]),
    ("30 < pt <= 80", [False, True, True, False]),
    ("not flag or pt > 100", [False, True, False, True]),
    ("(pt > 50) & (flag == 1)", [False, False, True, True]),
    ("where(eta > 0, pt, -pt) / 10", [1.0, -4.0, 8.0, -12.0]),
    ("sqrt(pt) * cos(0) + pi - pi", [np.sqrt(10), np.sqrt(40), np.sqrt(80), np.sqrt(120)]),
])
def test_evaluates_element_wise(text: str, expected: list) -> None:
    """and/or/not and chained comparisons act per row; whitelisted numpy functions and pi are available."""
    result = Expression.parse(text, "k").evaluate(COLUMNS)
    np.testing.assert_allclose(np.asarray(ak.to_numpy(result) if isinstance(result, ak.Array) else result, dtype=float),
                               np.asarray(expected, dtype=float))


def test_names_are_the_columns_read() -> None:
    """Function names and constants are not column names."""
    assert Expression.parse("abs(eta) < pi and pt > 1", "k").names == {"eta", "pt"}


@pytest.mark.parametrize("text", ["pt.real", "open('x')", "[pt]", "pt if eta else 1", "lambda: 1", "abs(pt, out=pt)"])
def test_refuses_anything_but_arithmetic(text: str) -> None:
    """Attributes, unknown calls, keywords, containers, conditionals and lambdas are config errors naming the key."""
    with pytest.raises(ConfigError, match="samples.x.selection"):
        Expression.parse(text, "samples.x.selection")


def test_unknown_column_names_the_key() -> None:
    """Evaluating without a column the expression needs names the key and the column."""
    with pytest.raises(ConfigError, match=r"samples.x.weight.*\['mass'\]"):
        Expression.parse("mass * 2", "samples.x.weight").evaluate(COLUMNS)


def test_calls_of_attributes_are_unsupported_syntax() -> None:
    """A call through attribute access (the code-injection shape) is refused as unsupported syntax."""
    with pytest.raises(ConfigError, match="samples.x.branches.y.*unsupported syntax"):
        Expression.parse("(pt*1).__class__.__init__.__globals__['os'].system('ls') + pt", "samples.x.branches.y")


@pytest.mark.parametrize("text", ["Jet_pt", "Jet.PT", "Jet/Jet.PT", "Jet/Jet.Tau[5]"])
def test_plain_branch_names_are_read_as_is(text: str) -> None:
    """A `branches` value that is a plain branch name (Delphes-style included) reads that one column."""
    expression = Expression.parse_source(text, "samples.x.branches.y")
    assert expression.is_branch and expression.names == {text}
    assert expression.evaluate({text: COLUMNS["pt"]}) is COLUMNS["pt"]


def test_other_sources_are_safe_expressions() -> None:
    """A `branches` value that is not a plain name is a safe expression over the names it reads."""
    expression = Expression.parse_source("sqrt(pt**2 + eta**2)", "samples.x.branches.y")
    assert not expression.is_branch and expression.names == {"pt", "eta"}
    np.testing.assert_allclose(expression.evaluate(COLUMNS), np.hypot(COLUMNS["pt"], COLUMNS["eta"]))
    with pytest.raises(ConfigError, match="samples.x.branches.y.*unsupported syntax"):
        Expression.parse_source("Jet.PT * 2", "samples.x.branches.y")


def test_branch_reads_a_dotted_name() -> None:
    """branch("Jet.Flavor") reads the column of that (non-identifier) name; it counts among the names read."""
    columns = {**COLUMNS, "Jet.Flavor": np.array([5, 0, 5, 4]), "Jet/Jet.PT": COLUMNS["pt"]}
    expression = Expression.parse('branch("Jet.Flavor") == 5 and branch("Jet/Jet.PT") > eta', "samples.x.labels.b")
    assert expression.names == {"Jet.Flavor", "Jet/Jet.PT", "eta"}
    np.testing.assert_array_equal(expression.evaluate(columns), [True, False, True, False])
    source = Expression.parse_source('branch("Jet.Flavor") * 2', "samples.x.branches.y")
    assert not source.is_branch and source.names == {"Jet.Flavor"}
    np.testing.assert_array_equal(source.evaluate(columns), [10, 0, 10, 8])


@pytest.mark.parametrize("text", ['branch(pt)', 'branch("a", "b")', "branch(1)", 'branch("")', 'abs(branch)(pt)'])
def test_branch_takes_one_string_constant(text: str) -> None:
    """branch() with anything but one non-empty string constant is a config error naming the key."""
    with pytest.raises(ConfigError, match=r"samples\.x\.selection"):
        Expression.parse(text, "samples.x.selection")


def test_dotted_names_hint_at_branch() -> None:
    """A dotted name written bare is attribute syntax, refused with the branch("...") spelling to use instead."""
    with pytest.raises(ConfigError, match=r'unsupported syntax \(Attribute\); .* branch\("Jet.Flavor"\)'):
        Expression.parse("Jet.Flavor == 5", "samples.x.labels.b")
