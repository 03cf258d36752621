"""RabbitMQ tutorial 2, "Work Queues": worker.py, as published, split into setup and main."""
import time

import pika


def setup(name=""):
    connection = pika.BlockingConnection(
        pika.ConnectionParameters(host='localhost'))
    channel = connection.channel()

    channel.queue_declare(queue='task_queue', durable=True)
    print(' [*] Waiting for messages. To exit press CTRL+C')

    def callback(ch, method, properties, body):
        print(f"{name} [x] Received {body.decode()}")
        time.sleep(body.count(b'.'))
        print(f"{name} [x] Done")
        ch.basic_ack(delivery_tag=method.delivery_tag)

    channel.basic_qos(prefetch_count=1)
    channel.basic_consume(queue='task_queue', on_message_callback=callback)
    return connection, channel


def main():
    connection, channel = setup()
    channel.start_consuming()
