"""The text of a PDF, page by page, as a reader would copy it (pypdf), with runs of
whitespace made single spaces so assertions do not depend on the layout's spacing."""

from __future__ import annotations

import io

from pypdf import PdfReader


def pdf_pages(content: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(content))
    return [" ".join(page.extract_text().split()) for page in reader.pages]
