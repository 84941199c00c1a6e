"""manage.py catalog_import: the report on stdout, a progress bar on stderr, the exit status."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from catalog.models import Part
from tests.catalog_import.csv_files import GOOD_PARTS, catalog_state, parts_csv


@pytest.fixture
def csv_file(tmp_path):
    def write(data: bytes, name: str = "parts.csv") -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return write


def test_a_good_file_is_imported_with_a_progress_bar(catalog, csv_file):
    out, err = io.StringIO(), io.StringIO()
    sys_stderr = sys.stderr
    sys.stderr = err  # the bar writes to the process's stderr
    try:
        call_command("catalog_import", "--kind", "parts", csv_file(GOOD_PARTS), stdout=out)
    finally:
        sys.stderr = sys_stderr

    assert "3 rows imported" in out.getvalue()
    assert "3 created, 0 updated, 0 unchanged; 3 part events" in out.getvalue()
    assert "3/3 rows" in err.getvalue() and "rows/s" in err.getvalue()
    assert Part.objects.count() == 3


def test_rejected_rows_are_listed_and_the_command_fails(catalog, csv_file):
    call_command("catalog_import", "--kind", "parts", "--no-progress", csv_file(GOOD_PARTS), stdout=io.StringIO())
    before = catalog_state()
    out = io.StringIO()
    bad = parts_csv(
        "Toyota,04465-0K240,kampas-rem,Kampas,Pad,850,,,,,,",
        "Bosch,0 986 494 123,kampas-rem,Kampas,Pad,-1,,,,,,",
    )

    with pytest.raises(CommandError, match="1 of 2 rows rejected; nothing was imported") as exc:
        call_command("catalog_import", "--kind", "parts", "--no-progress", csv_file(bad), stdout=out)

    assert exc.value.returncode == 1
    lines = out.getvalue().splitlines()
    assert lines[0] == "row\tcolumn\tcode\tmessage"
    assert lines[1].startswith("3\tbrand\tunknown_brand\t")
    assert lines[2].startswith("3\tweight_g\tnegative\t")
    assert catalog_state() == before


def test_an_unreadable_file_fails_with_status_2(catalog, csv_file):
    with pytest.raises(CommandError, match="not UTF-8") as exc:
        call_command("catalog_import", "--kind", "parts", csv_file("brand;é".encode("latin-1")))
    assert exc.value.returncode == 2


def database_url(db: dict) -> str:
    user = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    if str(db["HOST"]).startswith("/"):  # the embedded server's socket directory
        return f"postgres://{user}@/{db['NAME']}?host={quote(db['HOST'])}&port={db['PORT']}"
    return f"postgres://{user}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_the_process_exit_status_is_non_zero_on_rejected_rows(tmp_path):
    """The real process, on the test database: no brand exists, so every row is rejected."""
    path = tmp_path / "parts.csv"
    path.write_bytes(GOOD_PARTS)
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict)}
    manage = Path(settings.BASE_DIR) / "manage.py"

    result = subprocess.run(
        [sys.executable, str(manage), "catalog_import", "--kind", "parts", str(path)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )

    assert result.returncode == 1, result.stderr
    assert "unknown_brand" in result.stdout
    assert "3 of 3 rows rejected" in result.stderr
