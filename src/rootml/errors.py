"""Exceptions that name the file, branch or config key at fault."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RootmlError(Exception):
    """Base class of every error rootml raises on purpose."""


class InputError(RootmlError):
    """Bad input data: a missing, corrupt or empty file, a missing branch, NaN or inf values."""

    def __init__(self, message: str, *, file: str | None = None, branch: str | None = None) -> None:
        parts = [message]
        if branch is not None:
            parts.append(f"branch '{branch}'")
        if file is not None:
            parts.append(f"file '{file}'")
        super().__init__(" | ".join(parts))
        self.file = file
        self.branch = branch


class ConfigError(RootmlError):
    """A config value that cannot work, named by its key path (e.g. samples.W.tree)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config key '{key}': {message}")
        self.key = key


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A "did you mean" hint naming the choice closest to `name` (difflib, as uproot does), or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""
