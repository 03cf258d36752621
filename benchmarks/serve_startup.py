"""Start-up time of `memq serve`: from process start until it accepts an AMQP connection.

    .venv/bin/python -m benchmarks.serve_startup                 # memq serve, median of 7 runs
    .venv/bin/python -m benchmarks.serve_startup --rabbitmq 3    # also 3 throwaway RabbitMQ nodes, each
                                                                 # booted fresh and then restarted

A run starts the server on a free port and retries a pika `BlockingConnection` until the AMQP handshake
completes (Connection.Open-Ok); the clock stops there, then the server is stopped. Prints the median, the
fastest and the slowest run. Timings are printed, never asserted.

With `--rabbitmq N`, the same is measured for a second, private RabbitMQ node started from the installed
`rabbitmq-server`: its own node name, ports, data, log and config directories (a temporary folder), and no
plugins. The system RabbitMQ on 127.0.0.1:5672 is never stopped, restarted or reconfigured; the private node
only registers its own name with the running epmd (it is not measured when no epmd is running, so that none
is left behind), and its whole process group is killed after each run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import pika
from pika import exceptions as pika_errors

HOST = "127.0.0.1"
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")  # the node itself, not Debian's `su` wrapper
EPMD_PORT = 4369


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for_amqp(port: int, process: subprocess.Popen, timeout: float) -> None:
    """Waits until the port takes an AMQP connection; raises if the process ends or time is up.

    Polls with a bare TCP connect (cheap, so the poll takes little CPU from the starting server), then
    opens a pika connection; if the handshake fails (listening but not ready yet), polls again.
    """
    deadline = time.perf_counter() + timeout
    params = pika.ConnectionParameters(HOST, port, connection_attempts=1, socket_timeout=5)
    while True:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            pika.BlockingConnection(params).close()
            return
        except (OSError, pika_errors.AMQPConnectionError):
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with code {process.returncode} before accepting") from None
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no AMQP connection on port {port} after {timeout} s") from None
            time.sleep(0.002)


def stop_group(process: subprocess.Popen) -> None:
    """Stops the process group this script started (SIGTERM, then SIGKILL), and reaps its leader."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=10)
            if sig == signal.SIGTERM:
                time.sleep(0.2)  # let the rest of the group (Erlang's helpers) go too
                os.killpg(process.pid, signal.SIGKILL)
            break
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            break
    process.wait(timeout=10)


def time_start(start: Callable[[int], subprocess.Popen], timeout: float) -> float:
    """Seconds from starting one server until it accepts an AMQP connection."""
    port = free_port()
    began = time.perf_counter()
    process = start(port)
    try:
        wait_for_amqp(port, process, timeout)
        return time.perf_counter() - began
    finally:
        stop_group(process)


def start_memq(port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "memq", "serve", "--host", HOST, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


class PrivateRabbitMQ:
    """Starts throwaway RabbitMQ nodes that share nothing with the system one but the running epmd."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="memq-bench-rabbitmq-"))
        self.nodes = 0
        self.restart = False  # False: a fresh node (first boot); True: the last node again, on its own data

    def unavailable(self) -> str | None:
        """Why the private node cannot be measured here, or None."""
        if not RABBITMQ_SERVER.exists():
            return f"{RABBITMQ_SERVER} is not installed"
        try:
            socket.create_connection((HOST, EPMD_PORT), timeout=1).close()
        except OSError:
            return "no epmd is running (starting the node would leave one behind)"
        return None

    def __call__(self, port: int) -> subprocess.Popen:
        if not self.restart or not self.nodes:
            self.nodes += 1
            (self.base / f"node{self.nodes}").mkdir()
        home = self.base / f"node{self.nodes}"
        (home / "rabbitmq.conf").write_text(f"listeners.tcp.local = {HOST}:{port}\n")
        (home / "enabled_plugins").write_text("[].\n")
        (home / "rabbitmq-env.conf").write_text("")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "RABBITMQ_NODENAME": f"memqbench{os.getpid()}x{self.nodes}@localhost",
            "RABBITMQ_NODE_PORT": str(port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONF_ENV_FILE": str(home / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(home / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(home / "log"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(home / "plugins-expand"),
            "RABBITMQ_PID_FILE": str(home / "rabbitmq.pid"),
            "ERL_EPMD_ADDRESS": HOST,
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        # stdin stays an open pipe: the node stops when its standard input reaches end of file.
        return subprocess.Popen([str(RABBITMQ_SERVER)], env=env, cwd=home, stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def cleanup(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def summary(name: str, times: list[float]) -> str:
    return (f"{name}: median {statistics.median(times) * 1000:.0f} ms over {len(times)} runs"
            f" (fastest {min(times) * 1000:.0f} ms, slowest {max(times) * 1000:.0f} ms)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="memq serve starts to measure (default 7)")
    parser.add_argument("--rabbitmq", type=int, default=0, metavar="N",
                        help="also boot N private RabbitMQ nodes, and restart each once (default 0: not measured)")
    args = parser.parse_args(argv)

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    memq_times = [time_start(start_memq, timeout=60) for _ in range(args.runs)]
    print(summary("memq serve", memq_times))
    if args.rabbitmq <= 0:
        print("rabbitmq-server: not measured (pass --rabbitmq N to boot and restart N private nodes)")
        return 0
    rabbitmq = PrivateRabbitMQ()
    reason = rabbitmq.unavailable()
    if reason is not None:
        print(f"rabbitmq-server: not measured ({reason})")
        return 0
    first_boots: list[float] = []
    restarts: list[float] = []
    try:
        for _ in range(args.rabbitmq):
            rabbitmq.restart = False
            first_boots.append(time_start(rabbitmq, timeout=180))
            rabbitmq.restart = True
            restarts.append(time_start(rabbitmq, timeout=180))
    finally:
        rabbitmq.cleanup()
    print(summary("rabbitmq-server, first boot (fresh data directory, no plugins)", first_boots))
    print(summary("rabbitmq-server, restart (same node and data, no plugins)", restarts))
    memq_median = statistics.median(memq_times)
    print(f"memq serve starts {statistics.median(first_boots) / memq_median:.0f}x faster than a first boot,"
          f" {statistics.median(restarts) / memq_median:.0f}x faster than a restart")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
