"""Hardened loading of uploaded BPMN files.

Diagrams come from analysts' machines and from the Camunda Modeler deploy button, so the bytes are
untrusted: no DTDs, no entities (XXE, billion laughs), no network, a size cap checked before parsing
and a nesting cap. The tree is returned as parsed (never reserialized) so every element keeps its
``sourceline`` for located error messages.
"""

from __future__ import annotations

import math
import re

from lxml import etree

from orchestrator.bpmn.problems import DiagramRejected, Problem

__all__ = ["BPMN_DEFINITIONS", "MAX_BPMN_BYTES", "MAX_DEPTH", "load_bpmn"]

MAX_BPMN_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 200

BPMN_DEFINITIONS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}definitions"

_DECLARATIONS_REFUSED = "DOCTYPE and entity declarations are not allowed in BPMN files"
_DECLARATIONS_ADVICE = ": save the diagram again from Camunda Modeler, which never writes them"

# Everything that may legally precede the root element: XML declaration, comments, processing
# instructions, whitespace. A DTD can only appear there, so that is all we need to look at.
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not thread-safe.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def _reject(filename: str, message: str, line: int | None = None) -> DiagramRejected:
    return DiagramRejected([Problem(file=filename, message=message, line=line)])


def _size_in_mb(size: int) -> str:
    # Round up so a file just over the limit never reads "5.0 MB; the limit is 5 MB".
    return f"{math.ceil(size * 10 / (1024 * 1024)) / 10:.1f}"


def _ascii_view(data: bytes) -> bytes:
    """The bytes as an ASCII-compatible stream, so the prolog scan also sees UTF-16/32 files."""
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace").encode("utf-8", errors="replace")
    if len(data) >= 2 and data[0] == 0 and data[1] != 0:
        return data.decode("utf-16-be", errors="replace").encode("utf-8", errors="replace")
    if len(data) >= 2 and data[0] != 0 and data[1] == 0:
        return data.decode("utf-16-le", errors="replace").encode("utf-8", errors="replace")
    return data.removeprefix(b"\xef\xbb\xbf")


def _prolog_has_declarations(data: bytes) -> bool:
    """True when a DOCTYPE or ENTITY declaration appears before the root element."""
    view = _ascii_view(data)
    pos = 0
    while match := _PROLOG_ITEM.match(view, pos):
        if match.end() == pos:
            break
        pos = match.end()
    return _DECLARATION.match(view, pos) is not None


def _tree_has_declarations(tree: etree._ElementTree) -> bool:
    """Second line of defence after parsing: any DTD at all, or an entity node left in the tree."""
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return True
    return any(True for _ in tree.getroot().iter(etree.Entity))


def _too_deep(root: etree._Element) -> etree._Element | None:
    """The first element nested deeper than MAX_DEPTH, if any."""
    depth = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            depth += 1
            if depth > MAX_DEPTH:
                return element
        else:
            depth -= 1
    return None


def _depth_message() -> str:
    return (
        f"elements are nested more than {MAX_DEPTH} levels deep: this is not a diagram Camunda Modeler "
        "writes; export it again from the Modeler"
    )


def load_bpmn(data: bytes, filename: str) -> etree._ElementTree:
    """Parse an uploaded BPMN file safely, or raise :class:`DiagramRejected` saying why not.

    Refuses files over ``MAX_BPMN_BYTES`` (before parsing), any DOCTYPE or entity declaration,
    malformed XML (with the parser's line), nesting deeper than ``MAX_DEPTH`` and any root other
    than ``bpmn:definitions``.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BPMN_BYTES:
        raise _reject(
            filename,
            f"file is {_size_in_mb(len(data))} MB; the limit is {MAX_BPMN_BYTES // (1024 * 1024)} MB: "
            "remove embedded images or documentation, or split the procedure into called processes",
        )
    if _prolog_has_declarations(data):
        raise _reject(filename, _DECLARATIONS_REFUSED + _DECLARATIONS_ADVICE)

    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        # libxml2 refuses depth beyond its own cap (256) before we can count.
        if "depth" in str(exc.msg).lower():
            raise _reject(filename, _depth_message(), exc.lineno) from None
        raise _reject(filename, f"malformed XML: {exc.msg}", exc.lineno) from None

    tree = root.getroottree()
    if _tree_has_declarations(tree):
        raise _reject(filename, _DECLARATIONS_REFUSED + _DECLARATIONS_ADVICE)
    deep = _too_deep(root)
    if deep is not None:
        raise _reject(filename, _depth_message(), deep.sourceline)
    if root.tag != BPMN_DEFINITIONS:
        raise _reject(
            filename,
            "not a BPMN 2.0 file: root element must be bpmn:definitions "
            f"(found {etree.QName(root).localname!r}); save the diagram as BPMN from Camunda Modeler",
            root.sourceline,
        )
    return tree
