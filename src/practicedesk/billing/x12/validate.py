"""Check an X12 file with pyx12 and say what is wrong with it, one line per problem.

pyx12's validator (``x12n_document``, what its ``x12valid`` script runs) keeps its findings
in an error tree it does not return; it does hand that tree to a JSON error visitor when given
a file to write to. We give it an in-memory one and read every interchange, group,
transaction, segment and element error back from it, each with the line it is on. (pyx12 also
logs each error to its ``pyx12`` logger; that is left to the logging configuration.)
"""

import io
import json
from collections.abc import Iterator

import pyx12.errors
import pyx12.params
import pyx12.x12n_document


def _problems(doc: dict) -> Iterator[str]:
    for interchange in doc.get("interchanges", []):
        for error in interchange.get("errors", []):
            yield f"Line {interchange.get('cur_line')}: ISA {error['err_cde']}: {error['err_str']}"
        for group in interchange.get("groups", []):
            for error in group.get("errors", []):
                yield f"Line {group.get('cur_line')}: GS {error['err_cde']}: {error['err_str']}"
            for transaction in group.get("transactions", []):
                for error in transaction.get("errors", []):
                    yield (
                        f"Line {transaction.get('cur_line')}: ST {error['err_cde']}: "
                        f"{error['err_str']}"
                    )
                for segment in transaction.get("segments", []):
                    where = f"Line {segment.get('cur_line')}: {segment.get('seg_id')}"
                    for error in segment.get("errors", []):
                        value = f" ({error['err_val']})" if error.get("err_val") else ""
                        yield f"{where} {error['err_cde']}: {error['err_str']}{value}"
                    for element in segment.get("elements", []):
                        position = f"{segment.get('seg_id')}{element.get('ele_pos') or 0:02d}"
                        if element.get("subele_pos"):
                            position += f"-{element['subele_pos']}"
                        for error in element.get("errors", []):
                            value = f" ({error['err_val']})" if error.get("err_val") else ""
                            yield (
                                f"Line {segment.get('cur_line')}: {position} "
                                f"{error['err_cde']}: {error['err_str']}{value}"
                            )


def x12_errors(text: str, *, map_path: str | None = None) -> list[str]:
    """Every error pyx12 finds in ``text`` against the map its GS08 names (empty: valid).

    ``map_path`` points pyx12 at another map directory (default: the maps pyx12 ships, among
    them ``837.5010.X222.A1.xml`` for a 005010X222A1 professional claim).
    """
    if not text or not text.lstrip().startswith("ISA"):
        return ["The file does not start with an ISA interchange header."]
    report = io.StringIO()
    try:
        valid = pyx12.x12n_document.x12n_document(
            param=pyx12.params.params(),
            src_file=io.StringIO(text),
            fd_997=None,
            fd_html=None,
            fd_json=report,
            map_path=map_path,
        )
    except pyx12.errors.X12Error as error:
        return [f"Not a readable X12 file: {error}"]
    except pyx12.errors.EngineError as error:
        return [f"pyx12 could not check the file: {error}"]
    try:
        problems = list(_problems(json.loads(report.getvalue() or "{}")))
    except (ValueError, KeyError, TypeError):
        problems = []
    if not valid and not problems:
        problems = ["pyx12 could not read this as an X12 file (a damaged or cut-off header)."]
    return problems


def validate_837(text: str) -> list[str]:
    """Errors pyx12 finds in an 837P (005010X222A1) claim file; empty when it is valid."""
    return x12_errors(text)
