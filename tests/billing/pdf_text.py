"""Read the text of the PDFs ReportLab writes, without a PDF library: inflate each content
stream and collect the strings of its text operators."""

import base64
import re
import zlib

STREAM = re.compile(rb"stream\r?\n(.*?)\s*endstream", re.DOTALL)
STRING = re.compile(rb"\((?:\\.|[^\\)])*\)\s*Tj")
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"(": b"(", b")": b")", b"\\": b"\\"}


def unescape(raw: bytes) -> bytes:
    def one(match):
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8)])
        return ESCAPES.get(code, code)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, raw)


def pdf_text(content: bytes) -> str:
    """The text shown on the pages, one string per text operator, joined by spaces."""
    assert content.startswith(b"%PDF-"), content[:20]
    assert content.rstrip().endswith(b"%%EOF")
    strings = []
    for match in STREAM.finditer(content):
        data = match.group(1).strip()
        if data.endswith(b"~>"):  # ReportLab's ASCII85 framing around the deflated stream
            data = base64.a85decode(data[:-2].removeprefix(b"<~"))
        try:
            data = zlib.decompress(data)
        except zlib.error:
            continue  # an uncompressed or image stream: no page text ReportLab wrote
        for found in STRING.finditer(data):
            raw = found.group(0)
            strings.append(unescape(raw[1 : raw.rindex(b")")]).decode("cp1252"))
    return " ".join(strings)


def page_count(content: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", content))
