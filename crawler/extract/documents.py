"""Text of an attachment: PDF (pypdf) and DOCX (python-docx). Pure: bytes in, text or the
reason there is none out. Other types (DOC, WPS, XLS ...) are recorded without text.

Government PDFs are often scans (no text layer), sometimes encrypted against copying, now
and then truncated by a CMS; each becomes a note, never an exception.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass
from email.message import Message
from urllib.parse import parse_qs, unquote, urlsplit

MAX_PAGES = 300
MAX_CHARS = 1_000_000

MAGIC = {"pdf": b"%PDF-", "docx": b"PK\x03\x04"}


TYPES_BY_MEDIA = {
    "application/pdf": "pdf", "application/msword": "doc", "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/kswps": "wps", "application/vnd.ms-works": "wps",
}
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,5})$")


def file_name_and_type(url: str, content_disposition: str = "", content_type: str = "") -> tuple[str | None, str | None]:
    """An attachment's file name and type (lower-case extension): from Content-Disposition,
    else a `filename` query parameter (Hanweb's downfile.jsp?filename=…), else the URL path;
    the type from the name, else from Content-Type."""
    name = None
    if content_disposition:
        message = Message()
        message["content-disposition"] = content_disposition
        name = message.get_filename()
    if not name:
        query = {k.lower(): v for k, v in parse_qs(urlsplit(url).query).items()}
        name = (query.get("filename") or query.get("file") or [None])[0]
    if not name:
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or None
    extension = _EXTENSION.search(name or "")
    file_type = extension.group(1).lower() if extension else None
    if file_type in (None, "jsp", "do", "aspx", "php", "action"):
        file_type = TYPES_BY_MEDIA.get(content_type.split(";", 1)[0].strip().lower(), file_type)
    return name, file_type


@dataclass(frozen=True)
class DocumentText:
    text: str | None
    note: str  # "extracted" or why there is no text


def document_text(body: bytes, file_type: str | None) -> DocumentText:
    file_type = (file_type or "").lower()
    if file_type not in MAGIC:
        return DocumentText(None, f"no text extractor for {file_type or 'files without a type'}")
    if not body.startswith(MAGIC[file_type]):
        start = body[:16].decode("latin-1", "replace").strip()
        return DocumentText(None, f"not a {file_type.upper()} file (it starts {start!r})")
    try:
        text = _pdf_text(body) if file_type == "pdf" else _docx_text(body)
    except _NoText as exc:
        return DocumentText(None, str(exc))
    except Exception as exc:  # a damaged file: any parser error means "unreadable", never a failed crawl
        return DocumentText(None, f"unreadable {file_type.upper()}: {type(exc).__name__}: {exc}"[:300])
    text = "\n".join(line.strip() for line in text.splitlines() if line.strip())[:MAX_CHARS]
    if not text:
        return DocumentText(None, "no text layer (a scan?)")
    return DocumentText(text, "extracted")


class _NoText(Exception):
    pass


def _pdf_text(body: bytes) -> str:
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it warns at length about every damaged object
    reader = pypdf.PdfReader(io.BytesIO(body))
    if reader.is_encrypted:
        try:  # many are encrypted with an empty user password: readable, not copyable
            if not reader.decrypt(""):
                raise _NoText("encrypted PDF (a password is needed to read it)")
        except _NoText:
            raise
        except Exception as exc:
            raise _NoText(f"encrypted PDF that cannot be opened: {exc}") from None
    return "\n".join(page.extract_text() or "" for page in reader.pages[:MAX_PAGES])


def _docx_text(body: bytes) -> str:
    import docx

    try:
        document = docx.Document(io.BytesIO(body))
    except (zipfile.BadZipFile, KeyError) as exc:
        raise _NoText(f"unreadable DOCX: {exc}") from None
    return "\n".join(paragraph.text for paragraph in document.paragraphs)
