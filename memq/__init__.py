"""memq: a deterministic, in-process simulation of a RabbitMQ broker for Python test suites.

The core imports only the standard library, attrs and sortedcontainers; the pika, kombu and Celery
integrations live in `memq.pika`, `memq.kombu` and `memq.celery` and are imported on demand.
"""

from __future__ import annotations

from . import _events as events
from . import errors
from ._broker import Broker
from ._channels import Channel, Connection
from ._clock import Timer, VirtualClock
from ._events import Trace
from ._exchanges import ExchangeType
from ._messages import Deliver, GetOk, Properties, QueueDeclareOk, Returned
from .errors import Stalled

__version__ = "0.1.0"

__all__ = [
    "Broker",
    "Channel",
    "Connection",
    "Deliver",
    "ExchangeType",
    "GetOk",
    "Properties",
    "QueueDeclareOk",
    "Returned",
    "Stalled",
    "Timer",
    "Trace",
    "VirtualClock",
    "errors",
    "events",
    "__version__",
]
