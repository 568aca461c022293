"""A model server on loopback for the catalogue tests: serves the files below a folder with HTTP
Range support, can cut a connection half-way once, and records the requests it saw (also the
absolute URLs a client sends when it uses it as its HTTP proxy). It can also hold a response
after some bytes until the test releases it (to cancel a download while it is under way)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


class ModelServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.cut_after: int | None = None  # bytes sent before the next response is cut off
        self.hold_after: int | None = None  # bytes sent before the next response waits for `release`
        self.release = threading.Event()
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                relative = urlsplit(self.path).path.lstrip("/")  # also an absolute URL sent to a proxy
                path = (server.folder / relative).resolve()
                if server.folder.resolve() not in path.parents or not path.is_file():
                    self.send_error(404, "Not Found")
                    return
                data = path.read_bytes()
                start = 0
                if self.headers.get("Range", "").startswith("bytes="):
                    start = int(self.headers["Range"][6:].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if server.cut_after is not None:
                    body, server.cut_after = body[: server.cut_after], None
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if server.hold_after is not None:
                    held, server.hold_after = server.hold_after, None
                    self.wfile.write(body[:held])
                    self.wfile.flush()
                    server.release.wait(timeout=60)
                    body = body[held:]
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> ModelServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
