"""Connecting: the handshake speaks as RabbitMQ 3.10, and refusals raise what pika raises against it."""

from __future__ import annotations

import pika
import pytest
from pika import exceptions

import memq
import memq.pika
from memq._amqp_session import SERVER_PROPERTIES


def test_server_properties_and_capabilities_are_rabbitmqs(connection):
    """Connection.Start carries RabbitMQ's product, version, platform and capabilities."""
    impl = connection._impl
    assert impl.server_properties["product"] == "RabbitMQ"
    assert impl.server_properties["version"].startswith("3.10.")
    assert impl.server_properties["platform"].startswith("Erlang/OTP")
    assert {"cluster_name", "copyright", "information"} <= set(impl.server_properties)
    assert impl.server_capabilities == SERVER_PROPERTIES["capabilities"]
    assert all(impl.server_capabilities.values())
    assert connection.basic_nack_supported and connection.consumer_cancel_notify_supported
    assert connection.exchange_exchange_bindings_supported and connection.publisher_confirms_supported


def test_tune_values_are_rabbitmqs(connection):
    """Tune proposes channel_max 2047, frame_max 131072 and heartbeat 60, which pika accepts."""
    params = connection._impl.params
    assert (params.channel_max, params.frame_max, params.heartbeat) == (2047, 131072, 60)


def test_client_heartbeat_choice_is_honoured(broker):
    """A client's heartbeat=0 switches heartbeats off, as it does against RabbitMQ."""
    connection = pika.BlockingConnection(pika.ConnectionParameters("localhost", heartbeat=0))
    assert connection._impl.params.heartbeat == 0
    connection.sleep(3600)
    assert connection.is_open


def test_wrong_password_is_probable_authentication_error(broker):
    """Bad credentials: Connection.Close 403 during the handshake, ProbableAuthenticationError."""
    with pytest.raises(exceptions.ProbableAuthenticationError) as caught:
        pika.BlockingConnection(pika.ConnectionParameters(
            "localhost", credentials=pika.PlainCredentials("guest", "wrong")))
    assert ("ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. "
            "For details see the broker logfile.") in str(caught.value)
    assert broker.connections == []


def test_unknown_vhost_is_probable_access_denied_error(broker):
    """An unknown virtual host: Connection.Close 530 after Tune, ProbableAccessDeniedError."""
    with pytest.raises(exceptions.ProbableAccessDeniedError) as caught:
        pika.BlockingConnection(pika.ConnectionParameters("localhost", virtual_host="nope"))
    assert "NOT_ALLOWED - vhost nope not found" in str(caught.value)


@pytest.mark.parametrize("host, port", [("localhost", 5673), ("rabbitmq.invalid", 5672)])
def test_unknown_address_is_refused(broker, host, port):
    """Nothing listens at other addresses: AMQPConnectionError, as for a closed port."""
    with pytest.raises(exceptions.AMQPConnectionError) as caught:
        pika.BlockingConnection(pika.ConnectionParameters(host, port))
    assert "Connection refused" in repr(caught.value)


def test_url_parameters_with_user_and_vhost(broker):
    """URLParameters' credentials and virtual host reach the broker."""
    broker.add_vhost("orders")
    broker.add_user("alice", "s3cret")
    connection = pika.BlockingConnection(pika.URLParameters("amqp://alice:s3cret@127.0.0.1:5672/orders"))
    connection.channel().queue_declare("q")
    (core,) = broker.connections
    assert (core.vhost, core.username) == ("orders", "alice")
    connection.close()
    assert broker.connections == []


def test_extra_addresses(monkeypatch):
    """patched(addresses=...) makes the broker answer at other host names and ports."""
    with memq.pika.patched(addresses=[("rabbitmq", 5672)]):
        connection = pika.BlockingConnection(pika.ConnectionParameters("rabbitmq"))
        assert connection.is_open
        with pytest.raises(exceptions.AMQPConnectionError):
            pika.BlockingConnection(pika.ConnectionParameters("localhost"))


def test_patch_is_restored_on_exit():
    """Leaving patched() restores pika's IOLoop, I/O services and clock."""
    from pika.adapters import select_connection

    before = (select_connection.IOLoop, select_connection.SelectorIOServicesAdapter,
              pika.compat.time_now)
    with memq.pika.patched():
        assert select_connection.IOLoop is memq.pika.VirtualIOLoop
        with memq.pika.patched():
            pass
        assert select_connection.IOLoop is memq.pika.VirtualIOLoop
    assert (select_connection.IOLoop, select_connection.SelectorIOServicesAdapter,
            pika.compat.time_now) == before


def test_binding_imported_before_patching_is_covered():
    """`from pika import BlockingConnection` done at import time still reaches memq."""
    from pika import BlockingConnection

    with memq.pika.patched() as broker:
        connection = BlockingConnection()
        assert len(broker.connections) == 1
        connection.close()


def test_connection_close_is_clean(broker, connection, channel):
    """Closing the connection closes its core connection and its exclusive queues."""
    channel.queue_declare("mine", exclusive=True)
    connection.close()
    assert broker.connections == []
    assert connection.is_closed
    with pytest.raises(exceptions.ConnectionWrongStateError):
        connection.close()


def test_context_managers_close(broker):
    """The connection and channel context managers close both."""
    with pika.BlockingConnection(pika.ConnectionParameters("localhost")) as connection:
        with connection.channel() as channel:
            channel.queue_declare("q")
        assert channel.is_closed
    assert connection.is_closed and broker.connections == []


def test_update_secret(connection):
    """Connection.UpdateSecret is answered with UpdateSecretOk."""
    connection.update_secret("guest", "rotation")
    assert connection.is_open
