"""RabbitMQ tutorial 5, "Topics": emit_log_topic.py, as published (argv passed in)."""
import sys

import pika


def main(argv=None):
    argv = sys.argv if argv is None else argv
    connection = pika.BlockingConnection(
        pika.ConnectionParameters(host='localhost'))
    channel = connection.channel()

    channel.exchange_declare(exchange='topic_logs', exchange_type='topic')

    routing_key = argv[1] if len(argv) > 2 else 'anonymous.info'
    message = ' '.join(argv[2:]) or 'Hello World!'
    channel.basic_publish(
        exchange='topic_logs', routing_key=routing_key, body=message)
    print(f" [x] Sent {routing_key}:{message}")
    connection.close()
