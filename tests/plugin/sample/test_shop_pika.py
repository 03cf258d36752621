"""The shop's pika tests, as written against a real RabbitMQ; they only ask for the memq_pika fixture."""

import json

import pika

import shop


def get_one(channel, queue, tries=50):
    """basic_get, retrying a little: on a real broker a dead-lettered message arrives a moment later."""
    for _ in range(tries):
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is not None:
            return body
        channel.connection.sleep(0.02)
    return None


def test_placed_order_reaches_the_orders_queue(memq_pika):
    connection = shop.connect()
    channel = connection.channel()
    shop.declare(channel)
    channel.confirm_delivery()
    shop.place_order(channel, {"id": 1, "quantity": 2})
    assert json.loads(get_one(channel, "shop.orders")) == {"id": 1, "quantity": 2}
    memq_pika.assert_published(exchange="shop", routing_key="order.created", json={"id": 1, "quantity": 2})


def test_worker_acks_good_orders_and_dead_letters_bad_ones(memq_pika):
    connection = shop.connect()
    channel = connection.channel()
    shop.declare(channel)
    channel.confirm_delivery()
    shop.place_order(channel, {"id": 1, "quantity": 2})
    shop.place_order(channel, {"id": 2, "quantity": 0})
    worker = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    shop.start_worker(worker)
    worker.process_data_events(time_limit=0.3)
    assert json.loads(get_one(channel, "shop.orders.dead")) == {"id": 2, "quantity": 0}
    memq_pika.assert_consumed(queue="shop.orders", json={"id": 1, "quantity": 2}, count=1)
    memq_pika.assert_not_consumed(queue="shop.orders", json={"id": 2, "quantity": 0})


def test_orders_queue_starts_empty(memq_pika):
    channel = shop.connect().channel()
    shop.declare(channel)
    assert channel.queue_declare("shop.orders", passive=True).method.message_count == 0


def test_message_ttl_drops_old_messages(memq_pika):
    connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    channel = connection.channel()
    channel.queue_declare("shop.flash", arguments={"x-message-ttl": 100})
    channel.basic_publish("", "shop.flash", b"sale!")
    connection.sleep(0.4)
    assert channel.basic_get("shop.flash", auto_ack=True)[0] is None
