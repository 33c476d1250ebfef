"""Uploads stop being stored past the statement size limit, however large they are.

Django writes an upload to a temporary file as it arrives, whatever its size. This handler,
first in FILE_UPLOAD_HANDLERS, passes an upload's chunks on until it exceeds
BILLTONE_STATEMENT_MAX_BYTES, then only counts the rest, and hands the form a file that is
empty but says the size sent: the form refuses it with that size (import_forms), and
nothing over the limit was kept in memory or on disk.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class TooLargeUpload(UploadedFile):
    """What is left of an upload over the limit: its name and the bytes that were sent."""

    def __init__(self, name: str, content_type: str | None, size: int) -> None:
        super().__init__(io.BytesIO(), name=name, content_type=content_type, size=size)


class UploadSizeLimit(FileUploadHandler):
    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.limit = settings.BILLTONE_STATEMENT_MAX_BYTES
        self.received = 0

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        return raw_data if self.received <= self.limit else None

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.received <= self.limit:
            return None  # the next handler keeps the file
        return TooLargeUpload(self.file_name, self.content_type, self.received)
