"""`fulfillment documents register <folder>`: checks every file against the schema, registers
all of them or none, is idempotent, and prints the ids."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from app.cli import main
from app.config import Settings
from app.db.engine import create_engine
from app.db.migrate import upgrade

DOCUMENTS = Path(__file__).resolve().parents[1] / "documents"
VALID = "query Products { products { code } }\n"


@pytest.fixture
async def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated SQLite file of its own, which the command finds through DATABASE_URL."""
    path = tmp_path / "cli.db"
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(Settings(environment="test", database_url=url))
    async with engine.begin() as connection:
        await connection.run_sync(upgrade)
    await engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    return path


def _rows(database: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(database) as connection:
        stmt = "SELECT sha256, name, document FROM trusted_document ORDER BY name"
        return list(connection.execute(stmt))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_registers_a_folder_and_prints_the_ids(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sorted(DOCUMENTS.rglob("*.graphql"))

    assert main(["documents", "register", str(DOCUMENTS)]) == 0

    names = [path.relative_to(DOCUMENTS).with_suffix("").as_posix() for path in files]
    expected = [
        f"sha256:{_sha256(path)}  {name}  registered"
        for path, name in zip(files, names, strict=True)
    ]
    assert capsys.readouterr().out.splitlines() == expected
    assert {"dashboard", "subscription", "order_quote", "order_place"} <= set(names)
    stored = [
        (_sha256(path), name, path.read_text()) for path, name in zip(files, names, strict=True)
    ]
    assert _rows(database) == sorted(stored, key=lambda row: row[1])


def test_registering_again_changes_nothing(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["documents", "register", str(DOCUMENTS)]) == 0
    first = _rows(database)
    capsys.readouterr()

    assert main(["documents", "register", str(DOCUMENTS)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(first)
    assert all(line.endswith("  already registered") for line in lines)
    assert _rows(database) == first


def test_an_invalid_file_registers_nothing(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "good.graphql").write_text(VALID)
    (folder / "typo.graphql").write_text("query Typo {\n  prodcts { code }\n}\n")
    (folder / "broken.graphql").write_text("query Broken { products { code }\n")

    assert main(["documents", "register", str(folder)]) == 1

    output = capsys.readouterr()
    assert output.out == ""
    assert output.err.splitlines() == [
        f"{folder / 'broken.graphql'}: Syntax Error: Expected Name, found <EOF>. (line 2 column 1)",
        f"{folder / 'typo.graphql'}: Cannot query field 'prodcts' on type 'Query'. "
        "Did you mean 'products'? (line 2 column 3)",
        "nothing registered",
    ]
    assert _rows(database) == []


def test_a_document_without_an_operation_is_refused(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "fragments"
    folder.mkdir()
    (folder / "fragment.graphql").write_text("fragment Code on Product { code }\n")

    assert main(["documents", "register", str(folder)]) == 1

    assert capsys.readouterr().err.splitlines()[0] == (
        f"{folder / 'fragment.graphql'}: no operation in the document"
    )
    assert _rows(database) == []


def test_a_folder_without_documents_is_refused(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["documents", "register", str(tmp_path / "missing")]) == 1
    assert main(["documents", "register", str(tmp_path)]) == 1

    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'missing'}: not a folder",
        "nothing registered",
        f"{tmp_path}: no .graphql files",
        "nothing registered",
    ]
    assert _rows(database) == []
