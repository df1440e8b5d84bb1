"""Every rule runs in its declared environment: envs/*.yaml provide every package the rule's script imports, directly
or through the rootml modules it imports (rootml itself comes from the workflow's src/, which every script puts on its
path), at the versions pyproject.toml pins.

There is no conda on the test machine, so the environments are checked statically: the import closure of each rule's
script (from its `script:` and `conda:` directives) against the pip packages its environment file lists.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
# Calls whose package is imported by another package at run time, not by an import statement of ours.
RUNTIME_NEEDS: dict[str, str] = {
    ".to_markdown(": "tabulate",  # pandas imports tabulate inside DataFrame.to_markdown
    ".to_parquet(": "pyarrow", "read_parquet(": "pyarrow",  # pandas' parquet engine
    "torch.onnx.export(": "onnxscript",  # torch's dynamo ONNX exporter
}


def normalized(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def rule_directives() -> dict[str, dict[str, str]]:
    """rule -> {script, conda} paths (relative to the repository), `use rule ... as ...` inheriting its parent's."""
    rules: dict[str, dict[str, str]] = {}
    inherited: dict[str, str] = {}  # child -> parent, resolved once every file is read (a parent may come later)
    for smk in sorted((REPO / "rules").glob("*.smk")):
        lines = smk.read_text().splitlines()
        current = None
        for index, line in enumerate(lines):
            if match := re.match(r"^rule (\w+):", line):
                current = rules.setdefault(match.group(1), {})
            elif match := re.match(r"^use rule (\w+) as (\w+)", line):
                inherited[match.group(2)] = match.group(1)
                current = None
            elif current is not None and (match := re.match(r"^    (script|conda):\s*$", line)):
                path = lines[index + 1].strip().strip('"')
                current[match.group(1)] = str((smk.parent / path).resolve().relative_to(REPO))
    for child, parent in inherited.items():
        while parent in inherited:
            parent = inherited[parent]
        rules[child] = rules[parent]
    return rules


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported anywhere in a file (functions included), except under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text())
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
               for node in ast.walk(block)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}  # submodules imported by name
    return names


def rootml_file(module: str) -> Path | None:
    """The source file of a rootml module or package, None if `module` is not one (e.g. a function's name)."""
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def import_closure(script: Path) -> tuple[set[str], set[Path]]:
    """Top-level third-party modules imported by `script` and the rootml modules it reaches, and those modules."""
    third_party: set[str] = set()
    seen: set[Path] = set()
    pending = [script]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top == "rootml":
                parts = module.split(".")
                for depth in range(1, len(parts) + 1):  # a module runs its packages' __init__ first
                    found = rootml_file(".".join(parts[:depth]))
                    if found is not None:
                        pending.append(found)
            elif top not in sys.stdlib_module_names and top != "__future__":
                third_party.add(top)
    return third_party, seen


def needed_distributions(script: Path) -> set[str]:
    """Normalized names of the distributions the script's import closure needs."""
    modules, files = import_closure(script)
    providers = metadata.packages_distributions()
    needed = set()
    for module in modules:
        assert module in providers, f"{script}: no installed distribution provides '{module}'"
        needed |= {normalized(name) for name in providers[module]}
    text = "\n".join(path.read_text() for path in files)
    needed |= {normalized(package) for call, package in RUNTIME_NEEDS.items() if call in text}
    return needed


def env_packages(env_file: Path) -> dict[str, str]:
    """Normalized pip package name -> pinned version listed by a conda environment file."""
    spec = yaml.safe_load(env_file.read_text())
    pip = next(entry["pip"] for entry in spec["dependencies"] if isinstance(entry, dict) and "pip" in entry)
    packages = {}
    for line in pip:
        if line.startswith("-"):
            continue  # pip options such as --extra-index-url
        name, _, version = line.partition("==")
        packages[normalized(name)] = version
    return packages


def project_pins() -> dict[str, str]:
    """Normalized name -> version of the dependencies pyproject.toml pins."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {normalized(name): version for name, _, version in
            (dependency.partition("==") for dependency in project["dependencies"])}


RULES = rule_directives()


def test_every_rule_declares_a_script_and_an_environment() -> None:
    expected = {"generate", "ingest", "preprocess", "fit_preprocessing", "prepare", "plot_inputs", "train", "train_bdt",
                "prune", "plot_pruning", "rank", "evaluate", "summary"}
    assert expected <= set(RULES)
    for rule, directives in RULES.items():
        assert {"script", "conda"} <= set(directives), rule
        assert (REPO / directives["conda"]).is_file() and (REPO / directives["script"]).is_file(), rule


@pytest.mark.parametrize("rule", sorted(RULES))
def test_environment_provides_every_import_of_the_rule(rule: str) -> None:
    directives = RULES[rule]
    listed = env_packages(REPO / directives["conda"])
    missing = sorted(needed_distributions(REPO / directives["script"]) - set(listed))
    assert not missing, f"rule {rule}: {directives['conda']} lacks {missing}, imported by {directives['script']}"


@pytest.mark.parametrize("env_file", sorted((REPO / "envs").glob("*.yaml")), ids=lambda path: path.name)
def test_environment_pins_the_project_versions(env_file: Path) -> None:
    pins = project_pins()
    for name, version in env_packages(env_file).items():
        assert name in pins and version == pins[name], f"{env_file.name}: {name}=={version}, pyproject has " \
                                                       f"{pins.get(name)}"


def test_closure_follows_rootml_modules_into_their_imports() -> None:
    """The check is not vacuous: the train script reaches torch only through rootml, and summary needs tabulate."""
    script = REPO / RULES["train"]["script"]
    assert "torch" not in imported_modules(script)
    assert "torch" in import_closure(script)[0]
    assert "tabulate" in needed_distributions(REPO / RULES["summary"]["script"])
