"""Storage backend for content-addressed files."""

from __future__ import annotations

import os
import tempfile

from django.core.files.storage import FileSystemStorage


class WriteOnceFileSystemStorage(FileSystemStorage):
    """Names are content hashes (of a blob, or of a blob plus how it was derived): written once, never replaced.

    Bytes go to a temp file beside the target, are fsynced, then hard-linked into place: the
    link fails if the name exists, so a concurrent writer of the same content cannot
    overwrite it and a reader never sees a half-written file.
    """

    def get_available_name(self, name, max_length=None):
        return name

    def _save(self, name, content):
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        # A stat: mkdir of a folder that exists costs the worker more, on overlay file systems several times more.
        if not os.path.isdir(directory):
            os.makedirs(directory, exist_ok=True)
        fd, temp_path = tempfile.mkstemp(dir=directory, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                if hasattr(content, "seek"):
                    content.seek(0)
                for chunk in content.chunks():
                    handle.write(chunk)
                handle.flush()
                # The data and the size it needs to be read back; the name's durability is the directory fsync below.
                os.fdatasync(handle.fileno())
            os.chmod(temp_path, self.file_permissions_mode or 0o644)
            try:
                os.link(temp_path, full_path)
            except FileExistsError:
                pass
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            os.unlink(temp_path)
        return name
