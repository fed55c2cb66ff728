"""Real Camunda clients, unmodified, drive whole procedures against a live ``lienthong serve``.

Python: camunda-external-task-client-python3 (PyPI) ``ExternalTaskWorker``s, one per agency
with that agency's worker token, each subscribed in a thread: they complete with variables,
report a failure with retries (and complete on the retry), and raise a BPMN error that a
boundary event catches.  JavaScript: camunda-external-task-client-js (npm, pinned in
``tests/js/package.json``) run by Node through ``tests/js/agency_worker.mjs``: the same, plus
``extendLock``, ``unlock`` and Basic authentication.

The analyst deploys over HTTP as Camunda Modeler does, the desk starts dossiers and
delivers the citizen's supplement over HTTP, and the server runs with its embedded worker,
which composes the result notice (the in-process handler of ``lienthong-thong-bao-ket-qua``)
between the agencies' steps.  Every wait is bounded: a dossier that does not end in time
fails the test with where it stands and the server's log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pydantic", reason="camunda-external-task-client-python3 imports pydantic")
from camunda.external_task.external_task import ExternalTask, TaskResult

from orchestrator.access import add_agency, create_token
from orchestrator.store.db import Database

from .agency_fixtures import ROOT
from .node_packages import node_with_packages
from .procedure_agents import (
    DOSSIER_DEADLINE_SECONDS,
    Server,
    deploy,
    dossier,
    history,
    python_agencies,
    serving,
    start,
    wait_until,
    wait_until_ended,
)

pytestmark = pytest.mark.slow

BIRTH = ROOT / "processes" / "birth-registration.bpmn"
BIRTH_KEY = "lien-thong-khai-sinh"
FEE_KEY = "thu-le-phi"
JS_DIR = ROOT / "tests" / "js"
AGENCIES = {
    "UBND-XA": "Ủy ban nhân dân cấp xã",
    "CA-XA": "Công an cấp xã",
    "BHXH": "Bảo hiểm xã hội",
    "MOT-CUA": "Bộ phận Một cửa",
}
# The birth registration's topics by agency (processes/birth-registration.bpmn); the notice
# in between (lienthong-thong-bao-ket-qua) is the server's own in-process handler.
BIRTH_TOPICS = {
    "UBND-XA": ["ho-tich-kiem-tra", "ho-tich-dang-ky-khai-sinh"],
    "CA-XA": ["cong-an-dang-ky-thuong-tru"],
    "BHXH": ["bhxh-cap-the-bhyt"],
    "MOT-CUA": ["mot-cua-tu-choi", "mot-cua-tra-ket-qua", "mot-cua-nhac-viec"],
}
FEE_TOPICS = ["le-phi-kiem-tra", "le-phi-ghi-nhan", "le-phi-thong-bao"]
NO_FEE = "CHUA_NOP_LE_PHI"
# A small procedure with an error boundary on an external task: the one-stop desk checks
# the fee; "not paid" is a BPMN error that leads to a payment notice instead of the receipt.
FEE_BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_LePhi"
    targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.28.0">
  <bpmn:process id="{FEE_KEY}" name="Thu lệ phí hồ sơ" isExecutable="true">
    <bpmn:startEvent id="NhanHoSo" />
    <bpmn:serviceTask id="KiemTraLePhi" name="Kiểm tra lệ phí" camunda:type="external"
        camunda:topic="le-phi-kiem-tra">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="agency" value="MOT-CUA" />
      </camunda:properties></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="GhiNhanLePhi" name="Ghi nhận lệ phí" camunda:type="external"
        camunda:topic="le-phi-ghi-nhan">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="agency" value="MOT-CUA" />
      </camunda:properties></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="EndDaNop" />
    <bpmn:boundaryEvent id="ChuaNopLePhi" attachedToRef="KiemTraLePhi">
      <bpmn:errorEventDefinition errorRef="Error_ChuaNop" />
    </bpmn:boundaryEvent>
    <bpmn:serviceTask id="ThongBaoNopLePhi" name="Thông báo nộp lệ phí" camunda:type="external"
        camunda:topic="le-phi-thong-bao">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="agency" value="MOT-CUA" />
      </camunda:properties></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="EndChuaNop" />
    <bpmn:sequenceFlow id="f1" sourceRef="NhanHoSo" targetRef="KiemTraLePhi" />
    <bpmn:sequenceFlow id="f2" sourceRef="KiemTraLePhi" targetRef="GhiNhanLePhi" />
    <bpmn:sequenceFlow id="f3" sourceRef="GhiNhanLePhi" targetRef="EndDaNop" />
    <bpmn:sequenceFlow id="f4" sourceRef="ChuaNopLePhi" targetRef="ThongBaoNopLePhi" />
    <bpmn:sequenceFlow id="f5" sourceRef="ThongBaoNopLePhi" targetRef="EndChuaNop" />
  </bpmn:process>
  <bpmn:error id="Error_ChuaNop" name="Chưa nộp lệ phí" errorCode="{NO_FEE}" />
</bpmn:definitions>
""".encode()


# -- the live server -------------------------------------------------------------------------


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """Agencies and tokens created in the shared database, then the server started on it."""
    db = Database(database_url)
    try:
        for code, name in AGENCIES.items():
            add_agency(db, code, name)
        analyst = create_token(db, name="Chuyên viên phân tích quy trình", scopes=["analyst"])[1]
        desk = create_token(db, name="Cán bộ Một cửa", scopes=["desk"])[1]
        workers = {
            code: create_token(db, name=f"Hệ thống {code}", scopes=["worker"], agency=code)[1]
            for code in AGENCIES
        }
    finally:
        db.dispose()
    with serving(database_url, tmp_path) as (base, log):
        yield Server(base=base, log=log, analyst=analyst, desk=desk, workers=workers)


# -- Python agency workers ----------------------------------------------------------------------


def check_dossier(task: ExternalTask) -> TaskResult:
    """UBND-XA's civil-status officer: forged papers are refused, missing ones asked once."""
    if task.get_variable("giayToGia"):
        verdict = "khong-hop-le"
    elif task.get_variable("thieuGiayTo") and not task.get_variable("daBoSung"):
        verdict = "bo-sung"
    else:
        verdict = "hop-le"
    return task.complete({"ketQuaKiemTra": verdict, "canBoKiemTra": "Nguyễn Thị Hộ Tịch"})


def ubnd_xa(task: ExternalTask) -> TaskResult:
    if task.get_topic_name() == "ho-tich-kiem-tra":
        return check_dossier(task)
    return task.complete({"soDinhDanh": "001230000001"})


def ca_xa_flaky() -> Callable[[ExternalTask], TaskResult]:
    """CA-XA: the residence database times out on the first try of every task."""
    tried: set[str] = set()

    def action(task: ExternalTask) -> TaskResult:
        if task.get_task_id() not in tried:
            tried.add(task.get_task_id())
            return task.failure(
                "CSDL quốc gia về dân cư không phản hồi",
                "ReadTimeout after 30 s",
                max_retries=2,
                retry_timeout=300,
            )
        return task.complete({"thuongTru": "đã đăng ký", "soLanThu": 2})

    return action


def bhxh(task: ExternalTask) -> TaskResult:
    return task.complete({"soTheBHYT": "TE1797912345678", "daCapThe": True})


def mot_cua(task: ExternalTask) -> TaskResult:
    if task.get_topic_name() == "mot-cua-tu-choi":
        return task.complete({"daThongBaoTuChoi": True})
    if task.get_topic_name() == "le-phi-kiem-tra":
        if not task.get_variable("daNopLePhi"):
            return task.bpmn_error(NO_FEE, "Chưa nộp lệ phí", {"lyDo": "chưa nộp 8.000 đ"})
        return task.complete({"soBienLai": "BL-0001"})
    if task.get_topic_name() == "le-phi-thong-bao":
        return task.complete({"daGuiThongBaoLePhi": True})
    return task.complete({"hinhThucTra": "VNeID"})


# -- Python: tests ----------------------------------------------------------------------------


def test_python_workers_of_four_agencies_run_birth_registrations(server: Server) -> None:
    """Accepted, supplemented once then accepted, and refused dossiers, all to their end."""
    result = deploy(server, BIRTH.name, BIRTH.read_bytes())
    [definition] = result["deployedProcessDefinitions"].values()
    assert definition["key"] == BIRTH_KEY
    ids = {
        "HS-PY-1": start(server, BIRTH_KEY, "HS-PY-1", hoTen="Trần Gia Bảo", nguoiNopHoSo="Trần Văn An"),
        "HS-PY-2": start(server, BIRTH_KEY, "HS-PY-2", hoTen="Lê Minh Khôi", thieuGiayTo=True),
        "HS-PY-3": start(server, BIRTH_KEY, "HS-PY-3", hoTen="Phạm Thu", giayToGia=True),
    }
    with python_agencies(server) as agencies:
        agencies.run("UBND-XA", BIRTH_TOPICS["UBND-XA"], ubnd_xa)
        agencies.run("CA-XA", BIRTH_TOPICS["CA-XA"], ca_xa_flaky())
        agencies.run("BHXH", BIRTH_TOPICS["BHXH"], bhxh)
        agencies.run("MOT-CUA", BIRTH_TOPICS["MOT-CUA"], mot_cua)

        # The citizen brings the missing paper: the desk delivers the message once the dossier waits.
        wait_until(
            lambda: "ChoBoSung" in [a["id"] for a in dossier(server, ids["HS-PY-2"])["currentActivities"]],
            DOSSIER_DEADLINE_SECONDS,
            lambda: f"HS-PY-2 never waited for a supplement: {dossier(server, ids['HS-PY-2'])}",
        )
        message = {
            "messageName": "bo-sung-ho-so",
            "businessKey": "HS-PY-2",
            "processVariables": {"daBoSung": {"value": True, "type": "Boolean"}},
        }
        response = server.call("POST", "/engine-rest/message", server.desk, json=message)
        assert response.status_code == 204, response.text

        wait_until_ended(server, ids)

    assert [h for h in agencies.journal if h.outcome == "crashed"] == []
    accepted = {key: dossier(server, ids[key]) for key in ("HS-PY-1", "HS-PY-2")}
    for key, view in accepted.items():
        assert view["status"] == "completed"
        variables = view["variables"]
        assert variables["ketQuaKiemTra"] == "hop-le"
        assert variables["soDinhDanh"].startswith("0012")
        assert variables["thuongTru"] == "đã đăng ký" and variables["soLanThu"] == 2
        assert variables["soTheBHYT"] == "TE1797912345678" and variables["daCapThe"] is True
        assert variables["hinhThucTra"] == "VNeID"
        # Composed by the server's in-process handler, between BHXH and the desk's delivery.
        assert f"hồ sơ số {key}" in variables["thongBaoKetQua"]
        # CA-XA failed the first try (retries 2, retryTimeout 300 ms), then completed the retry.
        residence = [h for h in agencies.handled(key) if h[0] == "cong-an-dang-ky-thuong-tru"]
        assert residence == [
            ("cong-an-dang-ky-thuong-tru", "failed"),
            ("cong-an-dang-ky-thuong-tru", "completed"),
        ]
        failures = [e for e in history(server, ids[key]) if e["type"] == "task_failed"]
        assert [(e["activityId"], e["data"]["retries"]) for e in failures] == [("DangKyThuongTru", 2)]
    assert accepted["HS-PY-1"]["variables"]["thongBaoKetQua"].startswith("Kính gửi Trần Văn An")
    assert agencies.handled("HS-PY-2")[:2] == [("ho-tich-kiem-tra", "completed")] * 2  # before and after
    assert accepted["HS-PY-2"]["variables"]["daBoSung"] is True

    refused = dossier(server, ids["HS-PY-3"])
    assert refused["status"] == "completed"
    assert refused["variables"]["ketQuaKiemTra"] == "khong-hop-le"
    assert refused["variables"]["daThongBaoTuChoi"] is True
    assert "soDinhDanh" not in refused["variables"] and "thongBaoKetQua" not in refused["variables"]
    assert agencies.handled("HS-PY-3") == [
        ("ho-tich-kiem-tra", "completed"),
        ("mot-cua-tu-choi", "completed"),
    ]


def test_python_worker_bpmn_error_takes_the_boundary_path(server: Server) -> None:
    """``ExternalTask.bpmn_error`` (4.5.0's name for handle_bpmn_error) on a task with an error boundary."""
    deploy(server, "thu-le-phi.bpmn", FEE_BPMN)
    ids = {
        "LP-PY-PAID": start(server, FEE_KEY, "LP-PY-PAID", daNopLePhi=True),
        "LP-PY-UNPAID": start(server, FEE_KEY, "LP-PY-UNPAID", daNopLePhi=False),
    }
    with python_agencies(server) as agencies:
        agencies.run("MOT-CUA", FEE_TOPICS, mot_cua)
        wait_until_ended(server, ids)

    assert agencies.handled("LP-PY-UNPAID") == [
        ("le-phi-kiem-tra", "bpmn-error"),
        ("le-phi-thong-bao", "completed"),
    ]
    unpaid = dossier(server, ids["LP-PY-UNPAID"])
    assert unpaid["status"] == "completed"
    assert unpaid["variables"]["lyDo"] == "chưa nộp 8.000 đ"  # sent with the BPMN error
    assert unpaid["variables"]["daGuiThongBaoLePhi"] is True
    assert "soBienLai" not in unpaid["variables"]
    assert agencies.handled("LP-PY-PAID") == [
        ("le-phi-kiem-tra", "completed"),
        ("le-phi-ghi-nhan", "completed"),
    ]
    assert dossier(server, ids["LP-PY-PAID"])["variables"]["soBienLai"] == "BL-0001"


def test_a_start_event_with_the_id_start_is_refused_or_works(server: Server) -> None:
    """An analyst may well rename the start event to "Start" in Camunda Modeler."""
    xml = FEE_BPMN.replace(b'id="NhanHoSo"', b'id="Start"').replace(
        b'sourceRef="NhanHoSo"', b'sourceRef="Start"'
    )
    response = server.call(
        "POST",
        "/engine-rest/deployment/create",
        server.analyst,
        data={"deployment-name": "start", "deployment-source": "Camunda Modeler"},
        files={"start.bpmn": ("start.bpmn", xml, "application/octet-stream")},
    )
    if response.status_code == 400:  # refused at deployment, with the reason: fine
        assert "Start" in response.json()["message"]
        return
    assert response.status_code == 200, response.text
    started = server.call(
        "POST", f"/engine-rest/process-definition/key/{FEE_KEY}/start", server.desk, json={"businessKey": "X"}
    )
    assert started.status_code == 200, started.text


# -- JavaScript agency workers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def node() -> str:
    """The ``node`` executable, with tests/js's locked dependencies installed (``npm ci``)."""
    return node_with_packages(JS_DIR, "camunda-external-task-client-js")


@dataclass
class NodeWorker:
    """A running ``node tests/js/agency_worker.mjs`` for one agency."""

    agency: str
    process: subprocess.Popen[bytes]
    output: Path
    errors: Path

    def stop(self) -> list[dict[str, Any]]:
        """SIGTERM (the script then prints its summary and exits); its JSON lines."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        return [json.loads(line) for line in self.output.read_text().splitlines() if line.strip()]


def node_worker(
    node: str, server: Server, tmp_path: Path, agency: str, plan: Mapping[str, Any], *, auth: str = "bearer"
) -> NodeWorker:
    plan_path = tmp_path / f"plan-{agency}.json"
    plan_path.write_text(json.dumps(plan, ensure_ascii=False))
    output, errors = tmp_path / f"node-{agency}.jsonl", tmp_path / f"node-{agency}.err"
    with output.open("wb") as out, errors.open("wb") as err:
        process = subprocess.Popen(
            [
                node,
                str(JS_DIR / "agency_worker.mjs"),
                "--base-url", server.engine_rest,
                "--plan", str(plan_path),
                "--worker-id", f"{agency}-js",
                "--auth", auth,
                "--timeout-ms", str(int((DOSSIER_DEADLINE_SECONDS + 15) * 1000)),
            ],
            cwd=JS_DIR,
            env={**os.environ, "LIENTHONG_WORKER_TOKEN": server.workers[agency]},
            stdout=out,
            stderr=err,
        )  # fmt: skip
    return NodeWorker(agency, process, output, errors)


# What each agency's Node worker does, by topic: the first rule whose `when` matches applies.
JS_PLANS: dict[str, dict[str, list[dict[str, Any]]]] = {
    "UBND-XA": {
        "ho-tich-kiem-tra": [
            {"when": {"giayToGia": True}, "complete": {"ketQuaKiemTra": "khong-hop-le"}},
            {"complete": {"ketQuaKiemTra": "hop-le", "ngayKiemTra": {"$date": "2030-01-07T09:00:00.000Z"}}},
        ],
        "ho-tich-dang-ky-khai-sinh": [{"complete": {"soDinhDanh": "001230000042", "soLanIn": 1}}],
    },
    "CA-XA": {
        "cong-an-dang-ky-thuong-tru": [
            {
                "failFirst": {
                    "errorMessage": "CSDL cư trú bận",
                    "errorDetails": "HTTP 503 từ hệ thống cư trú",
                    "retries": 2,
                    "retryTimeout": 300,
                },
                "extendLock": 120_000,  # the registration is slow: hold the task longer
                "complete": {"thuongTru": {"diaChi": "Số 1 Tràng Tiền, Hà Nội", "hoKhau": 7}},
            }
        ],
    },
    "BHXH": {
        "bhxh-cap-the-bhyt": [
            {"unlockFirst": True, "complete": {"soTheBHYT": "TE1797900000042", "daCapThe": True}}
        ],
    },
    "MOT-CUA": {
        "mot-cua-tu-choi": [{"complete": {"daThongBaoTuChoi": True}}],
        "mot-cua-tra-ket-qua": [{"complete": {"hinhThucTra": "Bưu chính", "ngayTra": {"$date": "now"}}}],
        "mot-cua-nhac-viec": [{"complete": {}}],
        "le-phi-kiem-tra": [
            {
                "when": {"daNopLePhi": False},
                "bpmnError": {
                    "code": NO_FEE,
                    "message": "Chưa nộp lệ phí",
                    "variables": {"lyDo": "chưa nộp"},
                },
            },
            {"complete": {"soBienLai": "BL-JS-1"}},
        ],
        "le-phi-ghi-nhan": [{"complete": {"daGhiNhan": True}}],
        "le-phi-thong-bao": [{"complete": {"daGuiThongBaoLePhi": True}}],
    },
}


def test_node_workers_of_four_agencies_run_whole_procedures(
    node: str, server: Server, tmp_path: Path
) -> None:
    """camunda-external-task-client-js 3.1.0, one Node process per agency, on both diagrams."""
    deploy(server, BIRTH.name, BIRTH.read_bytes())
    deploy(server, "thu-le-phi.bpmn", FEE_BPMN)
    ids = {
        "HS-JS-1": start(server, BIRTH_KEY, "HS-JS-1", hoTen="Đỗ Quang Huy", nguoiNopHoSo="Đỗ Văn Bình"),
        "HS-JS-2": start(server, BIRTH_KEY, "HS-JS-2", hoTen="Vũ Lan", giayToGia=True),
        "LP-JS-PAID": start(server, FEE_KEY, "LP-JS-PAID", daNopLePhi=True),
        "LP-JS-UNPAID": start(server, FEE_KEY, "LP-JS-UNPAID", daNopLePhi=False),
    }
    # BHXH authenticates as Camunda's BasicAuthInterceptor does (the token as the password).
    workers = [
        node_worker(node, server, tmp_path, agency, plan, auth="basic" if agency == "BHXH" else "bearer")
        for agency, plan in JS_PLANS.items()
    ]
    try:
        wait_until_ended(server, ids)
    finally:
        lines = {w.agency: w.stop() for w in workers}
    stderr = {w.agency: w.errors.read_text() for w in workers}

    events = [e for agency_lines in lines.values() for e in agency_lines]
    assert [e for e in events if e["event"] == "error"] == [], stderr
    summaries = {agency: agency_lines[-1] for agency, agency_lines in lines.items()}
    assert all(s["event"] == "summary" for s in summaries.values()), (lines, stderr)

    def of(business_key: str) -> list[tuple[str, str]]:
        return [(e["topic"], e["event"]) for e in events if e.get("businessKey") == business_key]

    accepted = dossier(server, ids["HS-JS-1"])
    assert accepted["status"] == "completed"
    variables = accepted["variables"]
    # Typed by the JS client's Variables: string, integer, boolean, json and date values.
    assert variables["ketQuaKiemTra"] == "hop-le"
    assert variables["ngayKiemTra"].startswith("2030-01-07T09:00:00")
    assert variables["soDinhDanh"] == "001230000042" and variables["soLanIn"] == 1
    assert variables["thuongTru"] == {"diaChi": "Số 1 Tràng Tiền, Hà Nội", "hoKhau": 7}
    assert variables["soTheBHYT"] == "TE1797900000042" and variables["daCapThe"] is True
    assert variables["hinhThucTra"] == "Bưu chính" and variables["ngayTra"][:2] == "20"
    assert "hồ sơ số HS-JS-1" in variables["thongBaoKetQua"]  # the server's in-process handler
    # CA-XA: failure with retries, then extendLock and completion of the retried task.
    residence = [(e["event"], e["retries"]) for e in events if e.get("topic") == "cong-an-dang-ky-thuong-tru"]
    assert residence == [("failed", None), ("extended", 2), ("completed", 2)]
    [failed] = [e for e in events if e["event"] == "failed"]
    assert failed["retriesLeft"] == 2
    # BHXH gave the task back once (unlock), fetched it again and completed it.
    assert of("HS-JS-1").count(("bhxh-cap-the-bhyt", "unlocked")) == 1
    assert of("HS-JS-1").count(("bhxh-cap-the-bhyt", "completed")) == 1

    refused = dossier(server, ids["HS-JS-2"])
    assert refused["status"] == "completed"
    assert refused["variables"]["daThongBaoTuChoi"] is True and "soDinhDanh" not in refused["variables"]

    assert of("LP-JS-UNPAID") == [("le-phi-kiem-tra", "bpmnError"), ("le-phi-thong-bao", "completed")]
    unpaid = dossier(server, ids["LP-JS-UNPAID"])["variables"]
    assert unpaid["lyDo"] == "chưa nộp" and unpaid["daGuiThongBaoLePhi"] is True
    assert of("LP-JS-PAID") == [("le-phi-kiem-tra", "completed"), ("le-phi-ghi-nhan", "completed")]
    assert summaries["MOT-CUA"]["counts"]["bpmnError"] == 1
