"""The import preview is worked out once per set of choices: later views of it do not read the file again."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from facilitation import imports
from tests.conftest import page
from tests.facilitation.test_imports import confirm, preview_fields, survey, upload  # noqa: F401 - `survey` is a fixture


@pytest.fixture
def reads(monkeypatch):
    """Count the times the preview reads a file (read_table in facilitation.imports)."""
    calls = []
    real = imports.read_table

    def counted(*args, **kwargs):
        """Read the file, counting it."""
        calls.append(args[1] if len(args) > 1 else "")
        return real(*args, **kwargs)

    monkeypatch.setattr(imports, "read_table", counted)
    return calls


def staging(app) -> Path:
    """Return the folder where uploads wait."""
    return Path(app.config["DATABASE"]).parent / "import-staging"


def test_a_second_view_renders_the_same_page_without_reading_the_file(as_facilitator, app, survey, reads):  # noqa: F811
    """The first view reads and plans the file; the same view again, and the same choices sent again, read nothing."""
    preview_url = upload(as_facilitator, survey, "kobo.csv").headers["Location"]
    reads.clear()
    first = as_facilitator.get(preview_url)
    assert first.status_code == 200 and len(reads) == 1
    second = as_facilitator.get(preview_url)
    assert len(reads) == 1
    main = lambda response: str(page(response).find("main").find("dl"))  # noqa: E731
    assert main(first) == main(second) and page(second).find(id="count-fresh").get_text(strip=True) == "3"
    assert [s["value"] for s in page(second).select("select option[selected]")] == \
        [s["value"] for s in page(first).select("select option[selected]")]
    kept = staging(app) / (preview_url.rstrip("/").rsplit("/", 1)[1] + imports.PREVIEW_SUFFIX)
    assert kept.exists() and (kept.stat().st_mode & 0o777) == 0o600
    assert b"The bus only comes" not in kept.read_bytes(), "the remembered preview is encrypted like the upload"
    fields = preview_fields(second)
    changed = {name: "ignore" for name in fields if name.startswith("col-")}
    as_facilitator.post(preview_url, data={**fields, **changed})
    assert len(reads) == 2, "other choices are worked out from the file"
    as_facilitator.post(preview_url, data={**fields, **changed})
    as_facilitator.get(preview_url)
    assert len(reads) == 2, "choices seen before are remembered (the last few)"
    assert confirm(as_facilitator, preview_url).status_code == 303
    assert len(reads) == 3, "Import always reads the file it stores"
    assert list(staging(app).iterdir()) == [], "the upload and its remembered preview are deleted on import"


def test_a_remembered_preview_is_forgotten_when_the_sessions_imports_change(as_facilitator, app, survey, reads):  # noqa: F811
    """Another import of the same people makes the remembered counts stale: the next view counts them as already imported."""
    waiting = upload(as_facilitator, survey, "kobo.csv").headers["Location"]
    assert page(as_facilitator.get(waiting)).find(id="count-fresh").get_text(strip=True) == "3"
    confirm(as_facilitator, upload(as_facilitator, survey, "kobo.csv").headers["Location"])
    shown = page(as_facilitator.get(waiting))
    assert shown.find(id="count-fresh").get_text(strip=True) == "0"
    assert shown.find(id="count-already").get_text(strip=True) == "3"


def test_cancel_and_the_two_hour_purge_delete_the_remembered_preview(as_facilitator, app, survey):  # noqa: F811
    """Cancel deletes both files; an old remembered preview, or one whose upload is gone, is purged with old uploads."""
    preview_url = upload(as_facilitator, survey, "kobo.csv").headers["Location"]
    shown = as_facilitator.get(preview_url)
    assert len(list(staging(app).glob("*" + imports.PREVIEW_SUFFIX))) == 1
    as_facilitator.post(preview_url, data={**preview_fields(shown), "action": "cancel"})
    assert list(staging(app).iterdir()) == []
    kept = upload(as_facilitator, survey, "kobo.csv").headers["Location"]
    as_facilitator.get(kept)
    orphan = staging(app) / ("orphan" + imports.PREVIEW_SUFFIX)
    orphan.write_bytes(b"x")
    old = next(staging(app).glob("*.upload"))
    hours_ago = time.time() - imports.STAGED_SECONDS - 60
    os.utime(old, (hours_ago, hours_ago))
    with app.test_request_context():
        imports.purge_staged()
    assert list(staging(app).iterdir()) == []
