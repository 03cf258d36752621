"""Errors: which operations close the channel or the connection, with RabbitMQ's exact reply code and text."""

import pika
import pytest

from .support import (
    DEFAULT_EXCHANGE_REFUSED,
    assert_channel_is_closed,
    channel_closed,
    connection_closed,
    not_found_exchange,
    not_found_queue,
    publish,
    roundtrip,
    server_queue,
)


def test_passive_declare_of_missing_queue_is_not_found(amqp):
    """A passive declare of a missing queue closes the channel with 404."""
    channel = amqp.channel()
    name = amqp.unique("missing")
    with channel_closed(404, not_found_queue(name)):
        channel.queue_declare(name, passive=True)
    assert_channel_is_closed(channel)


def test_passive_declare_of_missing_exchange_is_not_found(amqp):
    """A passive declare of a missing exchange closes the channel with 404."""
    channel = amqp.channel()
    name = amqp.unique("missing")
    with channel_closed(404, not_found_exchange(name)):
        channel.exchange_declare(name, passive=True)


def test_publish_to_missing_exchange_fails_at_next_call(amqp):
    """Publishing to a missing exchange (no confirms) returns, then the next synchronous call raises 404."""
    channel = amqp.connect().channel()
    name = amqp.unique("missing")
    channel.basic_publish(name, "k", b"m")
    with channel_closed(404, not_found_exchange(name)):
        roundtrip(channel)


def test_publish_to_missing_exchange_with_confirms_fails_in_publish(amqp):
    """On a confirm-mode channel, publishing to a missing exchange raises 404 from basic_publish itself."""
    channel = amqp.channel()
    name = amqp.unique("missing")
    with channel_closed(404, not_found_exchange(name)):
        channel.basic_publish(name, "k", b"m")


def test_publish_to_amq_default_is_not_found(amqp):
    """'amq.default' is not a name for the default exchange: publishing to it is 404."""
    channel = amqp.channel()
    with channel_closed(404, not_found_exchange("amq.default")):
        channel.basic_publish("amq.default", "k", b"m")


@pytest.mark.parametrize("operation", ["consume", "get", "purge", "bind"])
def test_operation_on_missing_queue_is_not_found(amqp, operation):
    """Consuming from, getting from, purging or binding a missing queue closes the channel with 404."""
    channel = amqp.channel()
    name = amqp.unique("missing")
    call = {
        "consume": lambda: channel.basic_consume(name, lambda *args: None),
        "get": lambda: channel.basic_get(name),
        "purge": lambda: channel.queue_purge(name),
        "bind": lambda: channel.queue_bind(name, "amq.direct", "k"),
    }[operation]
    with channel_closed(404, not_found_queue(name)):
        call()


def test_bind_to_missing_exchange_is_not_found(amqp):
    """Binding a queue to a missing exchange closes the channel with 404 naming the exchange."""
    channel = amqp.channel()
    queue = server_queue(channel)
    name = amqp.unique("missing")
    with channel_closed(404, not_found_exchange(name)):
        channel.queue_bind(queue, name, "k")


def test_bind_with_queue_and_exchange_missing_reports_exchange(amqp):
    """When both are missing, queue_bind reports the exchange."""
    channel = amqp.channel()
    queue, exchange = amqp.unique("missing-q"), amqp.unique("missing-x")
    with channel_closed(404, not_found_exchange(exchange)):
        channel.queue_bind(queue, exchange, "k")


@pytest.mark.parametrize("missing", ["source", "destination"])
def test_exchange_bind_with_missing_exchange_is_not_found(amqp, missing):
    """exchange_bind with a missing source or destination closes the channel with 404."""
    channel = amqp.channel()
    name = amqp.unique("missing")
    destination, source = (name, "amq.direct") if missing == "destination" else ("amq.direct", name)
    with channel_closed(404, not_found_exchange(name)):
        channel.exchange_bind(destination, source, "k")


def test_unbind_of_missing_binding_is_ok(amqp):
    """Unbinding a binding that does not exist (or whose queue or exchange is missing) succeeds."""
    channel = amqp.channel()
    queue = server_queue(channel)
    channel.queue_unbind(queue, "amq.direct", "never-bound")
    channel.queue_unbind(amqp.unique("missing-q"), "amq.direct", "k")
    channel.queue_unbind(queue, amqp.unique("missing-x"), "k")
    channel.exchange_unbind("amq.direct", "amq.fanout", amqp.unique("never-bound"))
    roundtrip(channel)


def test_exchange_delete_of_missing_exchange_is_ok(amqp):
    """Deleting an exchange that does not exist succeeds, with or without if_unused."""
    channel = amqp.channel()
    channel.exchange_delete(amqp.unique("missing"))
    channel.exchange_delete(amqp.unique("missing"), if_unused=True)
    roundtrip(channel)


QUEUE_ARGUMENTS = {
    "x-message-ttl": 1000,
    "x-max-length": 10,
    "x-dead-letter-exchange": "dlx",
    "x-max-priority": 10,
    "x-expires": 100000,
}


def _inequivalent(arg: str, kind: str, name: str, received: str, current: str) -> str:
    return (f"PRECONDITION_FAILED - inequivalent arg '{arg}' for {kind} '{name}' in vhost '/': "
            f"received {received} but current is {current}")


@pytest.mark.parametrize(
    "changes, arg, received, current",
    [
        ({"durable": True}, "durable", "'true'", "'false'"),
        ({"auto_delete": True}, "auto_delete", "'true'", "'false'"),
        ({"x-message-ttl": 2000}, "x-message-ttl", "'2000'", "'1000'"),
        ({"x-max-length": 5}, "x-max-length", "'5'", "'10'"),
        ({"x-dead-letter-exchange": "dlx2"}, "x-dead-letter-exchange", "'dlx2'", "'dlx'"),
        ({"x-max-priority": 5}, "x-max-priority", "'5'", "'10'"),
        ({"x-expires": 50000}, "x-expires", "'50000'", "'100000'"),
        ({"x-message-ttl": None}, "x-message-ttl", "none", "the value '1000' of type 'signedint'"),
    ],
    ids=["durable", "auto_delete", "message-ttl", "max-length", "dead-letter-exchange", "max-priority", "expires",
         "ttl-absent"],
)
def test_queue_redeclare_with_other_property_is_inequivalent(amqp, changes, arg, received, current):
    """Redeclaring a queue with one property or x-argument changed closes the channel with 406 naming it."""
    channel = amqp.channel()
    name = amqp.unique("q")
    channel.queue_declare(name, arguments=dict(QUEUE_ARGUMENTS))
    flags = {key: value for key, value in changes.items() if not key.startswith("x-")}
    arguments = dict(QUEUE_ARGUMENTS)
    for key, value in changes.items():
        if key.startswith("x-"):
            if value is None:
                del arguments[key]
            else:
                arguments[key] = value
    with channel_closed(406, _inequivalent(arg, "queue", name, received, current)):
        channel.queue_declare(name, arguments=arguments, **flags)


def test_queue_redeclare_adding_argument_is_inequivalent(amqp):
    """Redeclaring a queue with an x-argument it did not have reports 'received the value ... but current is none'."""
    channel = amqp.channel()
    name = amqp.unique("q")
    channel.queue_declare(name, auto_delete=True)
    text = _inequivalent("x-message-ttl", "queue", name, "the value '5' of type 'signedint'", "none")
    with channel_closed(406, text):
        channel.queue_declare(name, auto_delete=True, arguments={"x-message-ttl": 5})


def test_durable_queue_redeclared_non_durable_is_inequivalent(amqp):
    """Redeclaring a durable queue as non-durable closes the channel with 406."""
    channel = amqp.channel()
    name = amqp.unique("q")
    channel.queue_declare(name, durable=True)
    with channel_closed(406, _inequivalent("durable", "queue", name, "'false'", "'true'")):
        channel.queue_declare(name)


EXCHANGE_ARGUMENTS = {"alternate-exchange": "ae"}


@pytest.mark.parametrize(
    "changes, arg, received, current",
    [
        ({"exchange_type": "fanout"}, "type", "'fanout'", "'direct'"),
        ({"durable": True}, "durable", "'true'", "'false'"),
        ({"auto_delete": True}, "auto_delete", "'true'", "'false'"),
        ({"internal": True}, "internal", "'true'", "'false'"),
        ({"arguments": {"alternate-exchange": "ae2"}}, "alternate-exchange", "'ae2'", "'ae'"),
        ({"arguments": {}}, "alternate-exchange", "none", "the value 'ae' of type 'longstr'"),
    ],
    ids=["type", "durable", "auto_delete", "internal", "argument-differs", "argument-absent"],
)
def test_exchange_redeclare_with_other_property_is_inequivalent(amqp, changes, arg, received, current):
    """Redeclaring an exchange with one property or argument changed closes the channel with 406 naming it."""
    channel = amqp.channel()
    name = amqp.unique("x")
    channel.exchange_declare(name, "direct", arguments=dict(EXCHANGE_ARGUMENTS))
    kwargs = {"exchange_type": "direct", "arguments": dict(EXCHANGE_ARGUMENTS), **changes}
    with channel_closed(406, _inequivalent(arg, "exchange", name, received, current)):
        channel.exchange_declare(name, **kwargs)


def test_exchange_redeclare_with_extra_argument_is_accepted(amqp):
    """An exchange redeclared with an extra argument is equivalent."""
    channel = amqp.channel()
    name = amqp.unique("x")
    channel.exchange_declare(name, "direct", auto_delete=True, arguments=dict(EXCHANGE_ARGUMENTS))
    channel.exchange_declare(name, "direct", auto_delete=True, arguments={**EXCHANGE_ARGUMENTS, "foo": 1})


def test_exchange_passive_declare_ignores_type(amqp):
    """A passive exchange declare with another type succeeds."""
    channel = amqp.channel()
    channel.exchange_declare("amq.direct", "fanout", passive=True)


def test_predeclared_exchange_redeclared_non_durable_is_inequivalent(amqp):
    """Redeclaring amq.direct as non-durable closes the channel with 406."""
    channel = amqp.channel()
    with channel_closed(406, _inequivalent("durable", "exchange", "amq.direct", "'false'", "'true'")):
        channel.exchange_declare("amq.direct", "direct")


def test_unknown_exchange_type_closes_connection(amqp):
    """Declaring an exchange of an unknown type closes the whole connection with 503."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    other = amqp.channel(connection)
    with connection_closed(503, "COMMAND_INVALID - unknown exchange type 'bogus'"):
        channel.exchange_declare(amqp.unique("x"), "bogus")
    assert not connection.is_open
    assert not other.is_open
    with pytest.raises(pika.exceptions.ConnectionWrongStateError):
        connection.channel()


@pytest.mark.parametrize("exchange_type", ["", "true", "x"], ids=["empty", "true", "letter"])
def test_exchange_type_that_is_an_erlang_atom_is_invalid_not_unknown(amqp, exchange_type):
    """A type name the broker already knows as an Erlang atom gets 'invalid exchange type', also 503."""
    channel = amqp.channel(amqp.connect())
    with connection_closed(503, f"COMMAND_INVALID - invalid exchange type '{exchange_type}'"):
        channel.exchange_declare(amqp.unique("x"), exchange_type)


def test_unknown_exchange_type_passive_reports_missing_exchange(amqp):
    """A passive declare does not check the type: a missing exchange is 404."""
    channel = amqp.channel()
    name = amqp.unique("missing")
    with channel_closed(404, not_found_exchange(name)):
        channel.exchange_declare(name, "bogus", passive=True)


def test_exchange_declare_with_amq_prefix_is_refused(amqp):
    """Declaring an exchange named amq.* closes the channel with 403."""
    channel = amqp.channel()
    with channel_closed(403, "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'"):
        channel.exchange_declare("amq.foo", "direct")


def test_queue_declare_with_amq_prefix_is_refused(amqp):
    """Declaring a queue named amq.* closes the channel with 403."""
    channel = amqp.channel()
    with channel_closed(403, "ACCESS_REFUSED - queue name 'amq.foo' contains reserved prefix 'amq.*'"):
        channel.queue_declare("amq.foo")


def test_passive_declare_with_amq_prefix_is_not_found(amqp):
    """A passive declare of a missing amq.* queue or exchange is 404, not 403."""
    with channel_closed(404, not_found_exchange("amq.foo")):
        amqp.channel().exchange_declare("amq.foo", passive=True)
    with channel_closed(404, not_found_queue("amq.foo")):
        amqp.channel().queue_declare("amq.foo", passive=True)


@pytest.mark.parametrize("name", ["amq.direct", "amq.foo"])
def test_exchange_delete_with_amq_prefix_is_refused(amqp, name):
    """Deleting an amq.* exchange, existing or not, closes the channel with 403."""
    channel = amqp.channel()
    with channel_closed(403, f"ACCESS_REFUSED - deletion of system exchange '{name}' in vhost '/' not allowed"):
        channel.exchange_delete(name)


@pytest.mark.parametrize(
    "operation", ["queue_bind", "queue_unbind", "exchange_bind_destination", "exchange_bind_source", "delete",
                  "declare", "declare_passive"])
def test_operation_on_default_exchange_is_refused(amqp, operation):
    """Binding to, declaring or deleting the default exchange closes the channel with 403."""
    channel = amqp.channel()
    queue = server_queue(channel)
    call = {
        "queue_bind": lambda: channel.queue_bind(queue, "", queue),
        "queue_unbind": lambda: channel.queue_unbind(queue, "", queue),
        "exchange_bind_destination": lambda: channel.exchange_bind("", "amq.direct", "k"),
        "exchange_bind_source": lambda: channel.exchange_bind("amq.direct", "", "k"),
        "delete": lambda: channel.exchange_delete(""),
        "declare": lambda: channel.exchange_declare("", "direct", durable=True),
        "declare_passive": lambda: channel.exchange_declare("", passive=True),
    }[operation]
    with channel_closed(403, DEFAULT_EXCHANGE_REFUSED):
        call()


def test_publish_to_internal_exchange_is_refused(amqp):
    """Publishing to an internal exchange closes the channel with 403."""
    channel = amqp.channel()
    name = amqp.unique("internal")
    channel.exchange_declare(name, "fanout", auto_delete=True, internal=True)
    with channel_closed(403, f"ACCESS_REFUSED - cannot publish to internal exchange '{name}' in vhost '/'"):
        channel.basic_publish(name, "k", b"m")


def test_exchange_delete_if_unused_with_queue_binding_fails(amqp):
    """exchange_delete(if_unused=True) of an exchange with a queue binding closes the channel with 406."""
    channel = amqp.channel()
    name = amqp.unique("x")
    channel.exchange_declare(name, "direct")
    channel.queue_bind(server_queue(channel), name, "k")
    with channel_closed(406, f"PRECONDITION_FAILED - exchange '{name}' in vhost '/' in use"):
        channel.exchange_delete(name, if_unused=True)


def test_exchange_delete_if_unused_as_binding_source_fails(amqp):
    """exchange_delete(if_unused=True) of the source of an exchange binding closes the channel with 406."""
    channel = amqp.channel()
    name = amqp.unique("x")
    channel.exchange_declare(name, "direct")
    channel.exchange_bind("amq.fanout", name, "k")
    with channel_closed(406, f"PRECONDITION_FAILED - exchange '{name}' in vhost '/' in use"):
        channel.exchange_delete(name, if_unused=True)


def test_exchange_delete_if_unused_as_binding_destination_deletes(amqp):
    """An exchange that is only the destination of an exchange binding counts as unused."""
    channel = amqp.channel()
    name = amqp.unique("x")
    channel.exchange_declare(name, "direct")
    channel.exchange_bind(name, "amq.fanout", "k")
    channel.exchange_delete(name, if_unused=True)
    with channel_closed(404, not_found_exchange(name)):
        channel.exchange_declare(name, passive=True)


def _invalid_arg(arg: str, name: str, detail: str) -> str:
    return f"PRECONDITION_FAILED - invalid arg '{arg}' for queue '{name}' in vhost '/': {detail}"


@pytest.mark.parametrize(
    "arguments, arg, detail",
    [
        ({"x-max-priority": 256}, "x-max-priority", "{max_value_exceeded,256}"),
        ({"x-max-priority": -1}, "x-max-priority", "{value_negative,-1}"),
        ({"x-max-priority": "5"}, "x-max-priority", '"expected integer, got longstr"'),
        ({"x-message-ttl": -1}, "x-message-ttl", "{value_negative,-1}"),
        ({"x-message-ttl": "1000"}, "x-message-ttl", '"expected integer, got longstr"'),
        ({"x-expires": 0}, "x-expires", "{value_zero,0}"),
        ({"x-expires": -1}, "x-expires", "{value_negative,-1}"),
        ({"x-max-length": -1}, "x-max-length", "{value_negative,-1}"),
        ({"x-max-length": "x"}, "x-max-length", '"expected integer, got longstr"'),
        ({"x-overflow": "bogus"}, "x-overflow", "invalid_overflow"),
        ({"x-dead-letter-routing-key": "k"}, "x-dead-letter-routing-key", "routing_key_but_no_dlx_defined"),
        ({"x-message-ttl": 315360000001}, "x-message-ttl", "{value_too_large,315360000001}"),
        ({"x-expires": 315360000001}, "x-expires", "{value_too_large,315360000001}"),
    ],
    ids=["priority-256", "priority-negative", "priority-string", "ttl-negative", "ttl-string", "expires-zero",
         "expires-negative", "max-length-negative", "max-length-string", "overflow-bogus", "dlrk-without-dlx",
         "ttl-over-ten-years", "expires-over-ten-years"],
)
def test_queue_declare_with_invalid_argument_fails(amqp, arguments, arg, detail):
    """A queue argument with an invalid value closes the channel with 406 and RabbitMQ's detail term."""
    channel = amqp.channel()
    name = amqp.unique("q")
    with channel_closed(406, _invalid_arg(arg, name, detail)):
        channel.queue_declare(name, auto_delete=True, arguments=arguments)


def test_queue_declare_with_dead_letter_exchange_of_wrong_type_fails(amqp):
    """A non-string x-dead-letter-exchange closes the channel with 406 'invalid type'."""
    channel = amqp.channel()
    name = amqp.unique("q")
    text = ("PRECONDITION_FAILED - invalid type 'signedint' for arg 'x-dead-letter-exchange' "
            f"in queue '{name}' in vhost '/'")
    with channel_closed(406, text):
        channel.queue_declare(name, auto_delete=True, arguments={"x-dead-letter-exchange": 5})


@pytest.mark.parametrize(
    "arguments",
    [{"x-max-priority": 0}, {"x-max-priority": 255}, {"x-message-ttl": 0}, {"x-message-ttl": 315360000000},
     {"x-expires": 315360000000}],
    ids=["priority-0", "priority-255", "ttl-0", "ttl-ten-years", "expires-ten-years"],
)
def test_queue_declare_with_boundary_argument_is_accepted(amqp, arguments):
    """x-max-priority 0 and 255, x-message-ttl 0, and TTLs up to ten years (315360000000 ms) are valid."""
    server_queue(amqp.channel(), arguments=arguments)


def test_headers_binding_with_invalid_x_match_fails(amqp):
    """A headers binding with an unknown x-match value closes the channel with 406."""
    channel = amqp.channel()
    text = ('PRECONDITION_FAILED - Invalid x-match field value <<"bogus">>; '
            "expected all, any, all-with-x, or any-with-x")
    with channel_closed(406, text):
        channel.queue_bind(server_queue(channel), "amq.headers", "", arguments={"x-match": "bogus"})


@pytest.mark.parametrize(
    "expiration, detail",
    [
        ("abc", "no_integer"),
        ("-1", "{value_negative,-1}"),
        ("1.5", '{leftover_string,".5"}'),
        (" 5", "no_integer"),
        ("315360000001", "{value_too_large,315360000001}"),
        # RabbitMQ formats the reason with Erlang's ~p, which wraps a term that does not fit the line.
        ("1000000000000000000", "{value_too_large,\n" + " " * 43 + "1000000000000000000}"),
    ],
    ids=["letters", "negative", "fraction", "leading-space", "over-ten-years", "wrapped-reason"],
)
def test_publish_with_invalid_expiration_fails(amqp, expiration, detail):
    """A message whose expiration is not a non-negative integer string closes the channel with 406."""
    channel = amqp.channel()
    queue = server_queue(channel)
    with channel_closed(406, f"PRECONDITION_FAILED - invalid expiration '{expiration}': {detail}"):
        publish(channel, "", queue, "m", expiration=expiration)


def test_qos_with_prefetch_size_closes_connection(amqp):
    """basic_qos with prefetch_size > 0 closes the connection with 540."""
    with connection_closed(540, "NOT_IMPLEMENTED - prefetch_size!=0 (1)"):
        amqp.channel().basic_qos(prefetch_size=1)


def test_recover_without_requeue_closes_connection(amqp):
    """basic_recover(requeue=False) closes the connection with 540."""
    with connection_closed(540, "NOT_IMPLEMENTED - requeue=false"):
        amqp.channel().basic_recover(requeue=False)


def test_flow_off_closes_connection(amqp):
    """channel.flow(False) closes the connection with 540; flow(True) is accepted."""
    assert amqp.channel().flow(True) is True
    with connection_closed(540, "NOT_IMPLEMENTED - active=false"):
        amqp.channel().flow(False)


def test_channel_error_leaves_other_channels_open(amqp):
    """A channel closed by the broker does not affect the connection's other channels."""
    connection = amqp.connect()
    failing, other = amqp.channel(connection), amqp.channel(connection)
    name = amqp.unique("missing")
    with channel_closed(404, not_found_queue(name)):
        failing.queue_declare(name, passive=True)
    assert connection.is_open and other.is_open
    assert other.queue_declare("", exclusive=True).method.queue
    assert amqp.channel(connection).is_open


def test_publish_with_expiration_of_ten_years_is_accepted(amqp):
    """The largest per-message expiration RabbitMQ accepts is 315360000000 ms (ten years)."""
    channel = amqp.channel()
    queue = server_queue(channel)
    publish(channel, "", queue, "m", expiration="315360000000")
    roundtrip(channel)


def test_basic_get_on_broker_closed_channel_spoils_reuse_of_its_number(amqp):
    """basic_get on a channel the broker closed raises ChannelWrongStateError yet reaches the broker: the next
    channel opened (reusing the number) is refused with a connection error 504."""
    connection = amqp.connect()
    channel = connection.channel()
    amqp.channel(connection)
    name = amqp.unique("missing")
    with channel_closed(404, not_found_queue(name)):
        channel.queue_declare(name, passive=True)
    with pytest.raises(pika.exceptions.ChannelWrongStateError):
        channel.basic_get(name)
    with connection_closed(504, "CHANNEL_ERROR - expected 'channel.open'"):
        connection.channel()


def test_reopening_channel_after_broker_close_is_ok(amqp):
    """After a channel closed by the broker, a new channel (reusing its number) works normally."""
    connection = amqp.connect()
    channel = connection.channel()
    name = amqp.unique("missing")
    with channel_closed(404, not_found_queue(name)):
        channel.queue_declare(name, passive=True)
    assert_channel_is_closed(channel)
    reopened = connection.channel()
    assert reopened.channel_number == channel.channel_number
    roundtrip(reopened)


@pytest.mark.parametrize("where", ["queue-argument", "header"])
def test_float_field_value_is_refused_by_pika(amqp, where):
    """pika cannot encode a float in a field table: it raises UnsupportedAMQPFieldException and sends nothing."""
    channel = amqp.channel()
    queue = server_queue(channel)
    with pytest.raises(pika.exceptions.UnsupportedAMQPFieldException):
        if where == "header":
            publish(channel, "", queue, "m", headers={"a": 1.5})
        else:
            channel.queue_declare(amqp.unique("q"), auto_delete=True, arguments={"x-message-ttl": 1.5})
    assert channel.is_open
    roundtrip(channel)
