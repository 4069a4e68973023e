"""Shared fixtures: the shipped example cycle, as a file, a loaded Cycle and a workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.models import Cycle
from pipeline.workbook import load_cycle
from pipeline.workspace import Workspace, init_workspace, shipped_template


@pytest.fixture(scope="session")
def example_workbook_path() -> Path:
    """The shipped example-cycle.xlsx where the installed package finds it (read it, never write it)."""
    return shipped_template("excel", "example-cycle.xlsx")


@pytest.fixture(scope="session")
def example_cycle(example_workbook_path: Path) -> Cycle:
    return load_cycle(example_workbook_path)


@pytest.fixture
def tmp_workspace(tmp_path: Path) -> Workspace:
    """A fresh workspace holding a copy of the example cycle workbook."""
    return init_workspace(tmp_path / "ws", example=True)
