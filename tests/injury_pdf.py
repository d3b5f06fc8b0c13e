"""Tiny hand-built PDFs for the injury report tests (no PDF writer needed).

:func:`make_pdf` writes text at given positions in Helvetica 10 pt on landscape pages; :func:`report_pdf`
lays out rows the way the league's report does (title, header row, the seven columns).
"""

from __future__ import annotations

from collections.abc import Sequence

PAGE_W, PAGE_H = 842, 595
#: x of each column's text, as in the real report (header words start one point to the left).
COLUMN_X = {"game_date": 24, "game_time": 121, "matchup": 201, "team": 265, "player_name": 426,
            "status": 587, "reason": 667}
HEADER = (("Game Date", 23), ("Game Time", 120), ("Matchup", 200), ("Team", 264), ("Player Name", 425),
          ("Current Status", 586), ("Reason", 666))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: Sequence[Sequence[tuple[float, float, str]]]) -> bytes:
    """A valid PDF: each page a list of ``(x, top, text)`` (top measured down from the page's top edge)."""
    n_pages = len(pages)
    font_id = 3
    page_ids = [4 + 2 * i for i in range(n_pages)]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: (f"<< /Type /Pages /Kids [{' '.join(f'{p} 0 R' for p in page_ids)}] /Count {n_pages} >>").encode(),
        font_id: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    for page_id, items in zip(page_ids, pages, strict=True):
        ops = [f"BT /F1 10 Tf 1 0 0 1 {x:.2f} {PAGE_H - top - 8:.2f} Tm ({_escape(text)}) Tj ET"
               for x, top, text in items]
        stream = "\n".join(ops).encode("latin-1")
        objects[page_id] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
                            f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {page_id + 1} 0 R >>").encode()
        objects[page_id + 1] = b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n")
    offsets: dict[int, int] = {}
    for oid in sorted(objects):
        offsets[oid] = len(out)
        out += f"{oid} 0 obj\n".encode() + objects[oid] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for oid in range(1, size):
        out += f"{offsets[oid]:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def report_pdf(rows: Sequence[dict[str, str]], title: str = "Injury Report: 01/04/24 12:30 PM") -> bytes:
    """A one-page report: title, header row, then one text line per row (22 points apart)."""
    items: list[tuple[float, float, str]] = [(290, 50, title)]
    items += [(x, 108, label) for label, x in HEADER]
    for i, row in enumerate(rows):
        top = 130 + 22 * i
        items += [(COLUMN_X[col], top, text) for col, text in row.items() if text]
    return make_pdf([items])
