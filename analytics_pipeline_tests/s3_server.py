"""A real S3-compatible server on loopback for the test session: moto's, in a thread of this process.

Each test takes a bucket of its own (:meth:`S3Server.create_bucket`) and the standard AWS variables that
reach it (:meth:`S3Server.env`), so the code under test finds the store as it would find AWS or MinIO.
"""

from __future__ import annotations

import logging
import uuid
from types import TracebackType

import pyarrow.fs as pafs
from moto.server import ThreadedMotoServer

ACCESS_KEY_ID = "AKIATESTRAWSTORE0001"
SECRET_ACCESS_KEY = "raw-store-secret-key-that-must-never-be-printed"
"""Distinctive, so a test can assert it never appears in output, errors, logs or files."""
REGION = "us-east-1"


class S3Server:
    """moto's S3 server on 127.0.0.1 and a free port, for as long as the ``with`` block lasts."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""

    def __enter__(self) -> S3Server:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()

    def env(self) -> dict[str, str]:
        """The AWS variables that point a process at this server."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }

    def filesystem(self) -> pafs.S3FileSystem:
        """A pyarrow file system on the server, to look at what the code under test wrote."""
        host = self.endpoint_url.removeprefix("http://")
        return pafs.S3FileSystem(
            access_key=ACCESS_KEY_ID,
            secret_key=SECRET_ACCESS_KEY,
            region=REGION,
            scheme="http",
            endpoint_override=host,
            allow_bucket_creation=True,
        )

    def create_bucket(self) -> str:
        """A new, empty bucket: its name."""
        name = f"raw-{uuid.uuid4().hex[:12]}"
        self.filesystem().create_dir(name)
        return name
