"""memq's errors: one class per AMQP reply code, plus memq's own.

Mirrors AMQP 0-9-1: a soft error closes the channel, a hard error closes the connection. The same
code can be either (RabbitMQ refuses a login with a connection-level 403), so adapters read `hard`,
not the class, to know what was closed.
"""

from __future__ import annotations

__all__ = [
    "MemqError",
    "AMQPError",
    "SoftError",
    "HardError",
    "ContentTooLarge",
    "NoRoute",
    "NoConsumers",
    "AccessRefused",
    "NotFound",
    "ResourceLocked",
    "PreconditionFailed",
    "ConnectionForced",
    "InvalidPath",
    "FrameError",
    "AMQPSyntaxError",
    "CommandInvalid",
    "ChannelError",
    "UnexpectedFrame",
    "ResourceError",
    "NotAllowed",
    "NotImplementedAMQP",
    "InternalError",
    "ChannelClosed",
    "ConnectionClosed",
    "InvalidArgument",
    "Unsupported",
    "Stalled",
    "by_code",
]


class MemqError(Exception):
    """Base of every error memq raises."""


class AMQPError(MemqError):
    """An AMQP error reply: what RabbitMQ sends in Channel.Close or Connection.Close.

    Args:
        reply_text: RabbitMQ's text, byte for byte (``NOT_FOUND - no queue 'q' in vhost '/'``).
        class_id, method_id: the AMQP method that caused it (0 when none did).
        hard: closes the connection rather than the channel; defaults to the class's kind.
    """

    reply_code: int = 0
    hard: bool = False

    def __init__(
        self, reply_text: str, *, class_id: int = 0, method_id: int = 0, hard: bool | None = None
    ) -> None:
        super().__init__(self.reply_code, reply_text)
        self.reply_text = reply_text
        self.class_id = class_id
        self.method_id = method_id
        if hard is not None:
            self.hard = hard

    def __str__(self) -> str:
        return f"({self.reply_code}) {self.reply_text}"


class SoftError(AMQPError):
    """An error that closes the channel it happened on."""


class HardError(AMQPError):
    """An error that closes the whole connection."""

    hard = True


class ContentTooLarge(SoftError):
    reply_code = 311


class NoRoute(SoftError):
    reply_code = 312


class NoConsumers(SoftError):
    reply_code = 313


class AccessRefused(SoftError):
    reply_code = 403


class NotFound(SoftError):
    reply_code = 404


class ResourceLocked(SoftError):
    reply_code = 405


class PreconditionFailed(SoftError):
    reply_code = 406


class ConnectionForced(HardError):
    reply_code = 320


class InvalidPath(HardError):
    reply_code = 402


class FrameError(HardError):
    reply_code = 501


class AMQPSyntaxError(HardError):
    reply_code = 502


class CommandInvalid(HardError):
    reply_code = 503


class ChannelError(HardError):
    reply_code = 504


class UnexpectedFrame(HardError):
    reply_code = 505


class ResourceError(HardError):
    reply_code = 506


class NotAllowed(HardError):
    reply_code = 530


class NotImplementedAMQP(HardError):
    reply_code = 540


class InternalError(HardError):
    reply_code = 541


_BY_CODE: dict[int, type[AMQPError]] = {
    cls.reply_code: cls
    for cls in (
        ContentTooLarge, NoRoute, NoConsumers, AccessRefused, NotFound, ResourceLocked,
        PreconditionFailed, ConnectionForced, InvalidPath, FrameError, AMQPSyntaxError,
        CommandInvalid, ChannelError, UnexpectedFrame, ResourceError, NotAllowed,
        NotImplementedAMQP, InternalError,
    )
}


def by_code(reply_code: int) -> type[AMQPError]:
    """The error class for an AMQP reply code.

    Raises:
        KeyError: the code is not an AMQP error code.
    """
    return _BY_CODE[reply_code]


class ChannelClosed(MemqError):
    """A call on a channel that is already closed; `reason` is the error that closed it, if any."""

    def __init__(self, message: str, reason: AMQPError | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class ConnectionClosed(MemqError):
    """A call on a connection that is already closed; `reason` is the error that closed it, if any."""

    def __init__(self, message: str, reason: AMQPError | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidArgument(MemqError, ValueError):
    """Misuse of memq's own API (not an AMQP error: RabbitMQ would never see it)."""


class Unsupported(MemqError, NotImplementedError):
    """Something memq does not model; raised rather than approximated."""


class Stalled(MemqError):
    """A wait that could never end: nothing can be delivered and no timer is left."""
