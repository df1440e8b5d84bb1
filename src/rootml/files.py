"""Named sets of files a rule writes, with one name per file: the rule's named outputs, the fields of a dataclass and
the file names in the stage's folder agree (docs/contracts.md), so neither rules nor scripts build paths."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Self


@dataclass(frozen=True)
class FileSet:
    """Base of the file sets: a frozen dataclass of Paths whose NAMES give each field's file name in its folder."""

    NAMES: ClassVar[dict[str, str]]

    @classmethod
    def in_directory(cls, directory: str | Path) -> Self:
        """The files in `directory` (code given a folder: tests, notebooks)."""
        return cls(**{name: Path(directory) / file for name, file in cls.NAMES.items()})

    @classmethod
    def of_outputs(cls, outputs: Any) -> Self:
        """The files of a job's named outputs (a Snakemake Namedlist whose names are this class's fields)."""
        return cls(**{field.name: Path(getattr(outputs, field.name)) for field in fields(cls)})

    def as_outputs(self) -> dict[str, str]:
        """Output name -> path, for a rule's named outputs."""
        return {name: str(path) for name, path in asdict(self).items()}
