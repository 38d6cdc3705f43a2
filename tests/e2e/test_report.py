"""output/report.html, built by scripts/report.py from the marts of the e2e build (fixture
`marts` in conftest.py), opened in a real headless Chromium: the page's own script must
draw every chart, with one bar or point per row of the marts it shows."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from marts_pipeline import MartsRun

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")


@pytest.fixture(scope="module")
def report(marts: MartsRun) -> Path:
    output = marts.database.parent
    result = subprocess.run(
        [str(marts.python("loaders/target-duckdb")), "scripts/report.py", str(output)],
        cwd=marts.root, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "Top programs by success" in result.stdout
    return output / "report.html"


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("chromium is not installed (.ci/run installs it: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile:
        return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=180, check=True)


def chart(dom: str, element: str) -> str:
    found = re.search(rf'<div class="chart" id="{element}">(.*?)</div>', dom, re.S)
    assert found, f"no chart {element}"
    return found.group(1)


def sizes(svg: str, tag: str, attribute: str) -> list[float]:
    return [float(v) for v in re.findall(
        rf'<{tag} class="(?:bar|point)"[^>]*?\b{attribute}="([-0-9.e]+)"', svg)]


def test_report_is_self_contained(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script src" not in page


def test_every_chart_is_drawn_from_the_marts(marts: MartsRun, report: Path) -> None:
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", report.as_uri()).stdout
    assert 'data-rendered="true"' in dom, dom[:2000]

    tables = marts.query("select count(*) from information_schema.tables where "
                         "table_schema = 'analytics'")[0][0]
    source = marts.query("select count(*) from information_schema.tables where "
                         "table_schema = 'marketo' and table_name not like 'activities_%'")[0][0]
    programs = marts.query("select count(*) from analytics.marketo__programs")[0][0]
    weeks = marts.query("select count(*) from analytics.marketo__email_engagement_by_week")[0][0]
    months = marts.query("select count(distinct date_trunc('month', created_timestamp)) "
                         "from analytics.marketo__leads")[0][0]
    # Rows: every tap table (activities folded into one) and every mart.
    expected = {"rows": source + 1 + tables, "calls": 2, "funnel": 2 * programs,
                "leads": months}
    for element, bars in expected.items():
        svg = chart(dom, element)
        widths = sizes(svg, "rect", "width")
        heights = sizes(svg, "rect", "height")
        assert len(widths) == bars, (element, len(widths), bars)
        assert all(w > 0 for w in widths), element
        assert all(h > 0 for h in heights), element
    engagement = chart(dom, "engagement")
    assert engagement.count('class="series"') == 4
    assert len(sizes(engagement, "circle", "r")) == 4 * weeks
    assert weeks > 0


def test_screenshot_shows_the_page(report: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    chromium("--window-size=1200,2600", "--virtual-time-budget=5000",
             f"--screenshot={png}", report.as_uri())
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 2600)
    # A drawn page compresses far worse than a blank one (a few KB).
    assert len(data) > 50_000
