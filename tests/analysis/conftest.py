"""Shared fixtures for the analysis engine tests: paths to the small data samples."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from analysis.themes import Answer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "analysis"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Return the folder of analysis fixtures."""
    return FIXTURES


@pytest.fixture(scope="session")
def nhs_answers() -> list[Answer]:
    """Return the 400-answer NHS feedback sample as answers."""
    with (FIXTURES / "nhs_sample.csv").open(encoding="utf-8", newline="") as handle:
        return [Answer(id=row["row_index"], text=row["feedback"], segments={"organization": row["organization"]}) for row in csv.DictReader(handle)]


@pytest.fixture(scope="session")
def multilingual_answers() -> list[Answer]:
    """Return the small English/Spanish sample, with translations of the Spanish answers."""
    with (FIXTURES / "multilingual.csv").open(encoding="utf-8", newline="") as handle:
        return [
            Answer(id=row["id"], text=row["answer"], language=row["language"], translation=row["translation"] or None, segments={"neighbourhood": row["neighbourhood"]})
            for row in csv.DictReader(handle)
        ]
