"""An S3 endpoint on loopback: moto's server mode, spoken to over HTTP by the same django-storages
backend (boto3) that production points at AWS, MinIO or R2."""

from __future__ import annotations

import logging
import uuid

from config.localpg import free_port

REGION = "us-east-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "seed-test",
    "AWS_SECRET_ACCESS_KEY": "seed-test-secret",
    "AWS_DEFAULT_REGION": REGION,
}


class S3Endpoint:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> S3Endpoint:
        # One access line per request would bury a failing test's own output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def bucket_create(self) -> str:
        name = f"seed-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def storage_settings(self, *, bucket: str, prefix: str = "blobs") -> dict:
        """The "blobs" entry of STORAGES that settings/base.py builds from SEED_S3_* for this endpoint."""
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": self.url,
                "location": prefix,
                "file_overwrite": False,
                "default_acl": None,
                "querystring_auth": True,
                "region_name": REGION,
                "access_key": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                "secret_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            },
        }

    def host_environment(self, *, bucket: str) -> dict:
        """What a worker host is given to reach the same store: settings/base.py reads these."""
        return {"SEED_S3_BUCKET": bucket, "SEED_S3_ENDPOINT_URL": self.url, **CREDENTIALS}
