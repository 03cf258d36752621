"""Connections: what Connection.Start and Tune announce, and refused logins."""

import re

import pika
import pytest
from pika import exceptions as pika_errors

CAPABILITIES = {
    "authentication_failure_close": True,
    "basic.nack": True,
    "connection.blocked": True,
    "consumer_cancel_notify": True,
    "consumer_priorities": True,
    "direct_reply_to": True,
    "exchange_exchange_bindings": True,
    "per_consumer_qos": True,
    "publisher_confirms": True,
}


def server_properties(connection: pika.BlockingConnection) -> dict:
    """Connection.Start's server_properties (pika keeps them on the underlying connection)."""
    return connection._impl.server_properties


def test_server_announces_capabilities(amqp):
    """Connection.Start carries RabbitMQ's capability table, exactly."""
    assert server_properties(amqp.connect())["capabilities"] == CAPABILITIES


def test_server_properties_name_the_product(amqp):
    """Connection.Start names the product RabbitMQ with a 3.x version and RabbitMQ's set of keys."""
    properties = server_properties(amqp.connect())
    assert set(properties) == {"capabilities", "cluster_name", "copyright", "information", "platform", "product",
                               "version"}
    assert properties["product"] == "RabbitMQ"
    assert re.fullmatch(r"3\.\d+\.\d+", properties["version"])
    assert properties["information"] == "Licensed under the MPL 2.0. Website: https://rabbitmq.com"


def test_capability_properties_seen_by_pika(amqp):
    """pika's capability shortcuts all report True."""
    connection = amqp.connect()
    assert connection.basic_nack_supported
    assert connection.consumer_cancel_notify_supported
    assert connection.exchange_exchange_bindings_supported
    assert connection.publisher_confirms_supported


def test_tune_values(amqp):
    """With pika's defaults the connection is tuned to channel_max 2047, frame_max 131072, heartbeat 60."""
    params = amqp.connect()._impl.params
    assert (params.channel_max, params.frame_max, params.heartbeat) == (2047, 131072, 60)


@pytest.mark.parametrize("username, password", [("guest", "wrong"), ("nobody", "guest")],
                         ids=["wrong-password", "unknown-user"])
def test_login_refused_for_bad_credentials(amqp, username, password):
    """Bad credentials make pika raise ProbableAuthenticationError carrying the broker's 403 text."""
    with pytest.raises(pika_errors.ProbableAuthenticationError) as info:
        amqp.connect(credentials=pika.PlainCredentials(username, password))
    assert info.value.args == (
        "ConnectionClosedByBroker: (403) 'ACCESS_REFUSED - Login was refused using authentication mechanism "
        "PLAIN. For details see the broker logfile.'",
    )


def test_connect_to_unknown_vhost_is_refused(amqp):
    """An unknown virtual host makes pika raise ProbableAccessDeniedError carrying the broker's 530 text."""
    with pytest.raises(pika_errors.ProbableAccessDeniedError) as info:
        amqp.connect(virtual_host="no-such-vhost")
    assert info.value.args == ("ConnectionClosedByBroker: (530) 'NOT_ALLOWED - vhost no-such-vhost not found'",)


def test_channel_numbers_start_at_one(amqp):
    """pika numbers a connection's channels 1, 2, ..."""
    connection = amqp.connect()
    assert [connection.channel().channel_number for _ in range(3)] == [1, 2, 3]


def test_closed_connection_refuses_new_channels(amqp):
    """After close(), is_open is False and channel() raises ConnectionWrongStateError."""
    connection = amqp.connect()
    connection.close()
    assert not connection.is_open
    with pytest.raises(pika_errors.ConnectionWrongStateError):
        connection.channel()
