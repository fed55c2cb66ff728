"""``lienthong validate`` / ``deploy`` / ``db upgrade``: exit codes and output contracts."""

from __future__ import annotations

import json

import pytest

from orchestrator.cli import main

from .bpmn_builder import resource, two_step
from .conftest import CORPUS

JAVA_DELEGATE = (
    '<bpmn:startEvent id="s" /><bpmn:serviceTask id="pay" name="Thu phí" camunda:class="vn.gov.Pay" />'
    '<bpmn:endEvent id="e" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="pay" />'
    '<bpmn:sequenceFlow id="f2" sourceRef="pay" targetRef="e" />'
)


@pytest.fixture
def files(tmp_path):
    good = tmp_path / "good.bpmn"
    good.write_bytes(two_step().content)
    bad = tmp_path / "bad.bpmn"
    bad.write_bytes(resource(JAVA_DELEGATE).content)
    return good, bad


def test_validate_ok_exits_zero(files, capsys):
    assert main(["validate", str(files[0])]) == 0
    assert capsys.readouterr().out == ""


def test_validate_problem_is_one_located_line(files, capsys):
    assert main(["validate", str(files[1])]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        f'{files[1]}:4: pay "Thu phí": camunda:class (Java delegate) is not supported here'
    )
    assert lines[0].endswith("use camunda:type=external with a topic")


def test_validate_json(files, capsys):
    assert main(["validate", "--json", str(files[0]), str(files[1])]) == 1
    problems = json.loads(capsys.readouterr().out)
    assert [(p["file"], p["element_id"], p["element_name"], p["severity"]) for p in problems] == [
        (str(files[1]), "pay", "Thu phí", "error")
    ]
    assert problems[0]["line"] == 4  # the line of <bpmn:serviceTask id="pay"> in the builder


def test_validate_missing_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.bpmn")]) == 1
    assert "no such file" in capsys.readouterr().err


@pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not found")
def test_validate_whole_corpus_never_crashes(capsys):
    paths = sorted(str(p) for p in CORPUS.glob("*/*.bpmn"))
    assert main(["validate", "--json", *paths]) == 1
    problems = json.loads(capsys.readouterr().out)
    assert problems and all(p["message"] for p in problems)


def test_deploy_and_redeploy(files, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("LIENTHONG_HANDLER_MODULES", "")
    assert main(["db", "upgrade"]) == 0
    assert main(["deploy", str(files[0])]) == 0
    assert "deployed p version 1" in capsys.readouterr().out
    assert main(["deploy", str(files[0])]) == 0
    assert "unchanged p version 1" in capsys.readouterr().out
    assert main(["deploy", str(files[1])]) == 1
    assert "camunda:class" in capsys.readouterr().err
