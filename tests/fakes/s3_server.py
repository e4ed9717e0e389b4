"""A real S3-API server for tests: moto's server on a free loopback port, in a thread of the test process.

No MinIO binary can be installed on the build machines; moto speaks the same protocol (buckets, put/get,
list, copy, conditional put with If-None-Match, lifecycle configuration), so the lake is exercised through
real HTTP requests from s3fs, dlt and DuckDB. moto accepts any access key pair, which lets the tests use
the keys the vault generated.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

HOST = "127.0.0.1"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def create_bucket(self, access_key: str, secret_key: str, name: str | None = None) -> str:
        """Create a fresh bucket (a random name unless given) and return its name."""
        import boto3

        bucket = name or f"cofre-{uuid.uuid4().hex[:12]}"
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=REGION,
        )
        client.create_bucket(Bucket=bucket)
        return bucket


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://{HOST}:{port}")
    finally:
        server.stop()
