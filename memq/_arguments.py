"""x-arguments: their AMQP field types, RabbitMQ's validity checks, and its equivalence texts.

Values arrive as Python objects; their AMQP type is the one pika gives them on the wire (an int
that fits 32 bits is a `signedint`, a larger one a `long`, a str a `longstr`...), so the texts
RabbitMQ would write about them can be reproduced.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any, Callable

from . import errors

__all__ = [
    "amqp_type",
    "type_class",
    "check_queue_arguments",
    "inequivalent_values",
    "max_priority_of",
    "MAX_EXPIRY",
    "QUEUE_ARGUMENTS",
]

MAX_EXPIRY = 315360000000  # ten years in milliseconds, RabbitMQ 3.10's ?MAX_EXPIRY_TIMER
MAX_PRIORITY = 255
_INTEGER_TYPES = ("byte", "short", "signedint", "long", "unsignedbyte", "unsignedshort", "unsignedint")


def amqp_type(value: Any) -> str:
    """The AMQP field type pika encodes this value as, in RabbitMQ's names."""
    if value is None:
        return "void"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "signedint" if -(2**31) <= value < 2**31 else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "longstr"
    if isinstance(value, (bytes, bytearray)):
        return "binary"
    if isinstance(value, decimal.Decimal):
        return "decimal"
    if isinstance(value, datetime.datetime):
        return "timestamp"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, (list, tuple)):
        return "array"
    raise errors.InvalidArgument(f"{type(value).__name__} is not an AMQP field value: {value!r}")


def type_class(amqp_type_name: str) -> str:
    """RabbitMQ's type class: every integer type is `int`, `float` and `double` are `float`."""
    if amqp_type_name in _INTEGER_TYPES:
        return "int"
    if amqp_type_name in ("float", "double"):
        return "float"
    return amqp_type_name


def _erlang_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return str(value)


def _described(value: Any) -> str:
    return f"the value '{_erlang_value(value)}' of type '{amqp_type(value)}'"


def inequivalent_values(received: dict, current: dict, arg: str) -> tuple[str, str] | None:
    """How RabbitMQ words a difference in argument `arg`, or None when the two are equivalent."""
    if arg in received and arg in current:
        new, old = received[arg], current[arg]
        if type_class(amqp_type(new)) == type_class(amqp_type(old)) and new == old:
            return None
        return f"'{_erlang_value(new)}'", f"'{_erlang_value(old)}'"
    if arg not in received and arg not in current:
        return None
    new_text = _described(received[arg]) if arg in received else "none"
    old_text = _described(current[arg]) if arg in current else "none"
    return new_text, old_text


# --- validity checks (rabbit_amqqueue:declare_args/0) -------------------------------------------

def _check_int(value: Any, arguments: dict) -> str | None:
    kind = amqp_type(value)
    return None if kind in _INTEGER_TYPES else f'"expected integer, got {kind}"'


def _check_non_neg_int(value: Any, arguments: dict) -> str | None:
    problem = _check_int(value, arguments)
    if problem is None and value < 0:
        return f"{{value_negative,{value}}}"
    return problem


def _check_expiry(value: int) -> str | None:
    if value < 0:
        return f"{{value_negative,{value}}}"
    if value > MAX_EXPIRY:
        return f"{{value_too_large,{value}}}"
    return None


def _check_expires(value: Any, arguments: dict) -> str | None:
    problem = _check_int(value, arguments)
    if problem is None:
        return "{value_zero,0}" if value == 0 else _check_expiry(value)
    return problem


def _check_message_ttl(value: Any, arguments: dict) -> str | None:
    return _check_int(value, arguments) or _check_expiry(value)


def _check_max_priority(value: Any, arguments: dict) -> str | None:
    problem = _check_non_neg_int(value, arguments)
    if problem is None and value > MAX_PRIORITY:
        return f"{{max_value_exceeded,{value}}}"
    return problem


def _check_longstr(value: Any, arguments: dict) -> str | None:
    kind = amqp_type(value)
    return None if kind == "longstr" else f"{{unacceptable_type,{kind}}}"


def _check_dlx_routing_key(value: Any, arguments: dict) -> str | None:
    problem = _check_longstr(value, arguments)
    if problem is None and "x-dead-letter-exchange" not in arguments:
        return "routing_key_but_no_dlx_defined"
    return problem


def _check_overflow(value: Any, arguments: dict) -> str | None:
    problem = _check_longstr(value, arguments)
    if problem is None and value not in ("drop-head", "reject-publish", "reject-publish-dlx"):
        return "invalid_overflow"
    return problem


def _check_bool(value: Any, arguments: dict) -> str | None:
    kind = amqp_type(value)
    return None if kind == "bool" else f"{{unacceptable_type,{kind}}}"


def _check_queue_mode(value: Any, arguments: dict) -> str | None:
    problem = _check_longstr(value, arguments)
    if problem is None and value not in ("default", "lazy"):
        return f"{{invalid_queue_mode,{value}}}"
    return problem


def _check_queue_type(value: Any, arguments: dict) -> str | None:
    return _check_longstr(value, arguments)


QUEUE_ARGUMENTS: dict[str, Callable[[Any, dict], str | None]] = {
    "x-expires": _check_expires,
    "x-message-ttl": _check_message_ttl,
    "x-dead-letter-exchange": _check_longstr,
    "x-dead-letter-routing-key": _check_dlx_routing_key,
    "x-max-length": _check_non_neg_int,
    "x-max-length-bytes": _check_non_neg_int,
    "x-max-in-memory-length": _check_non_neg_int,
    "x-max-in-memory-bytes": _check_non_neg_int,
    "x-max-priority": _check_max_priority,
    "x-overflow": _check_overflow,
    "x-queue-mode": _check_queue_mode,
    "x-single-active-consumer": _check_bool,
    "x-queue-type": _check_queue_type,
    "x-delivery-limit": _check_non_neg_int,
}
"""The queue arguments RabbitMQ checks at declaration (and for equivalence), with their checks."""


def check_queue_arguments(arguments: dict, queue: str, vhost: str) -> None:
    """Raise RabbitMQ's 406 for the first invalid queue argument.

    Raises:
        errors.PreconditionFailed: ``invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_negative,-1}``.
    """
    for key, check in QUEUE_ARGUMENTS.items():
        if key in arguments:
            problem = check(arguments[key], arguments)
            if problem is not None:
                raise errors.PreconditionFailed(
                    f"PRECONDITION_FAILED - invalid arg '{key}' for queue '{queue}' in vhost '{vhost}': {problem}"
                )
    queue_type = arguments.get("x-queue-type", "classic")
    if queue_type not in ("classic", "quorum", "stream"):
        raise errors.InternalError("INTERNAL_ERROR")
    if queue_type != "classic":
        raise errors.Unsupported(f"memq models classic queues only, not x-queue-type={queue_type!r}")


_X_MATCH = ("all", "any", "all-with-x", "any-with-x")


def check_x_match(arguments: dict) -> None:
    """Raise RabbitMQ's 406 for a headers binding whose `x-match` is not one of the four kinds."""
    kind = arguments.get("x-match", "all")
    if kind not in _X_MATCH:
        shown = kind.decode() if isinstance(kind, bytes) else kind
        raise errors.PreconditionFailed(
            f'PRECONDITION_FAILED - Invalid x-match field value <<"{shown}">>; '
            "expected all, any, all-with-x, or any-with-x"
        )


def max_priority_of(arguments: dict) -> int:
    """The queue's number of priority levels above 0 (`x-max-priority`, 0 without it)."""
    return int(arguments.get("x-max-priority", 0) or 0)
