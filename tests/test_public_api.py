"""The public API: every name in memq.__all__ exists and is documented; errors cover every AMQP code."""

from __future__ import annotations

import inspect

import pytest

import memq
from memq import errors

# Every error reply code of AMQP 0-9-1 (the spec's constants of class soft-error and hard-error).
AMQP_ERROR_CODES = (311, 312, 313, 320, 402, 403, 404, 405, 406, 501, 502, 503, 504, 505, 506, 530, 540, 541)


@pytest.mark.parametrize("name", memq.__all__)
def test_public_name_exists_and_is_documented(name):
    """Each name in memq.__all__ is an attribute of memq with a docstring of its own."""
    value = getattr(memq, name)
    if name == "__version__":
        assert isinstance(value, str) and value
        return
    assert inspect.getdoc(value), f"memq.{name} has no docstring"


def _public_members(cls):
    for member_name, member in vars(cls).items():
        if member_name.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
            continue
        yield member_name, member


@pytest.mark.parametrize("name", [n for n in memq.__all__ if inspect.isclass(getattr(memq, n))])
def test_public_class_methods_are_documented(name):
    """Every public method and property of a public class has a docstring."""
    cls = getattr(memq, name)
    undocumented = [member_name for member_name, member in _public_members(cls) if not inspect.getdoc(member)]
    assert undocumented == []


def test_public_names_are_unique_and_sorted_sensibly():
    """memq.__all__ names each thing once."""
    assert len(memq.__all__) == len(set(memq.__all__))


@pytest.mark.parametrize("code", AMQP_ERROR_CODES)
def test_by_code_covers_every_amqp_error_code(code):
    """errors.by_code gives an AMQPError class with that reply code for every AMQP error code."""
    cls = errors.by_code(code)
    assert issubclass(cls, errors.AMQPError) and cls.reply_code == code


def test_error_names_are_all_exported_and_documented():
    """Every name in memq.errors.__all__ exists; every error class has a docstring."""
    for name in errors.__all__:
        value = getattr(errors, name)
        assert inspect.getdoc(value), f"errors.{name} has no docstring"


def test_every_error_class_is_exported():
    """Every MemqError subclass defined in memq.errors is in errors.__all__."""
    defined = [name for name, value in vars(errors).items()
               if inspect.isclass(value) and issubclass(value, errors.MemqError)]
    assert sorted(set(defined) - set(errors.__all__)) == []


def test_event_classes_are_exported():
    """Every trace record class in memq.events is in its __all__ and is an Event."""
    from memq import events

    defined = [name for name, value in vars(events).items()
               if inspect.isclass(value) and issubclass(value, events.Event)]
    assert sorted(set(defined) - set(events.__all__)) == []
