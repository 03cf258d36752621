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
    "check_queue_type",
    "check_server_named",
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
        return f'"unsupported queue mode \'{value}\'"'
    return problem


def _check_queue_version(value: Any, arguments: dict) -> str | None:
    problem = _check_non_neg_int(value, arguments)
    if problem is None and value not in (1, 2):
        return f'"unsupported queue version \'{value}\'"'
    return problem


def _check_queue_type(value: Any, arguments: dict) -> str | None:
    problem = _check_longstr(value, arguments)
    if problem is None and value not in QUEUE_TYPES:
        return f'"unsupported queue type \'{value}\'"'
    return problem


def _check_dlx_strategy(value: Any, arguments: dict) -> str | None:
    problem = _check_longstr(value, arguments)
    if problem is None and value not in ("at-most-once", "at-least-once"):
        return "invalid_dlx_strategy"
    return problem


def _unchecked(value: Any, arguments: dict) -> str | None:
    return None  # Mirrors RabbitMQ 3.10: a quorum queue takes any x-delivery-limit at declaration


QUEUE_TYPES: dict[str, str] = {
    "classic": "rabbit_classic_queue",
    "quorum": "rabbit_quorum_queue",
    "stream": "rabbit_stream_queue",
}
"""The queue types RabbitMQ 3.10 knows, with the module name its reply texts use."""

REFUSED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "classic": ("x-delivery-limit", "x-dead-letter-strategy", "x-quorum-initial-group-size",
                "x-max-in-memory-length", "x-max-in-memory-bytes"),
    "quorum": ("x-max-priority", "x-queue-mode", "x-queue-master-locator", "x-queue-version"),
}
"""Arguments a queue type refuses at declaration, as RabbitMQ 3.10.8 refuses them (checked against it)."""


QUEUE_ARGUMENTS: dict[str, Callable[[Any, dict], str | None]] = {
    "x-expires": _check_expires,
    "x-message-ttl": _check_message_ttl,
    "x-dead-letter-exchange": _check_longstr,
    "x-dead-letter-routing-key": _check_dlx_routing_key,
    "x-dead-letter-strategy": _check_dlx_strategy,
    "x-max-length": _check_non_neg_int,
    "x-max-length-bytes": _check_non_neg_int,
    "x-max-in-memory-length": _check_non_neg_int,
    "x-max-in-memory-bytes": _check_non_neg_int,
    "x-max-priority": _check_max_priority,
    "x-overflow": _check_overflow,
    "x-queue-mode": _check_queue_mode,
    "x-queue-version": _check_queue_version,
    "x-single-active-consumer": _check_bool,
    "x-queue-type": _check_queue_type,
    "x-delivery-limit": _unchecked,
    "x-queue-master-locator": _unchecked,
}
"""The queue arguments RabbitMQ checks at declaration and compares on redeclaration, with their checks.

Mirrors RabbitMQ 3.10.8's `declare_args()`: the checks are made in this order, whatever order the arguments
came in, and a redeclaration reports the first difference in this order.
"""

MASTER_LOCATORS = ("min-masters", "client-local", "random")


def check_queue_arguments(arguments: dict, queue: str, vhost: str) -> None:
    """Raise RabbitMQ's error for the first invalid queue argument.

    Mirrors RabbitMQ 3.10.8: `x-queue-type` first; then the values of the other arguments the queue type
    takes, in `QUEUE_ARGUMENTS` order; then the arguments the queue type refuses, in the order they came;
    last, a master locator RabbitMQ does not know crashes the declaration (541, on the connection).

    Raises:
        errors.PreconditionFailed: ``invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_negative,-1}``.
        errors.InternalError: an unknown `x-queue-master-locator`.
    """
    queue_type = arguments.get("x-queue-type", "classic")
    refused = REFUSED_BY_TYPE.get(queue_type, ()) if isinstance(queue_type, str) else ()
    prefix = f"PRECONDITION_FAILED - invalid arg '{{}}' for queue '{queue}' in vhost '{vhost}'"
    for key in ("x-queue-type", *QUEUE_ARGUMENTS):
        if key in arguments and key not in refused:
            problem = QUEUE_ARGUMENTS[key](arguments[key], arguments)
            if problem is not None:
                raise errors.PreconditionFailed(f"{prefix.format(key)}: {problem}")
    for key in arguments:
        if key in refused:
            raise errors.PreconditionFailed(f"{prefix.format(key)} of queue type {QUEUE_TYPES[queue_type]}")
    if arguments.get("x-queue-master-locator", MASTER_LOCATORS[0]) not in MASTER_LOCATORS:
        raise errors.InternalError("INTERNAL_ERROR")


def check_queue_type(queue_type: Any, arguments: dict, durable: bool, exclusive: bool, auto_delete: bool,
                     queue: str, vhost: str) -> None:
    """Raise what RabbitMQ raises for a quorum queue's flags, or Unsupported for what memq does not model.

    Raises:
        errors.PreconditionFailed: ``invalid property 'non-durable' for queue 'q' in vhost '/'`` (also
            'auto-delete', 'exclusive-owner'; checked in that order).
        errors.Unsupported: a stream queue, or a quorum queue feature memq does not model.
    """
    if queue_type == "stream":
        raise errors.Unsupported("memq models classic and quorum queues, not x-queue-type='stream'")
    if queue_type != "quorum":
        return
    for bad, name in ((auto_delete, "auto-delete"), (exclusive, "exclusive-owner"), (not durable, "non-durable")):
        if bad:
            raise errors.PreconditionFailed(
                f"PRECONDITION_FAILED - invalid property '{name}' for queue '{queue}' in vhost '{vhost}'")
    limit = arguments.get("x-delivery-limit")
    if limit is not None and (amqp_type(limit) not in _INTEGER_TYPES or limit < 0):
        raise errors.Unsupported(f"memq does not model a quorum queue's x-delivery-limit of {limit!r}")
    if arguments.get("x-overflow", "drop-head") != "drop-head" and (
            "x-max-length" in arguments or "x-max-length-bytes" in arguments):
        raise errors.Unsupported("memq does not model a quorum queue's x-overflow other than drop-head")
    if arguments.get("x-dead-letter-strategy") == "at-least-once":
        raise errors.Unsupported("memq does not model x-dead-letter-strategy 'at-least-once'")


def check_server_named(queue_type: Any) -> None:
    """Mirrors RabbitMQ 3.10: only classic queues may be server-named (an unknown type is a 541).

    Raises:
        errors.PreconditionFailed: a quorum or stream queue with an empty name.
        errors.InternalError: an unknown `x-queue-type` with an empty name.
    """
    if queue_type == "classic":
        return
    if queue_type in QUEUE_TYPES:
        raise errors.PreconditionFailed(
            f"PRECONDITION_FAILED - Cannot declare a server-named queue for type {QUEUE_TYPES[queue_type]}")
    raise errors.InternalError("INTERNAL_ERROR")


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
