"""docs/findings.md quotes the committed tables: every interval it writes as "m [lo, hi]" must
appear, to the digit, in one of the generated tables or the claims report under figures/, so a
rerun that moves a number makes this test fail until the page is updated."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
INTERVAL = re.compile(r"(-?\d+\.\d+) \[(-?\d+\.\d+), (-?\d+\.\d+)\]")


def normalised(text: str) -> str:
    return text.replace("\u2212", "-")


def quoted(text: str) -> list[str]:
    return [f"{m} [{lo}, {hi}]" for m, lo, hi in INTERVAL.findall(normalised(text))]


def test_the_pattern_finds_intervals_and_the_check_can_fail():
    assert quoted("slope \u22123.59 [\u22123.92, \u22123.25] and 0.90 [0.87, 0.94]") == [
        "-3.59 [-3.92, -3.25]", "0.90 [0.87, 0.94]"]
    tables = "| -3.59 [-3.92, -3.25] |"
    assert [q for q in quoted("-3.58 [-3.92, -3.25]") if q not in tables]


def test_every_interval_in_the_findings_is_in_a_generated_table():
    tables = normalised("\n".join(p.read_text() for p in sorted((ROOT / "figures").glob("*.md"))))
    text = (ROOT / "docs" / "findings.md").read_text()
    missing = [q for q in quoted(text) if q not in tables]
    assert len(quoted(text)) > 20
    assert not missing, f"docs/findings.md quotes intervals no table has: {missing}"
