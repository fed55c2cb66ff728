"""``lienthong``: validate, deploy, migrate, serve, work, start."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from pathlib import Path

from .access import Scope, add_agency, create_token, list_agencies, map_topic, revoke_token
from .bpmn.compiler import Resource
from .calendar.cli import register as register_calendar
from .config import Settings
from .demo.runner import register as register_demo
from .dossiers.codes import set_code_pattern
from .errors import DeploymentRefused, OrchestratorError
from .notify.cli import register as register_webhook
from .store.db import Database


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # SpiffWorkflow logs every task state change at INFO: far too much for an operator's log.
    logging.getLogger("spiff").setLevel(logging.WARNING)
    # Alembic announces each of its plug-ins at INFO on every start; the migrations it runs stay visible.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        return args.run(args)
    except OrchestratorError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        for problem in getattr(error, "problems", []):
            print(problem.format(), file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lienthong", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check BPMN files; exit 1 if any cannot be deployed")
    validate.add_argument("files", nargs="+", type=Path)
    validate.add_argument("--json", action="store_true", help="print problems as a JSON list")
    validate.set_defaults(run=_validate)

    deploy = commands.add_parser("deploy", help="deploy BPMN files (a changed process gets a new version)")
    deploy.add_argument("files", nargs="+", type=Path)
    deploy.add_argument("--name", default="lienthong deploy")
    deploy.set_defaults(run=_deploy)

    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(run=_db)

    serve = commands.add_parser("serve", help="run the API with an embedded worker and ticker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--no-worker", action="store_true", help="API only (run `lienthong worker` apart)")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="run a job worker and a timer ticker")
    worker.set_defaults(run=_worker)

    agency = commands.add_parser("agency", help="agencies (cơ quan)")
    agency_commands = agency.add_subparsers(required=True, metavar="ACTION")
    agency_add = agency_commands.add_parser("add", help="add an agency")
    agency_add.add_argument("code")
    agency_add.add_argument("--name", required=True)
    agency_add.add_argument("--parent", help="code of the parent agency")
    agency_add.add_argument("--email", help="the mailbox its deadline warnings are e-mailed to")
    agency_add.set_defaults(run=_agency_add)
    agency_list = agency_commands.add_parser("list", help="list agencies")
    agency_list.set_defaults(run=_agency_list)
    agency_topic = agency_commands.add_parser("map-topic", help="assign a topic to an agency")
    agency_topic.add_argument("topic")
    agency_topic.add_argument("--agency", required=True)
    agency_topic.set_defaults(run=_agency_map_topic)
    agency_pattern = agency_commands.add_parser(
        "set-code-pattern", help="the agency's dossier code pattern, e.g. '{agency}-{yymmdd}-{seq:4}'"
    )
    agency_pattern.add_argument("code")
    agency_pattern.add_argument("pattern", nargs="?", help="omit to go back to the default")
    agency_pattern.set_defaults(run=_agency_set_code_pattern)

    token = commands.add_parser("token", help="API tokens")
    token_commands = token.add_subparsers(required=True, metavar="ACTION")
    token_create = token_commands.add_parser("create", help="create a token (printed once, stored hashed)")
    token_create.add_argument("--scope", action="append", required=True, choices=[s.value for s in Scope])
    token_create.add_argument("--agency", help="agency code (required for the worker scope)")
    token_create.add_argument("--name", help="who or what holds it")
    token_create.set_defaults(run=_token_create)
    token_revoke = token_commands.add_parser("revoke", help="revoke a token by its client id")
    token_revoke.add_argument("client_id")
    token_revoke.set_defaults(run=_token_revoke)

    register_calendar(commands)
    register_webhook(commands)
    register_demo(commands)

    start = commands.add_parser("start", help="start a process instance")
    start.add_argument("key")
    start.add_argument("--business-key")
    start.add_argument("--variables", default="{}", help="JSON object")
    start.set_defaults(run=_start)
    return parser


def _runtime():
    from .runtime import Runtime

    return Runtime.create(Settings.from_env())


def _validate(args: argparse.Namespace) -> int:
    from .services.definitions import validate

    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 1
    problems = validate(None, [Resource(str(f), f.read_bytes()) for f in args.files])
    if args.json:
        print(json.dumps([p.as_dict() for p in problems], ensure_ascii=False, indent=2))
    else:
        for problem in problems:
            print(problem.format())
    return 1 if any(p.severity == "error" for p in problems) else 0


def _deploy(args: argparse.Namespace) -> int:
    from .services.definitions import deploy, resources_from_paths

    runtime = _runtime()
    try:
        result = deploy(
            runtime.engine, resources_from_paths(args.files), name=args.name, source="lienthong cli"
        )
    except DeploymentRefused as refused:
        for problem in refused.problems:
            print(problem.format(), file=sys.stderr)
        return 1
    for problem in result.warnings:
        print(problem.format())
    for definition in result.definitions:
        print(f"deployed {definition.key} version {definition.version} ({definition.id})")
    for definition in result.unchanged:
        print(f"unchanged {definition.key} version {definition.version}")
    return 0


def _db(args: argparse.Namespace) -> int:
    runtime = _runtime()
    runtime.migrate()
    print(f"database is up to date ({runtime.db.dialect})")
    return 0


def load_processes(runtime) -> None:
    """Deploy ``processes/`` at start; unchanged diagrams make no new version."""
    from .services.definitions import deploy, resources_from_paths

    directory = runtime.settings.processes_dir
    if not directory.is_dir() or not any(directory.glob("*.bpmn")):
        return
    result = deploy(runtime.engine, resources_from_paths([directory]), name="processes/", source="startup")
    for definition in result.definitions:
        logging.getLogger("lienthong").info("deployed %s version %s", definition.key, definition.version)


def _serve(args: argparse.Namespace) -> int:
    runtime = _runtime()
    runtime.migrate()
    load_processes(runtime)
    module_name, _, factory_name = runtime.settings.app_factory.partition(":")
    app = getattr(importlib.import_module(module_name), factory_name)(runtime=runtime)
    if runtime.settings.environment != "production":
        _print_demo_tokens(runtime)
    if not args.no_worker:
        runtime.start_background()
    try:
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    finally:
        runtime.close()
    return 0


def _print_demo_tokens(runtime) -> None:
    from .dev_tokens import demo_tokens

    print("\nDevelopment mode: demo tokens (Authorization: Bearer <token>; never in production)")
    for name, token in demo_tokens(runtime.db, runtime.settings).items():
        print(f"  {name:<16} {token}")
    print(flush=True)


def _worker(args: argparse.Namespace) -> int:
    from .ticker import start_ticker

    runtime = _runtime()
    worker = runtime.new_worker()
    scheduler = start_ticker(runtime.engine)
    try:
        worker.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=False)
        runtime.close()
    return 0


def _database() -> Database:
    return Database(Settings.from_env().database_url)


def _agency_add(args: argparse.Namespace) -> int:
    agency = add_agency(_database(), args.code, args.name, args.parent, args.email)
    print(f"agency {agency.code}: {agency.name}" + (f" <{agency.email}>" if agency.email else ""))
    return 0


def _agency_list(args: argparse.Namespace) -> int:
    for agency in list_agencies(_database()):
        parent = f" (thuộc {agency.parent_code})" if agency.parent_code else ""
        print(f"{agency.code}\t{agency.name}{parent}")
    return 0


def _agency_map_topic(args: argparse.Namespace) -> int:
    map_topic(_database(), args.topic, args.agency)
    print(f"topic {args.topic} -> {args.agency}")
    return 0


def _agency_set_code_pattern(args: argparse.Namespace) -> int:
    print(f"{args.code}: {set_code_pattern(_database(), args.code, args.pattern)}")
    return 0


def _token_create(args: argparse.Namespace) -> int:
    name = args.name or (f"{args.agency} {'/'.join(args.scope)}" if args.agency else "/".join(args.scope))
    client, token = create_token(_database(), name=name, scopes=args.scope, agency=args.agency)
    print(f"client id: {client.id}", file=sys.stderr)
    print("the token is shown once; store it now:", file=sys.stderr)
    print(token)
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    revoke_token(_database(), args.client_id)
    print(f"revoked {args.client_id}")
    return 0


def _start(args: argparse.Namespace) -> int:
    from .services.instances import start_instance

    runtime = _runtime()
    view = start_instance(
        runtime.engine,
        args.key,
        business_key=args.business_key,
        variables=json.loads(args.variables),
        actor="cli",
    )
    print(json.dumps(view.__dict__, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
