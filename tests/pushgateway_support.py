"""A Pushgateway stand-in for the tests: a real HTTP server on a free local port that records what is PUT to it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Gateway:
    """A Pushgateway stand-in: records every request, answers with `status` (and `reply`)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status, self.reply = 200, b""
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                gateway.requests.append({"method": "PUT", "path": self.path,
                                         "content_type": self.headers.get("Content-Type"),
                                         "body": self.rfile.read(length).decode("utf-8")})
                self.send_response(gateway.status)
                self.send_header("Content-Length", str(len(gateway.reply)))
                self.end_headers()
                self.wfile.write(gateway.reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Gateway:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
