"""Fail if a built page shows an error output that no cell asked for.

    python tools/check_html.py [_build/html]

A cell tagged ``raises-exception`` is meant to show its error; any other traceback or error
output in a page means a chapter broke while the book was built.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bs4 import BeautifulSoup


def unexpected_errors(html_dir: Path) -> list[str]:
    """Pages and cells that show an error output outside a ``raises-exception`` cell."""
    found = []
    for page in sorted(html_dir.rglob("*.html")):
        soup = BeautifulSoup(page.read_text(errors="replace"), "html.parser")
        for out in soup.select("div.output.traceback, div.output.error, div.output.stderr"):
            cell = out.find_parent("div", class_="cell")
            if cell is not None and "tag_raises-exception" in cell.get("class", []):
                continue
            found.append(f"{page.relative_to(html_dir)}: {out.get_text()[:200].strip()!r}")
    return found


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
    errors = unexpected_errors(root)
    for e in errors:
        print("error output in", e)
    sys.exit(1 if errors else 0)
