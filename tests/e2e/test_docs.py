"""Comments cite docs/MARKETO.md by section number: every cited section must exist, and
the repository must stand alone (no pointer to a Marketo reference outside it)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MARKETO_DOC = REPO / "docs" / "MARKETO.md"
# Cited as "section 4" or "sections 5 and 6", sometimes wrapped onto the next comment line.
CITATION = re.compile(r"docs/MARKETO\.md\W+sections?\s+(\d+(?:\s*(?:,|and)\s*\d+)*)")
# Spelled in pieces so that this file does not itself name what it looks for.
OUTSIDE_REFERENCES = ("MARKETO" + "_API.md", "/work/" + "shared", "../" + "shared")
TEXT_SUFFIXES = {".py", ".md", ".yml", ".yaml", ".toml", ".txt", ".cfg", ".ini", ""}


def _text_files(names: list[str]) -> dict[str, str]:
    texts = {}
    for name in names:
        path = REPO / name
        if path.suffix not in TEXT_SUFFIXES or path == Path(__file__):
            continue
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
    return texts


def test_every_cited_section_of_marketo_md_exists(repository_file_names: list[str]) -> None:
    headings = re.findall(r"^## (\d+)\. ", MARKETO_DOC.read_text(encoding="utf-8"), re.M)
    assert headings == [str(n) for n in range(1, 10)], headings
    cited: dict[str, set[str]] = {}
    for name, text in _text_files(repository_file_names).items():
        for match in CITATION.finditer(text):
            for number in re.findall(r"\d+", match.group(1)):
                cited.setdefault(number, set()).add(name)
    assert cited, "no file cites docs/MARKETO.md: the citation pattern is broken"
    missing = {n: sorted(files) for n, files in cited.items() if n not in headings}
    assert not missing, f"sections cited but absent from docs/MARKETO.md: {missing}"


def test_no_tracked_file_points_outside_the_repository(
    repository_file_names: list[str],
) -> None:
    offenders = sorted(
        name
        for name, text in _text_files(repository_file_names).items()
        if any(reference in text for reference in OUTSIDE_REFERENCES)
    )
    assert not offenders, f"files referring to a document outside the repository: {offenders}"
