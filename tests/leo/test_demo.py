"""`leo demo`'s own logic (the whole command is run as written by scripts/demo_smoke.sh in
.ci/run): its configuration overlay, when a release is reused, and the token it prints."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from api.access import AccessDB, AuthError
from disclosure.policy import load_policy
from leo.config import default_conf_dir
from leo.demo import DEMO_ANALYST, DEMO_MAX_DIMENSIONS, _demo_conf, _reusable, _token
from leo.layout import DataRoot
from leo.storage import write_text_atomic


def test_demo_conf_changes_only_max_dimensions(tmp_path: Path) -> None:
    folder = _demo_conf(DataRoot(str(tmp_path)), None)
    assert sorted(p.name for p in Path(folder).iterdir()) == ["disclosure.yaml"]
    demo, packaged = load_policy(folder), load_policy()
    assert packaged.max_dimensions != DEMO_MAX_DIMENSIONS == demo.max_dimensions
    assert demo.model_copy(update={"max_dimensions": packaged.max_dimensions}) == packaged
    # the comments of the packaged file are kept: it is still the documented policy
    text = (Path(folder) / "disclosure.yaml").read_text()
    assert text.count("#") == (default_conf_dir() / "disclosure.yaml").read_text().count("#")


def test_demo_conf_keeps_the_users_files(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    packaged = yaml.safe_load((default_conf_dir() / "disclosure.yaml").read_text())
    (mine / "disclosure.yaml").write_text(yaml.safe_dump({**packaged, "threshold": 20}))
    (mine / "api.yaml").write_text("limits:\n  max_depth: 9\n")
    folder = Path(_demo_conf(DataRoot(str(tmp_path / "data")), str(mine)))
    assert (folder / "api.yaml").read_text() == (mine / "api.yaml").read_text()
    policy = load_policy(folder)
    assert (policy.threshold, policy.max_dimensions) == (20, DEMO_MAX_DIMENSIONS)


def test_reused_only_for_the_same_population_and_current_release(tmp_path: Path) -> None:
    root = DataRoot(str(tmp_path))
    marker = {"persons": 100, "seed": 1, "release": "r1"}
    assert not _reusable(root, marker, 100, 1)  # nothing published
    Path(root.path("published")).mkdir()
    write_text_atomic(root.current_pointer(), "r1\n")
    assert _reusable(root, marker, 100, 1)
    assert not _reusable(root, marker, 200, 1)
    assert not _reusable(root, marker, 100, 2)
    write_text_atomic(root.current_pointer(), "r2\n")  # published since by someone else
    assert not _reusable(root, marker, 100, 1)


def test_each_demo_token_revokes_the_one_before(tmp_path: Path) -> None:
    root = DataRoot(str(tmp_path))
    first, second = _token(root), _token(root)
    db = AccessDB(root.access_db())
    try:
        with pytest.raises(AuthError, match="revoked"):
            db.authenticate(first)
        assert db.authenticate(second).analyst_id == DEMO_ANALYST
        assert [t.state(t.created) for t in db.tokens(DEMO_ANALYST)].count("valid") == 1
    finally:
        db.close()
