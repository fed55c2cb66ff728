"""Hardened BPMN loading: size, DTD/entities (XXE, billion laughs), malformed XML, depth, root."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from lxml import etree

from orchestrator.bpmn import xml as bpmn_xml
from orchestrator.bpmn.problems import DiagramRejected, Problem
from orchestrator.bpmn.xml import MAX_BPMN_BYTES, MAX_DEPTH, load_bpmn

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DECLARATIONS = "DOCTYPE and entity declarations are not allowed in BPMN files"

MINIMAL = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="Defs" targetNamespace="http://example.org">
  <!-- a comment the Modeler might keep -->
  <bpmn:process id="P" isExecutable="true">
    <bpmn:startEvent id="S" />
  </bpmn:process>
</bpmn:definitions>
"""


def rejected(data: bytes, filename: str = "upload.bpmn") -> DiagramRejected:
    with pytest.raises(DiagramRejected) as caught:
        load_bpmn(data, filename)
    return caught.value


def only_problem(exc: DiagramRejected) -> Problem:
    assert len(exc.problems) == 1
    return exc.problems[0]


def everything_said(exc: DiagramRejected) -> str:
    """Every string the refusal exposes: the exception text and every problem field."""
    return str(exc) + "".join(repr(problem.as_dict()) for problem in exc.problems)


@pytest.fixture
def secret_file(tmp_path: Path) -> tuple[Path, str]:
    marker = "TOP-SECRET-7f3a9c-must-never-leak"
    path = tmp_path / "secret.txt"
    path.write_text(marker + "\n")
    return path, marker


def passwd_markers() -> list[str]:
    """Lines of the real /etc/passwd, which must never show up in anything we return."""
    try:
        text = Path("/etc/passwd").read_text()
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][:3]


def xxe_documents(path: Path) -> dict[str, bytes]:
    uri = path.as_uri()
    root = f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="D">'
    body = f'{root}<bpmn:process id="&x;" name="&x;">&x;</bpmn:process></bpmn:definitions>'
    text_only = f"{root}<bpmn:documentation>&x;</bpmn:documentation></bpmn:definitions>"
    return {
        "entity in element text only": (
            f'<?xml version="1.0"?>\n<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "{uri}">]>\n{text_only}'
        ).encode(),
        "etc passwd in element text only": (
            '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n' + text_only
        ).encode(),
        "internal subset, system entity": (
            f'<?xml version="1.0"?>\n<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "{uri}">]>\n{body}'
        ).encode(),
        "etc passwd": (
            '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n' + body
        ).encode(),
        "external DTD": f'<?xml version="1.0"?><!DOCTYPE bpmn:definitions SYSTEM "{uri}">{body}'.encode(),
        "parameter entity": (
            f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM "{uri}"> %p; <!ENTITY x "y">]>{body}'
        ).encode(),
        "after a comment and a PI": (
            f'<?xml version="1.0"?><!-- hi --><?pi x?>\n<!doctype d [<!ENTITY x SYSTEM "{uri}">]>{body}'
        ).encode(),
        "utf-16": (
            f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY x SYSTEM "{uri}">]>{body}'
        ).encode("utf-16"),
        "utf-8 bom": b"\xef\xbb\xbf" + f'<!DOCTYPE d [<!ENTITY x SYSTEM "{uri}">]>{body}'.encode(),
    }


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="P"
 name="&lol9;">&lol9;</bpmn:process></bpmn:definitions>
"""


def nested(levels: int) -> bytes:
    """A definitions root with ``levels`` elements in total on the deepest path."""
    inner = "<x>" * (levels - 1) + "</x>" * (levels - 1)
    return f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}">{inner}</bpmn:definitions>'.encode()


# --- accepted files ---------------------------------------------------------------------------------


def test_loads_a_bpmn_file_keeping_lines_and_comments() -> None:
    tree = load_bpmn(MINIMAL.encode(), "ok.bpmn")
    root = tree.getroot()
    assert root.tag == f"{{{BPMN_NS}}}definitions"
    process = root.find(f"{{{BPMN_NS}}}process")
    assert process is not None and process.sourceline == 4
    assert process.find(f"{{{BPMN_NS}}}startEvent").sourceline == 5
    assert any(isinstance(node, etree._Comment) for node in root)


def test_a_file_of_exactly_the_limit_is_accepted() -> None:
    data = MINIMAL.encode()
    padded = data + b" " * (MAX_BPMN_BYTES - len(data))
    assert len(padded) == MAX_BPMN_BYTES
    assert load_bpmn(padded, "big.bpmn").getroot().tag == f"{{{BPMN_NS}}}definitions"


def test_nesting_of_exactly_max_depth_is_accepted() -> None:
    assert load_bpmn(nested(MAX_DEPTH), "deep.bpmn").getroot() is not None


# --- size ------------------------------------------------------------------------------------------


def test_a_50_mb_upload_is_refused_without_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parsing() -> None:
        raise AssertionError("the parser must not be built for an oversized file")

    monkeypatch.setattr(bpmn_xml, "_parser", no_parsing)
    data = b"<" * (50 * 1024 * 1024)
    started = time.perf_counter()
    problem = only_problem(rejected(data, "huge.bpmn"))
    assert time.perf_counter() - started < 1.0
    assert problem.file == "huge.bpmn"
    assert problem.message.startswith("file is 50.0 MB; the limit is 5 MB")


def test_one_byte_over_the_limit_never_reads_as_within_it() -> None:
    problem = only_problem(rejected(b" " * (MAX_BPMN_BYTES + 1)))
    assert problem.message.startswith("file is 5.1 MB; the limit is 5 MB")


# --- DTDs and entities -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(xxe_documents(Path("/x")).keys()))
def test_xxe_is_refused_and_nothing_leaks(case: str, secret_file: tuple[Path, str]) -> None:
    path, marker = secret_file
    exc = rejected(xxe_documents(path)[case], "xxe.bpmn")
    problem = only_problem(exc)
    assert problem.message.startswith(DECLARATIONS)
    said = everything_said(exc)
    assert marker not in said
    for line in passwd_markers():
        assert line not in said


def test_parse_level_defence_refuses_declarations_the_prolog_scan_missed(
    monkeypatch: pytest.MonkeyPatch, secret_file: tuple[Path, str]
) -> None:
    path, marker = secret_file
    monkeypatch.setattr(bpmn_xml, "_prolog_has_declarations", lambda data: False)
    for case, data in xxe_documents(path).items():
        exc = rejected(data)
        # libxml2 itself may stop first (an external entity in an attribute is a syntax error).
        message = only_problem(exc).message
        assert message.startswith((DECLARATIONS, "malformed XML: ")), case
        assert marker not in everything_said(exc), case


def test_the_parser_never_expands_external_entities(secret_file: tuple[Path, str]) -> None:
    """Even parsed directly, the hardened parser leaves entity references unresolved."""
    path, marker = secret_file
    for case, data in xxe_documents(path).items():
        try:
            root = etree.fromstring(data, bpmn_xml._parser())
        except etree.XMLSyntaxError as exc:
            assert marker not in str(exc), case
            continue
        text = etree.tostring(root, encoding="unicode") + "".join(root.itertext())
        text += "".join(str(value) for node in root.iter() for value in node.attrib.values())
        assert marker not in text, case
        for line in passwd_markers():
            assert line not in text, case


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.perf_counter()
    problem = only_problem(rejected(BILLION_LAUGHS))
    assert time.perf_counter() - started < 1.0
    assert problem.message.startswith(DECLARATIONS)


def test_billion_laughs_is_refused_quickly_by_the_parse_level_defence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bpmn_xml, "_prolog_has_declarations", lambda data: False)
    started = time.perf_counter()
    exc = rejected(BILLION_LAUGHS)
    assert time.perf_counter() - started < 1.0
    assert "lollollol" not in everything_said(exc)


# --- malformed, depth, root ------------------------------------------------------------------------


def test_malformed_xml_reports_the_parser_message_and_line() -> None:
    data = (
        '<?xml version="1.0"?>\n'
        f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}">\n'
        '  <bpmn:process id="P">\n'
        '    <bpmn:task id="T">\n'
        "  </bpmn:process>\n"
        "</bpmn:definitions>\n"
    )
    problem = only_problem(rejected(data.encode(), "broken.bpmn"))
    assert problem.file == "broken.bpmn"
    assert problem.line == 5
    assert problem.message.startswith("malformed XML: ")
    assert "mismatch" in problem.message


def test_empty_file_is_malformed() -> None:
    problem = only_problem(rejected(b""))
    assert problem.message.startswith("malformed XML: ")
    assert problem.line == 1


def test_undeclared_entity_is_malformed_not_resolved() -> None:
    problem = only_problem(
        rejected(f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}">&x;</bpmn:definitions>'.encode())
    )
    assert problem.message.startswith("malformed XML: ")


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 300, 5000])
def test_nesting_deeper_than_max_depth_is_refused(levels: int) -> None:
    problem = only_problem(rejected(nested(levels)))
    assert f"more than {MAX_DEPTH} levels" in problem.message
    assert problem.line == 1


@pytest.mark.parametrize(
    "document",
    [
        b"<definitions/>",
        f'<bpmn:process xmlns:bpmn="{BPMN_NS}" id="P"/>'.encode(),
        b'<definitions xmlns="http://www.omg.org/spec/DMN/20191111/MODEL/"/>',
    ],
)
def test_root_must_be_bpmn_definitions(document: bytes) -> None:
    problem = only_problem(rejected(document))
    assert problem.message.startswith("not a BPMN 2.0 file: root element must be bpmn:definitions")
    assert problem.line == 1


def test_default_namespace_bpmn_is_accepted() -> None:
    data = f'<definitions xmlns="{BPMN_NS}"><process id="P"/></definitions>'.encode()
    assert load_bpmn(data, "plain.bpmn").getroot().tag == f"{{{BPMN_NS}}}definitions"
