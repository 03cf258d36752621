"""docs/supported.md is generated from memq/_supported.py, and that table says what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import memq
from memq import _supported, errors
from memq._amqp_methods import HANDLERS
from memq._arguments import QUEUE_ARGUMENTS

PAGE = Path(__file__).resolve().parent.parent / "docs" / "supported.md"


def test_supported_page_is_up_to_date():
    """docs/supported.md is exactly what memq/_supported.py renders (run scripts/supported after a change)."""
    assert PAGE.read_text(encoding="utf-8") == _supported.render(), "docs/supported.md is stale: run scripts/supported"


def test_every_method_the_session_handles_is_listed_as_supported():
    """Each client method the AMQP session has a handler for appears in a `supported` row of METHODS."""
    supported = " ".join(name for name, status, _ in _supported.METHODS if status == "supported")
    for method in HANDLERS:
        klass, _, name = re.sub(r"(?<=[a-z])([A-Z])", r"-\1", method.NAME).lower().partition(".")
        assert klass in supported and name in supported, f"{method.NAME} is handled but not listed as supported"


def test_every_queue_argument_has_a_note():
    """The queue argument table covers every argument memq validates."""
    assert set(QUEUE_ARGUMENTS) <= set(_supported.QUEUE_ARGUMENT_NOTES)


@pytest.mark.parametrize("exchange_type", sorted(_supported.UNSUPPORTED_EXCHANGE_TYPES))
def test_unsupported_exchange_types_raise_unsupported(exchange_type):
    """The exchange types listed as unsupported raise Unsupported instead of being approximated."""
    channel = memq.Broker().connect().channel()
    with pytest.raises(errors.Unsupported):
        channel.exchange_declare("x", exchange_type)


def test_supported_exchange_types_route():
    """The exchange types listed as supported can be declared."""
    channel = memq.Broker().connect().channel()
    for kind in _supported.EXCHANGE_TYPES:
        channel.exchange_declare(f"x-{kind}", kind)
