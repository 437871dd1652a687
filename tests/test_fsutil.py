"""Outputs are written whole or not at all."""

from __future__ import annotations

import pytest

from medr1_cli.fsutil import atomic_directory, atomic_write_text, cache_dir


def test_atomic_write_replaces_whole_file(tmp_path):
    path = atomic_write_text(tmp_path / "sub" / "a.txt", "first")
    atomic_write_text(path, "second")
    assert path.read_text() == "second"
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = atomic_write_text(tmp_path / "a.txt", "old")

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr("medr1_cli.fsutil.os.replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_directory_appears_only_when_complete(tmp_path):
    final = tmp_path / "model"
    with atomic_directory(final) as tmp:
        (tmp / "weights").write_text("w")
        assert not final.exists()
    assert (final / "weights").read_text() == "w"
    assert final.stat().st_mode & 0o777 == 0o755


def test_atomic_directory_failure_removes_the_partial_folder(tmp_path):
    with pytest.raises(ValueError):
        with atomic_directory(tmp_path / "model") as tmp:
            (tmp / "half").write_text("x")
            raise ValueError
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_keeps_the_winner_of_a_race(tmp_path):
    final = tmp_path / "model"
    with atomic_directory(final) as tmp:
        (tmp / "mine").write_text("late")
        final.mkdir()
        (final / "theirs").write_text("first")
    assert [p.name for p in final.iterdir()] == ["theirs"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDR1_HOME", str(tmp_path / "h"))
    assert cache_dir() == tmp_path / "h"
    monkeypatch.delenv("MEDR1_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "medr1"
