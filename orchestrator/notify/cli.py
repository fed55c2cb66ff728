"""``lienthong webhook add | list | remove``: subscriptions to notices, managed by an operator."""

from __future__ import annotations

import argparse
from typing import Any

from orchestrator.clock import utcnow
from orchestrator.config import Settings
from orchestrator.store.db import Database

from . import admin
from .recipients import NOTICE_KINDS


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``webhook`` command to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    webhook = subparsers.add_parser("webhook", help="signed webhook subscriptions to notices")
    commands = webhook.add_subparsers(required=True, metavar="ACTION")

    add = commands.add_parser("add", help="subscribe a URL (prints the signing secret, once)")
    add.add_argument("url")
    add.add_argument(
        "--kinds", nargs="+", required=True, choices=sorted(NOTICE_KINDS), metavar="KIND", help="notice kinds"
    )
    add.add_argument("--agency", help="only notices of this agency")
    add.set_defaults(run=run_add)

    listing = commands.add_parser("list", help="active subscriptions (secrets are never shown again)")
    listing.set_defaults(run=run_list)

    remove = commands.add_parser("remove", help="stop sending to a subscription")
    remove.add_argument("id")
    remove.set_defaults(run=run_remove)
    return webhook


def run_add(args: argparse.Namespace) -> int:
    db = _database()
    try:
        view, secret = admin.create_subscription(
            db, url=args.url, kinds=args.kinds, agency=args.agency, now=utcnow()
        )
    finally:
        db.dispose()
    print(f"id: {view['id']}")
    print(f"secret: {secret}")
    print("Lưu lại khóa bí mật này: nó không được hiển thị lại.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    db = _database()
    try:
        rows = admin.list_subscriptions(db)
    finally:
        db.dispose()
    for row in rows:
        print(f"{row['id']}  {row['url']}  {','.join(row['kinds'])}  {row['agency'] or '*'}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    db = _database()
    try:
        admin.remove_subscription(db, args.id)
    finally:
        db.dispose()
    print(f"removed {args.id}")
    return 0


def _database() -> Database:
    return Database(Settings.from_env().database_url)
