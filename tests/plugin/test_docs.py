"""The complete test examples of docs/pytest-plugin.md run and pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "pytest-plugin.md"


def _examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    return [block for block in blocks if "def test_" in block and "..." not in block]


def test_doc_has_complete_examples() -> None:
    """The page keeps several whole test files, not only fragments."""
    assert len(_examples()) >= 4


@pytest.mark.parametrize("index", range(len(_examples())))
def test_doc_example_passes(pytester: pytest.Pytester, index: int) -> None:
    """Each complete example, copied into a test file as is, passes on memq."""
    pytester.makepyfile(test_case=_examples()[index])
    result = pytester.runpytest_inprocess()
    assert result.ret == 0, result.stdout.str()
