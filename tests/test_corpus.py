"""Every diagram of the real corpus (../shared/corpus): a pinned verdict, and the runnable ones run.

A verdict is DEPLOYS, or the first blocking problem's element id and the start of its
message.  A change in what the product accepts shows up here file by file.
"""

from __future__ import annotations

import pytest

from orchestrator.bpmn.compiler import Resource, compile_resources
from orchestrator.services import definitions, external_tasks, instances

from .conftest import CORPUS

DEPLOYS = "deploys"

VERDICTS = {
    "camunda-examples/bpmn-model-api__parse-bpmn__process.bpmn": (
        "serviceTask",
        "camunda:expression (Java/JUEL method call) is no",
    ),
    "camunda-examples/clients__java__order-handling__order-handling.bpmn": DEPLOYS,
    "camunda-examples/deployment__ejb-pa-jakarta__EjbExpressionResolvingTest.testResolveBean.bpmn": (
        "servicetask1",
        "camunda:delegateExpression (Java delegate expres",
    ),
    "camunda-examples/deployment__embedded-spring-rest__loanApproval.bpmn": (
        "ServiceTask_1",
        "implementation='webService' is not supported: se",
    ),
    "camunda-examples/deployment__servlet-pa__exampleProcess.bpmn": (
        "ServiceTask_1",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/deployment__spring-servlet-pa-tomcat__SpringExpressionResolvingTest.testResolveBean.bpmn": (
        "servicetask1",
        "camunda:expression (Java/JUEL method call) is no",
    ),
    "camunda-examples/deployment__spring-servlet-pa-tomcat__SpringExpressionResolvingTest.testResolveBeanFromJobExecutor.bpmn": (
        "servicetask1",
        "camunda:delegateExpression (Java delegate expres",
    ),
    "camunda-examples/deployment__spring-servlet-pa-wildfly__SpringExpressionResolvingTest.testResolveBean.bpmn": (
        "servicetask1",
        "camunda:expression (Java/JUEL method call) is no",
    ),
    "camunda-examples/deployment__spring-servlet-pa-wildfly__SpringExpressionResolvingTest.testResolveBeanFromJobExecutor.bpmn": (
        "servicetask1",
        "camunda:delegateExpression (Java delegate expres",
    ),
    "camunda-examples/migration__migrate-on-deployment__exampleProcess.bpmn": DEPLOYS,
    "camunda-examples/multi-tenancy__schema-isolation__processes__tenant1__tenant1_process.bpmn": DEPLOYS,
    "camunda-examples/multi-tenancy__schema-isolation__processes__tenant2__tenant2_process.bpmn": (
        "ServiceTask_0pwqvlr",
        "camunda:delegateExpression (Java delegate expres",
    ),
    "camunda-examples/multi-tenancy__tenant-identifier-embedded__processes__tenant1__tenant1_process.bpmn": (
        "ServiceTask_0dsnjuy",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/multi-tenancy__tenant-identifier-embedded__processes__tenant2__tenant2_process.bpmn": (
        "ServiceTask_0dsnjuy",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/multi-tenancy__tenant-identifier-shared-definitions__processes__default__mainProcess.bpmn": (
        "CallActivity_0ahffuc",
        "calls process 'subProcess', which is neither in ",
    ),
    "camunda-examples/multi-tenancy__tenant-identifier-shared-definitions__processes__default__subProcess.bpmn": DEPLOYS,
    "camunda-examples/multi-tenancy__tenant-identifier-shared-definitions__processes__tenant2__subProcess.bpmn": DEPLOYS,
    "camunda-examples/multi-tenancy__tenant-identifier-shared__processes__tenant1__tenant1_process.bpmn": (
        "ServiceTask_0dsnjuy",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/multi-tenancy__tenant-identifier-shared__processes__tenant2__tenant2_process.bpmn": (
        "ServiceTask_0dsnjuy",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/process-engine-plugin__bpmn-parse-listener__bpmnParseListener.bpmn": (
        "ServiceTask_1",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/process-engine-plugin__bpmn-parse-listener__bpmnParseListenerOnUserTask.bpmn": DEPLOYS,
    "camunda-examples/process-engine-plugin__custom-history-level__process-history-activity.bpmn": (
        "ServiceTask_1",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/process-engine-plugin__custom-history-level__process-history-custom-variable.bpmn": (
        "ServiceTask_1",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/process-engine-plugin__custom-history-level__process-history-full.bpmn": (
        "ServiceTask_1",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/process-engine-plugin__custom-history-level__process-history-none.bpmn": (
        "ServiceTask_1",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/process-engine-plugin__custom-history-level__process.bpmn": (
        "ServiceTask_1",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/process-engine-plugin__failed-job-retry-profile__retry-example.bpmn": (
        "service-fetch-data",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/process-engine-plugin__handling-jpa-variables__process.bpmn": DEPLOYS,
    "camunda-examples/quarkus-extension__datasource-example__bpmn__process.bpmn": (
        "Activity_148bip1",
        "camunda:delegateExpression (Java delegate expres",
    ),
    "camunda-examples/quarkus-extension__spin-plugin-example__process.bpmn": (
        "Activity_0x1k9u4",
        "camunda:delegateExpression (Java delegate expres",
    ),
    "camunda-examples/scripttask__xslt-scripttask__xslt-example.bpmn": (
        "StartEvent_1",
        "listeners run Java or script code, which is not ",
    ),
    "camunda-examples/servicetask__rest-service__invokeRestService.bpmn": (
        "ServiceTask_1",
        "Camunda Connect connectors are not supported: us",
    ),
    "camunda-examples/servicetask__service-invocation-asynchronous__asynchronousServiceInvocation.bpmn": (
        "serviceTaskActivity",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/servicetask__service-invocation-synchronous__synchronousServiceInvocation.bpmn": (
        "ServiceTask_1",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/spin__dataformat-configuration-global__testProcess.bpmn": (
        "ScriptTask_1",
        "script tasks are not supported: BPMN is code we ",
    ),
    "camunda-examples/spin__dataformat-configuration-in-process-application__testProcess.bpmn": (
        "ScriptTask_1",
        "script tasks are not supported: BPMN is code we ",
    ),
    "camunda-examples/spring-boot-starter__example-simple__bpmn__sample.bpmn": (
        "ServiceTask_1",
        "camunda:delegateExpression (Java delegate expres",
    ),
    "camunda-examples/spring-boot-starter__example-twitter__TwitterDemoProcess.bpmn": (
        "service_task_send_rejection_notification",
        "camunda:delegateExpression (Java delegate expres",
    ),
    "camunda-examples/spring-boot-starter__example-web__bpmn__sample.bpmn": (
        "ServiceTask_1",
        "camunda:delegateExpression (Java delegate expres",
    ),
    "camunda-examples/spring-boot-starter__example-webapp-ee__bpmn__sample.bpmn": DEPLOYS,
    "camunda-examples/spring-boot-starter__example-webapp__bpmn__sample.bpmn": (
        "ServiceTask_1",
        "camunda:delegateExpression (Java delegate expres",
    ),
    "camunda-examples/spring-boot-starter__external-task-client__loan-granting-spring-boot-webapp__bpmn__loan-granting.bpmn": DEPLOYS,
    "camunda-examples/startevent__message-start__instantiating_process.bpmn": (
        "ServiceTask_1",
        "camunda:class (Java delegate) is not supported h",
    ),
    "camunda-examples/startevent__message-start__message_start_process.bpmn": DEPLOYS,
    "camunda-examples/testing__assert__job-announcement-publication-process__camunda-testing-job-announcement-publication.bpmn": (
        "publish_announcement_website",
        "implementation='webService' is not supported: se",
    ),
    "camunda-examples/testing__assert__job-announcement-publication-process__camunda-testing-job-announcement.bpmn": (
        "mail",
        "implementation='webService' is not supported: se",
    ),
    "camunda-examples/testing__junit5__camunda-bpm-junit-assert__testProcess.bpmn": DEPLOYS,
    "camunda-examples/testing__junit5__camunda-bpm-junit-use-engine__testProcess.bpmn": DEPLOYS,
    "camunda-examples/usertask__task-camunda-forms__invoiceApproval.bpmn": DEPLOYS,
    "camunda-examples/usertask__task-form-embedded-bpmn-events__invoicePayment.bpmn": DEPLOYS,
    "camunda-examples/usertask__task-form-embedded-json-variables__process.bpmn": (
        "SequenceFlow_4",
        'expression \'${customer.prop("age").numberValue()',
    ),
    "camunda-examples/usertask__task-form-embedded-react__react-example.bpmn": DEPLOYS,
    "camunda-examples/usertask__task-form-embedded__loanApproval.bpmn": DEPLOYS,
    "camunda-examples/wildfly__jackson-annotations__waitingState.bpmn": DEPLOYS,
    "miwg-reference/A.1.0.bpmn": ("_1373649849716", "no executable process: tick 'Executable' on the "),
    "miwg-reference/A.2.0.bpmn": ("_1373649889746", "no executable process: tick 'Executable' on the "),
    "miwg-reference/A.2.1.bpmn": (
        "Bpmn_Definitions_--SwsH2BEeWQ6qGdY3x14w",
        "no executable process: tick 'Executable' on the ",
    ),
    "miwg-reference/A.3.0.bpmn": ("_1373649919111", "no executable process: tick 'Executable' on the "),
    "miwg-reference/A.4.0.bpmn": ("_1373649948794", "no executable process: tick 'Executable' on the "),
    "miwg-reference/A.4.1.bpmn": (
        "sid-ad44e239-e96e-4a80-b0e4-cf63b741c3cb",
        "no executable process: tick 'Executable' on the ",
    ),
    "miwg-reference/B.1.0.bpmn": ("_1373655174418", "no executable process: tick 'Executable' on the "),
    "miwg-reference/B.2.0.bpmn": ("_1373638079286", "no executable process: tick 'Executable' on the "),
    "miwg-reference/C.1.0.bpmn": ("archiveInvoice", "implementation='webService' is not supported: se"),
    "miwg-reference/C.1.1.bpmn": ("archiveInvoice", "implementation='##unspecified' is not supported:"),
    "miwg-reference/C.2.0.bpmn": (
        "_1aa4e08d-219c-418c-8aed-5ddf4cd45a41",
        "no executable process: tick 'Executable' on the ",
    ),
    "miwg-reference/C.3.0.bpmn": (
        "_cd6f230f-13c3-4027-aa3e-57de601a1ab2",
        "sub-process has no start event: add a start even",
    ),
    "miwg-reference/C.4.0.bpmn": (
        "_e7ccc12c-2987-48ae-92aa-08112101d9c9",
        "no executable process: tick 'Executable' on the ",
    ),
    "miwg-reference/C.5.0.bpmn": (
        "_5f5fbc02-46c1-4615-b2bd-89b2d938ac0b",
        "no executable process: tick 'Executable' on the ",
    ),
    "miwg-reference/C.6.0.bpmn": (
        "_af3cbf6a-9c69-460b-9a1d-276711d30213",
        "no executable process: tick 'Executable' on the ",
    ),
    "miwg-reference/C.7.0.bpmn": (
        "_7e80c232-2bf0-46e0-b77e-29ec586a23a6",
        "no executable process: tick 'Executable' on the ",
    ),
    "miwg-reference/C.8.0.bpmn": (
        "Definitions__a9e3a63e-db87-4fa1-9091-328acae4f490",
        "no executable process: tick 'Executable' on the ",
    ),
    "miwg-reference/C.8.1.bpmn": (
        "_2b960d84-feb1-46a9-a1a1-c300dd996b99",
        "implementation='kp:http' is not supported: set I",
    ),
    "miwg-reference/C.9.0.bpmn": ("SequenceFlow_Red", "expression '= some risk in riskLevels satisfies "),
    "miwg-reference/C.9.1.bpmn": DEPLOYS,
    "miwg-reference/C.9.2.bpmn": ("Activity_0uvp3cb", "event sub-processes are not supported: model a p"),
}

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")


def _resource(relative: str) -> Resource:
    path = CORPUS / relative
    return Resource(path.name, path.read_bytes())


@needs_corpus
def test_every_corpus_file_has_a_verdict():
    on_disk = {f"{p.parent.name}/{p.name}" for p in CORPUS.glob("*/*.bpmn")}
    assert on_disk == set(VERDICTS)


@needs_corpus
@pytest.mark.parametrize("relative", sorted(VERDICTS))
def test_corpus_verdict(relative):
    """Nothing crashes; each file deploys or is refused with a located, actionable message."""
    compilation = compile_resources([_resource(relative)])
    if VERDICTS[relative] == DEPLOYS:
        assert compilation.ok, [p.format() for p in compilation.errors]
        assert compilation.processes
        return
    element_id, message_start = VERDICTS[relative]
    first = compilation.errors[0]
    assert (first.element_id, first.message[: len(message_start)]) == (element_id, message_start)
    assert all(p.file == _resource(relative).name and p.line for p in compilation.errors)


@needs_corpus
def test_call_activity_deploys_with_its_callee():
    """The shared-definitions example: the main process deploys together with the process it calls."""
    compilation = compile_resources(
        [
            _resource(
                "camunda-examples/multi-tenancy__tenant-identifier-shared-definitions__processes__default__"
                "mainProcess.bpmn"
            ),
            _resource(
                "camunda-examples/multi-tenancy__tenant-identifier-shared-definitions__processes__default__"
                "subProcess.bpmn"
            ),
        ]
    )
    assert compilation.ok, [p.format() for p in compilation.errors]


def _open_tasks(engine, instance_id):
    return {
        a["id"]: a["task_id"]
        for a in instances.get_instance(engine, instance_id).current_activities
        if a["type"] == "ExternalTask"
    }


@needs_corpus
def test_order_handling_runs_to_its_end(engine):
    """Camunda's Java-client example: a fake agency completes both external tasks."""
    definitions.deploy(
        engine, [_resource("camunda-examples/clients__java__order-handling__order-handling.bpmn")]
    )
    started = instances.start_instance(engine, "Order_Process", business_key="order-1")
    tasks = _open_tasks(engine, started.id)
    assert list(tasks) == ["Task_06z99p1"]  # Create Invoice, inside the sub-process
    external_tasks.complete_external_task(engine, tasks["Task_06z99p1"], variables={"invoiceId": "INV-1"})
    # As in Camunda, setting invoiceId fires the conditional boundary ${invoiceId != null} on the
    # sub-process: it is interrupted and the archive step opens.
    tasks = _open_tasks(engine, started.id)
    assert list(tasks) == ["Task_1yjkccw"]
    external_tasks.complete_external_task(engine, tasks["Task_1yjkccw"], variables={"archived": True})
    view = instances.get_instance(engine, started.id)
    assert view.status == "completed"
    assert view.variables["invoiceId"] == "INV-1"


@needs_corpus
def test_loan_granting_runs_to_its_end(engine):
    """Camunda's Spring Boot external-task example: multi-instance sub-process over the credit scores."""
    definitions.deploy(
        engine,
        [
            _resource(
                "camunda-examples/spring-boot-starter__external-task-client__loan-granting-spring-boot-webapp__bpmn__"
                "loan-granting.bpmn"
            )
        ],
    )
    started = instances.start_instance(engine, "loan_process", business_key="loan-1")
    tasks = _open_tasks(engine, started.id)
    external_tasks.complete_external_task(
        engine, tasks["Task_1lvjtd4"], variables={"creditScores": [9, 2, 7]}
    )

    decided = []
    while tasks := _open_tasks(engine, started.id):
        activity, task_id = next(iter(tasks.items()))
        decided.append(activity)
        external_tasks.complete_external_task(engine, task_id)
    assert sorted(decided) == ["Task_0j0sjlk", "Task_0v4gadf", "Task_0v4gadf"]  # reject 2, grant 9 and 7
    assert instances.get_instance(engine, started.id).status == "completed"
