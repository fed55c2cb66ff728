"""Development mode only: demo agencies and tokens, so a newcomer can call the API at once.

The tokens are kept in ``var/demo-tokens.json`` (mode 600) so that ``make run`` prints the
same ones at every start; production (``LIENTHONG_ENV=production``) never creates or prints
them.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from .access import add_agency, authenticate, create_token
from .config import Settings
from .errors import Conflict
from .store.db import Database

# Every agency the diagrams in processes/ hand a step to (their ``agency`` properties).
DEMO_AGENCIES = {
    "MOT-CUA": "Bộ phận Một cửa – Trung tâm Phục vụ hành chính công",
    "UBND-XA": "UBND cấp xã – Tư pháp hộ tịch",
    "CA-XA": "Công an cấp xã",
    "BHXH": "Bảo hiểm xã hội",
    "BTXH": "Phòng Văn hóa – Xã hội – Bảo trợ xã hội",
    "THUE": "Cơ quan thuế",
    "VPDK-CN": "Chi nhánh Văn phòng đăng ký đất đai",
    "PDKKD": "Phòng Đăng ký kinh doanh",
    "LAO-DONG": "Cơ quan quản lý lao động",
    "SXD": "Sở Xây dựng",
    "PCCC": "Phòng Cảnh sát phòng cháy, chữa cháy và cứu nạn, cứu hộ",
}
DEMO_DESK = "MOT-CUA"  # the one-stop desk that receives the demo's dossiers


def demo_token_names() -> set[str]:
    """The names ``demo_tokens`` answers: the admin, the desk, one worker per demo agency."""
    return {"admin", f"desk {DEMO_DESK}", *(f"worker {code}" for code in DEMO_AGENCIES)}


def demo_tokens(
    db: Database, settings: Settings, path: Path = Path("var/demo-tokens.json")
) -> dict[str, str]:
    """Name -> token; created on first use, reused while they still authenticate in ``db``."""
    if settings.environment == "production":
        raise RuntimeError("demo tokens exist only in development mode")
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        # A file from before an agency was added is replaced, as is one from another database.
        if set(saved) == demo_token_names() and all(authenticate(db, token) for token in saved.values()):
            return saved
    for code, name in DEMO_AGENCIES.items():
        with contextlib.suppress(Conflict):  # already there from an earlier start
            add_agency(db, code, name)
    tokens = {"admin": create_token(db, name="demo admin", scopes=["admin"])[1]}
    tokens[f"desk {DEMO_DESK}"] = create_token(
        db, name=f"demo desk {DEMO_DESK}", scopes=["desk"], agency=DEMO_DESK
    )[1]
    for code in DEMO_AGENCIES:
        tokens[f"worker {code}"] = create_token(db, name=f"demo {code}", scopes=["worker"], agency=code)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tokens, indent=2), encoding="utf-8")
    os.chmod(path, 0o600)
    return tokens
