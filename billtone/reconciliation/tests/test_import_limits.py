"""A statement over the operator's size limit is refused before it is read, by the command,
the back-office upload and the import service; an upload over it is never stored. A file with
nothing to import says so."""

import io
import subprocess
import sys

import pytest
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.core.management import CommandError
from django.test import RequestFactory

from billtone.core.errors import ApplicationError
from billtone.ledger.models import Transaction
from billtone.reconciliation.models import StatementImport
from billtone.reconciliation.services.imports import statement_import
from billtone.reconciliation.tests.importing import STAFF, Credit, camt053
from billtone.reconciliation.tests.test_admin import upload
from billtone.reconciliation.tests.test_command import run

LIMIT = 2_000


@pytest.fixture
def limit(settings):
    settings.BILLTONE_STATEMENT_MAX_BYTES = LIMIT
    return LIMIT


@pytest.fixture
def large(tmp_path, customer):
    """A valid statement of 2.5 kB with a credit for the customer."""
    path = camt053(
        tmp_path,
        *(Credit("1.00", ref=customer.request.reference) for _ in range(3)),
        name="big.xml",
    )
    assert path.stat().st_size > LIMIT
    return path


class Unreadable(io.BytesIO):
    """A file that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the file was read")

    __iter__ = readline = read1 = readinto = read


def test_the_service_refuses_a_file_over_the_limit_without_reading_it(limit, large):
    with pytest.raises(ApplicationError) as caught:
        statement_import(source=Unreadable(large.read_bytes()), name="big.xml", actor=STAFF)

    assert caught.value.status == 413
    assert caught.value.errors["file"] == [
        f"big.xml: the file is {large.stat().st_size:,} bytes, over the 2,000 bytes a statement "
        "file may have here (BILLTONE_STATEMENT_MAX_BYTES); it was not read."
    ]
    assert not StatementImport.objects.exists() and not Transaction.objects.exists()


def test_a_pipe_over_the_limit_is_refused_once_the_limit_is_read(settings, large):
    settings.BILLTONE_STATEMENT_MAX_BYTES = 1_000_000
    pipe = subprocess.Popen(  # 3 MB, of which the import copies aside at most the first 2
        [sys.executable, "-c", "import sys\nsys.stdout.buffer.write(b'<' * 3_000_000)"],
        stdout=subprocess.PIPE,
    )
    try:
        with pytest.raises(ApplicationError, match=r"over the 1\.0 MB a statement file may"):
            statement_import(source=pipe.stdout, name="stdin", actor=STAFF)
    finally:
        pipe.kill()
        pipe.wait()
    assert not StatementImport.objects.exists()


def test_the_command_refuses_a_file_over_the_limit(limit, large):
    with pytest.raises(
        CommandError, match=r"big.xml: the file is [0-9,]+ bytes, over the 2,000 bytes"
    ):
        run(large)

    assert not Transaction.objects.exists()


def test_an_upload_over_the_limit_is_refused_with_its_size(limit, large, staff):  # noqa: F811
    response = upload(staff, large)

    assert response.status_code == 200
    page = response.content.decode()
    size = f"{large.stat().st_size:,}"
    assert f"big.xml: the file is {size} bytes, over the 2,000 bytes a statement file" in page
    assert not StatementImport.objects.exists() and not Transaction.objects.exists()


def test_an_upload_under_the_limit_is_imported(settings, large, staff):  # noqa: F811
    settings.BILLTONE_STATEMENT_MAX_BYTES = large.stat().st_size

    assert upload(staff, large).status_code == 302
    assert StatementImport.objects.get().credits == 3


def test_an_upload_stops_being_stored_at_the_limit(settings):
    """What the upload handler passes on to Django's own (memory, then a temporary file)."""
    from billtone.reconciliation.upload_limit import UploadSizeLimit

    settings.BILLTONE_STATEMENT_MAX_BYTES = 100_000
    request = RequestFactory().post("/")
    limiter, storage = UploadSizeLimit(request), TemporaryFileUploadHandler(request)
    for handler in (limiter, storage):
        handler.new_file("file", "huge.xml", "text/xml", None)
    stored = 0
    for start in range(0, 10_000_000, 65_536):
        chunk = limiter.receive_data_chunk(b"x" * 65_536, start)
        if chunk is not None:
            storage.receive_data_chunk(chunk, start)
            stored += len(chunk)

    refused = limiter.file_complete(10_000_000)

    assert stored <= 100_000
    assert (refused.name, refused.size, refused.read()) == ("huge.xml", 10_027_008, b"")


# --- nothing to import ----------------------------------------------------------------------


def test_a_statement_without_entries_is_imported_with_a_warning(tmp_path, customer):
    out = run(camt053(tmp_path, name="empty.xml"))

    record = StatementImport.objects.get()
    assert record.credits == 0
    assert record.warnings == ["STMT-1: The statement holds no entries: nothing in it is imported."]
    assert "Warning: STMT-1: The statement holds no entries" in out
