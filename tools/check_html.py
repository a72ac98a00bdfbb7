"""Fail if a built page shows an error output that no cell asked for, or is too heavy.

    python tools/check_html.py [_build/html]

A cell tagged ``raises-exception`` is meant to show its error; any other traceback or error
output in a page means a chapter broke while the book was built. Pages must also stay light:
each page's HTML (animations and figures are embedded in it) plus the images it loads from
``_images`` under MAX_PAGE_MB.
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


MAX_PAGE_MB = 5.0
"""The heaviest a page may be, HTML and its images together, in MB."""


def page_weights(html_dir: Path) -> dict[str, float]:
    """MB of each page: its HTML plus the local images it shows."""
    weights = {}
    for page in sorted(html_dir.rglob("*.html")):
        soup = BeautifulSoup(page.read_text(errors="replace"), "html.parser")
        size = page.stat().st_size
        for img in {i.get("src", "") for i in soup.find_all("img")}:
            f = (page.parent / img).resolve()
            if img and not img.startswith(("http:", "https:", "data:")) and f.is_file():
                size += f.stat().st_size
        weights[str(page.relative_to(html_dir))] = size / 1e6
    return weights


def heavy_pages(html_dir: Path, limit: float = MAX_PAGE_MB, weights: dict[str, float] | None = None) -> list[str]:
    """Pages heavier than ``limit`` MB (``weights``: :func:`page_weights` already measured)."""
    weights = page_weights(html_dir) if weights is None else weights
    return [f"{p}: {mb:.1f} MB > {limit} MB" for p, mb in weights.items() if mb > limit]


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
    errors = unexpected_errors(root)
    for e in errors:
        print("error output in", e)
    weights = page_weights(root)  # parse each page once for both the check and the printout
    heavy = heavy_pages(root, weights=weights)
    for h in heavy:
        print("too heavy:", h)
    for p, mb in weights.items():
        if p.startswith("book/"):
            print(f"{p:<40} {mb:5.2f} MB")
    sys.exit(1 if errors or heavy else 0)
