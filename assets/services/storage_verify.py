from __future__ import annotations

from dataclasses import dataclass, field

from django.core.files.storage import storages

from assets.models import Blob, blob_storage_name
from assets.services.blobs import blob_hash


@dataclass
class StorageReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[dict] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.mismatched

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "missing": self.missing,
            "mismatched": self.mismatched,
            "orphans": self.orphans,
        }


def _stored_names(storage, prefix: str = "") -> list[str]:
    directories, files = storage.listdir(prefix)
    names = [f"{prefix}{name}" for name in files if not name.startswith(".")]
    for directory in directories:
        names += _stored_names(storage, f"{prefix}{directory}/")
    return names


def storage_verify(*, with_orphans: bool = True) -> StorageReport:
    """Re-hash every stored blob against its name; list rows without a file and files without a row."""
    report = StorageReport()
    known = set()
    for sha256 in Blob.objects.order_by("sha256").values_list("sha256", flat=True).iterator(chunk_size=2000):
        known.add(blob_storage_name(sha256))
        report.checked += 1
        actual = blob_hash(sha256=sha256)
        if actual is None:
            report.missing.append(sha256)
        elif actual != sha256:
            report.mismatched.append({"sha256": sha256, "actual": actual})
    if with_orphans:
        report.orphans = sorted(set(_stored_names(storages["blobs"])) - known)
    return report
