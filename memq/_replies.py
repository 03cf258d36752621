"""RabbitMQ 3.10's reply texts, verbatim, in one table, with the error class each comes with.

`reply(key, **values)` builds the error; the conformance suite checks each text against the real broker.
"""

from __future__ import annotations

from typing import Any

from . import errors

# key: (error class, format string, hard or None for the class's kind)
REPLIES: dict[str, tuple[type[errors.AMQPError], str]] = {
    "no_queue": (errors.NotFound, "NOT_FOUND - no queue '{queue}' in vhost '{vhost}'"),
    "no_previous_queue": (errors.NotFound, "NOT_FOUND - no previously declared queue"),
    "no_exchange": (errors.NotFound, "NOT_FOUND - no exchange '{exchange}' in vhost '{vhost}'"),
    "no_binding": (
        errors.NotFound,
        "NOT_FOUND - no binding {routing_key} between exchange '{source}' in vhost '{vhost}' "
        "and {destination_kind} '{destination}' in vhost '{vhost}'",
    ),
    "default_exchange": (
        errors.AccessRefused, "ACCESS_REFUSED - operation not permitted on the default exchange"
    ),
    "reserved_name": (
        errors.AccessRefused,
        "ACCESS_REFUSED - {kind} name '{name}' contains reserved prefix 'amq.*'",
    ),
    "system_exchange": (
        errors.AccessRefused,
        "ACCESS_REFUSED - deletion of system exchange '{exchange}' in vhost '{vhost}' not allowed",
    ),
    "internal_exchange": (
        errors.AccessRefused,
        "ACCESS_REFUSED - cannot publish to internal exchange '{exchange}' in vhost '{vhost}'",
    ),
    "unknown_exchange_type": (errors.CommandInvalid, "COMMAND_INVALID - unknown exchange type '{type}'"),
    "invalid_exchange_type": (errors.CommandInvalid, "COMMAND_INVALID - invalid exchange type '{type}'"),
    "inequivalent_flag": (
        errors.PreconditionFailed,
        "PRECONDITION_FAILED - inequivalent arg '{arg}' for {kind} '{name}' in vhost '{vhost}': "
        "received '{received}' but current is '{current}'",
    ),
    "inequivalent_arg": (
        errors.PreconditionFailed,
        "PRECONDITION_FAILED - inequivalent arg '{arg}' for {kind} '{name}' in vhost '{vhost}': "
        "received {received} but current is {current}",
    ),
    "exclusive_locked": (
        errors.ResourceLocked,
        "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{queue}' in vhost "
        "'{vhost}'. It could be originally declared on another connection or the exclusive "
        "property value does not match that of the original declaration.",
    ),
    "exclusive_consume": (
        errors.AccessRefused,
        "ACCESS_REFUSED - queue '{queue}' in vhost '{vhost}' in exclusive use",
    ),
    "unknown_delivery_tag": (errors.PreconditionFailed, "PRECONDITION_FAILED - unknown delivery tag {tag}"),
    "queue_in_use": (
        errors.PreconditionFailed, "PRECONDITION_FAILED - queue '{queue}' in vhost '{vhost}' in use"
    ),
    "queue_not_empty": (
        errors.PreconditionFailed, "PRECONDITION_FAILED - queue '{queue}' in vhost '{vhost}' not empty"
    ),
    "exchange_in_use": (
        errors.PreconditionFailed,
        "PRECONDITION_FAILED - exchange '{exchange}' in vhost '{vhost}' in use",
    ),
    "reuse_consumer_tag": (errors.NotAllowed, "NOT_ALLOWED - attempt to reuse consumer tag '{tag}'"),
    "prefetch_size": (errors.NotImplementedAMQP, "NOT_IMPLEMENTED - prefetch_size!=0 ({size})"),
    "recover_no_requeue": (errors.NotImplementedAMQP, "NOT_IMPLEMENTED - requeue=false"),
    "flow_inactive": (errors.NotImplementedAMQP, "NOT_IMPLEMENTED - active=false"),
    "login_refused": (
        errors.AccessRefused,
        "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. "
        "For details see the broker logfile.",
    ),
    "vhost_not_found": (errors.NotAllowed, "NOT_ALLOWED - vhost {vhost} not found"),
    "channel_in_use": (errors.ChannelError, "CHANNEL_ERROR - second 'channel.open' seen"),
    "shutdown": (
        errors.ConnectionForced,
        "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'",
    ),
    "closed_by_user": (
        errors.ConnectionForced,
        "CONNECTION_FORCED - Closed via management plugin",
    ),
}


def reply(key: str, *, class_id: int = 0, method_id: int = 0, hard: bool | None = None,
          **values: Any) -> errors.AMQPError:
    """The error for reply `key`, its text filled with `values`."""
    cls, text = REPLIES[key]
    return cls(text.format(**values), class_id=class_id, method_id=method_id, hard=hard)
