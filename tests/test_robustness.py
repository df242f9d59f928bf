"""Robustness probes (issue 18): what the user was told is never lost or faked, every bad input gets one line.

Real SQLite files in tmp folders, real ``edge chat`` processes where the probe is about processes. Nothing
here waits for a fixed time to pass: locks are held until the test releases them.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from edge.nlu.runtime import Parse, Slot
from edge.skills.base import SkillContext
from edge.skills.i18n import Templates
from edge.skills.lists import ListsSkill
from edge.skills.router import SkillRouter
from edge.skills.store import Store, StoreError, store_for

EDGE = Path(sys.executable).with_name("edge")
TIMEOUT = 120  # generous: a loaded machine is slow, never wrong

# Holds an exclusive lock on a database until a line arrives on stdin (or stdin closes).
LOCKER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("INSERT INTO settings (key, value) VALUES ('locked', '1') ON CONFLICT DO NOTHING")
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("ROLLBACK")
""")


def chat(data_dir: Path, *lines: str, locale: str = "en-US", prefix: list[str] | None = None,
         ) -> subprocess.CompletedProcess[str]:
    """``edge chat --data-dir data_dir`` fed ``lines``; the finished process (text mode)."""
    if not EDGE.exists():
        pytest.skip(f"{EDGE} not installed (pip install -e .)")
    command = [*(prefix or []), str(EDGE), "chat", "--data-dir", str(data_dir), "--locale", locale]
    return subprocess.run(command, input="".join(line + "\n" for line in lines), capture_output=True, text=True,
                          timeout=TIMEOUT)


def items_in(db: Path, name: str = "shopping") -> list[str]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT i.text FROM list_items i JOIN lists l ON l.id = i.list_id "
                            "WHERE l.name = ? ORDER BY i.id", (name,)).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]


@contextmanager
def locked(db: Path) -> Iterator[None]:
    """Another process holds an exclusive lock on ``db`` for the duration of the block."""
    proc = subprocess.Popen([sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=TIMEOUT)


def ctx_for(tmp_path: Path, store: Store, locale: str = "en-US") -> SkillContext:
    import datetime as dt

    return SkillContext(locale=locale, clock=lambda: dt.datetime(2026, 11, 25, 14, 0).astimezone(),
                        data_dir=tmp_path, say=Templates(locale).say, services={"store": store})


def a_list_with_milk(path: Path) -> None:
    store = Store(path)
    with store.transaction() as db:
        list_id = db.execute("INSERT INTO lists (name, created) VALUES ('shopping', 'x')").lastrowid
        db.execute("INSERT INTO list_items (list_id, text, created) VALUES (?, 'milk', 'x')", (list_id,))
    store.close()


# --- 1. a locked database is waited for, never taken for a damaged one ---------------------------------------

def test_a_locked_database_is_reported_as_locked_not_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    a_list_with_milk(path)
    with locked(path), pytest.raises(StoreError) as err:
        Store(path, busy_timeout=0.2)
    message = str(err.value)
    assert err.value.kind == "locked" and "locked" in message and "\n" not in message
    assert "damaged" not in message and "corrupt" not in message
    assert not list(tmp_path.glob("*.corrupt-*")), "a healthy database was set aside"
    again = Store(path)
    assert again.notice is None and items_in(path) == ["milk"]


def test_a_lock_released_in_time_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    a_list_with_milk(path)
    opened: list[Store | BaseException] = []

    def open_store() -> None:
        try:
            opened.append(Store(path, busy_timeout=TIMEOUT))
        except BaseException as exc:  # reported below
            opened.append(exc)

    with locked(path):
        thread = threading.Thread(target=open_store)
        thread.start()
    thread.join(timeout=TIMEOUT)
    assert len(opened) == 1 and isinstance(opened[0], Store), opened
    assert opened[0].notice is None and opened[0].query("SELECT text FROM list_items")[0][0] == "milk"


def test_edge_chat_on_a_locked_database_says_so_and_keeps_the_data(tmp_path: Path) -> None:
    a_list_with_milk(tmp_path / "edge.db")
    with locked(tmp_path / "edge.db"):
        done = chat(tmp_path, "add bread to my shopping list")
    assert done.returncode == 0, done.stderr
    replies = done.stdout.strip().splitlines()
    assert len(replies) == 1 and "locked" in replies[0] and "added" not in replies[0].lower(), done.stdout
    assert "damaged" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.glob("*.corrupt-*")), "a healthy database was set aside"
    assert items_in(tmp_path / "edge.db") == ["milk"]
    after = chat(tmp_path, "what is on my shopping list")
    assert "milk" in after.stdout, after.stdout + after.stderr


def test_real_damage_is_still_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    path.write_bytes(b"not a database " * 300)
    store = Store(path)
    assert store.notice and "damaged" in store.notice and len(list(tmp_path.glob("edge.db.corrupt-*"))) == 1


# --- 2. processes starting together on a fresh data folder --------------------------------------------------

def _open_together(path: Path, count: int) -> list[object]:
    """``count`` threads open a store on ``path`` at once and write a row: each one's version, or its error."""
    start = threading.Barrier(count)
    results: list[object] = []

    def open_store() -> None:
        start.wait()
        try:
            store = Store(path)
            store.execute("INSERT INTO settings (key, value) VALUES (?, '1')", (threading.get_ident(),))
            results.append(store.version)
            store.close()
        except BaseException as exc:  # reported by the caller
            results.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TIMEOUT)
    return results


def test_stores_opened_together_on_a_fresh_file_all_migrate(tmp_path: Path) -> None:
    for round_ in range(5):
        assert _open_together(tmp_path / f"r{round_}" / "edge.db", 6) == [1] * 6


def test_adds_racing_to_create_the_same_list_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    stores = [Store(path) for _ in range(4)]
    for round_ in range(10):
        start = threading.Barrier(len(stores))
        replies: list[str] = []

        def add(store: Store, item: str, start: threading.Barrier = start, name: str = f"list{round_}",
                replies: list[str] = replies) -> None:
            text = f"add {item} to my {name} list"
            where = text.index(name)
            parse = Parse(text, "lists_createoradd", 0.9, "lists", [Slot("list_name", name, where, where + len(name))])
            ctx = ctx_for(tmp_path, store)
            router = SkillRouter(lambda locale: ctx, skills=[ListsSkill()], plugins=False)
            start.wait()
            replies.append(router.handle(parse, "en-US").text)

        threads = [threading.Thread(target=add, args=(store, f"thing{i}")) for i, store in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=TIMEOUT)
        assert sorted(items_in(path, f"list{round_}")) == [f"thing{i}" for i in range(len(stores))], replies
        assert all(r.startswith("I added") for r in replies), replies


def test_two_chats_starting_on_a_fresh_folder_keep_every_add(tmp_path: Path) -> None:
    if not EDGE.exists():
        pytest.skip(f"{EDGE} not installed")
    # items the NLU parses as an add with confidence (a store race is tested here, not the model: "pears" was
    # below the confirmation line for the fourth-pass student and asked "Did you mean ...?")
    words = ("bread", "milk", "cheese", "butter")
    for round_ in range(6):
        data = tmp_path / f"round{round_}"
        procs = [subprocess.Popen([str(EDGE), "chat", "--data-dir", str(data)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [p.communicate("".join(f"add {w} to my shopping list\n" for w in words[i::2]), timeout=TIMEOUT)
                for i, p in enumerate(procs)]
        for (out, err), proc in zip(outs, procs, strict=True):
            assert proc.returncode == 0 and "Traceback" not in err, err
            assert out.count("I added") == 2, f"round {round_}: {out}{err}"
        assert sorted(items_in(data / "edge.db")) == sorted(words), f"round {round_}"


# --- 3. a read-only data folder: nothing is confirmed that was not saved -------------------------------------

def _read_only(folder: Path) -> list[str]:
    """A command prefix under which ``folder`` is read-only (chmod, or a read-only bind mount for root)."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        return []
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-m", "sh", "-c", "mount --bind / /mnt 2>/dev/null && echo ok"],
                           capture_output=True, text=True) if unshare else None
    if probe is None or "ok" not in probe.stdout:
        pytest.skip("running as root without mount namespaces: cannot make a folder read-only")
    script = f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" && exec "$@"'
    return [unshare, "-m", "sh", "-c", script, "sh"]


def test_a_read_only_data_folder_confirms_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    a_list_with_milk(data / "edge.db")
    prefix = _read_only(data)
    try:
        done = chat(data, "add bread to my shopping list", "what is on my shopping list", "set a timer for 5 minutes",
                    prefix=prefix)
    finally:
        data.chmod(0o700)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    add, read, timer = done.stdout.strip().splitlines()
    for reply in (add, timer):
        assert "read-only" in reply and str(data) in reply, reply
        assert "added" not in reply.lower() and "timer for" not in reply.lower(), reply
    assert "milk" in read, read  # what was saved before can still be read out
    assert items_in(data / "edge.db") == ["milk"]


def test_an_unusable_store_refuses_every_use(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = store_for({}, blocker / "edge")  # the data folder cannot even be created
    assert not store.available and store.notice and "\n" not in store.notice
    with pytest.raises(StoreError):
        store.query("SELECT 1")
    with pytest.raises(StoreError), store.transaction():
        pass
    router = SkillRouter(lambda locale: ctx_for(tmp_path, store, locale), skills=[ListsSkill()], plugins=False)
    for text in ("add milk to my shopping list", "what is on my shopping list"):
        intent = "lists_createoradd" if text.startswith("add") else "lists_query"
        reply = router.handle(Parse(text, intent, 0.9, "lists", [Slot("list_name", "shopping", 19, 27)]), "en-US")
        assert "read-only" in reply.text and "added" not in reply.text and "\n" not in reply.text, reply.text
        assert reply.data["state"] == {"saved": False, "store_error": "read_only"}


# --- 8. list slots that cut words apart -------------------------------------------------------------------

def _add(tmp_path: Path, text: str, *slots: Slot) -> tuple[Store, object]:
    store = Store(tmp_path / "edge.db")
    out = ListsSkill().handle(Parse(text, "lists_createoradd", 0.9, "lists", list(slots)), ctx_for(tmp_path, store))
    return store, out


def test_a_list_is_never_named_after_a_piece_of_a_word(tmp_path: Path) -> None:
    text = "add item4859 to my shopping list"
    store, out = _add(tmp_path, text, Slot("list_name", "859", 9, 12), Slot("list_name", "shopping", 19, 27))
    assert out.reply.text == "I added item4859 to your shopping list.", out.reply.text
    assert [r[0] for r in store.query("SELECT name FROM lists")] == ["shopping"]


def test_an_injection_like_text_makes_no_list_but_a_question(tmp_path: Path) -> None:
    text = "'; DROP TABLE lists; --"
    store, out = _add(tmp_path, text, Slot("list_name", "DROP TABL", 3, 12))
    assert out.need_slot == "list_name" and out.reply.text.endswith("?"), out.reply.text
    assert store.query("SELECT COUNT(*) FROM lists")[0][0] == 0


def test_whole_word_slots_are_kept(tmp_path: Path) -> None:
    store, out = _add(tmp_path, "add eggs to my to-do list", Slot("list_name", "to-do", 15, 20))
    assert out.reply.text == "I added eggs to your to do list.", out.reply.text


# --- 13. locales, templates and control characters ----------------------------------------------------------

@pytest.fixture
def foreign_templates() -> Iterator[Path]:
    """A folder of templates outside the package, at a path without "-" or "_" (which would cut a locale)."""
    folder = Path(tempfile.gettempdir()) / f"edgeforeign{os.getpid()}" / "x"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lists.toml").write_text('added = "PWNED {item}"\n')
    try:
        yield folder
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


def test_a_locale_cannot_name_a_template_folder(foreign_templates: Path) -> None:
    from edge.skills.i18n import TEMPLATE_DIR

    relative = os.path.relpath(foreign_templates, TEMPLATE_DIR)
    assert "-" not in relative + str(foreign_templates) and "_" not in relative + str(foreign_templates)
    for tag in (relative, str(foreign_templates), relative + "-US"):
        text = Templates(tag).say("lists.added", item="milk", name="shopping")
        assert text == "I added milk to your shopping list.", tag


def test_templates_allow_plain_names_only() -> None:
    from edge.skills.i18n import render

    assert render("{a} and {b}", a=1, b="two") == "1 and two"
    for bad in ("{a.__class__}", "{a[0]}", "{a.__class__.__mro__}", "{0}"):
        with pytest.raises(ValueError):
            render(bad, a="x")


def test_shipped_templates_use_plain_names_only() -> None:
    from edge.skills.i18n import _load, languages, render_fields

    for lang in languages():
        for key, template in _load(lang).items():
            for form in template.values() if isinstance(template, dict) else [template]:
                assert all(name.isidentifier() for name in render_fields(form)), f"{lang}: {key}"


def test_escape_sequences_are_not_stored_or_echoed(tmp_path: Path) -> None:
    text = "add milk\x1bc\x1b]0;owned\x07\x1b[31m\u202e to my shopping list"
    start = text.index("shopping")
    store, out = _add(tmp_path, text, Slot("list_name", "shopping", start, start + 8))
    stored = [r[0] for r in store.query("SELECT text FROM list_items")]
    assert stored == ["milk"], stored
    assert "\x1b" not in out.reply.text and "\u202e" not in out.reply.text


def test_edge_chat_echoes_no_escape_sequence(tmp_path: Path) -> None:
    done = chat(tmp_path, "add \x1bc\x1b[2Jmilk to my shopping list", "what is on my shopping list")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout, repr(done.stdout)
    conn = sqlite3.connect(tmp_path / "edge.db")
    try:
        assert all("\x1b" not in r[0] for r in conn.execute("SELECT text FROM list_items UNION SELECT name FROM lists"))
    finally:
        conn.close()


# --- 12. a WAV that can be read only once: FIFO, <(...), /dev/stdin ------------------------------------------

READ_WAV = "import sys; from edge.audio import read_audio; print(len(read_audio(sys.argv[1])))"


def _wav_bytes(tmp_path: Path, frames: int = 16000) -> bytes:
    import numpy as np

    from edge.audio.wav import write_wav

    path = tmp_path / "tone.wav"
    write_wav(path, (0.3 * np.sin(np.arange(frames) / 8)).astype(np.float32), 16000)
    return path.read_bytes()


def _feed(fifo: Path, data: bytes) -> None:
    """Write ``data`` into ``fifo`` in two parts (a pipe gives a reader what has arrived so far)."""
    try:
        with open(fifo, "wb", buffering=0) as pipe:
            pipe.write(data[:2])
            pipe.write(data[2:])
    except BrokenPipeError:  # the reader gave up; its result says why
        pass


def test_a_wav_from_a_fifo_is_read(tmp_path: Path) -> None:
    data = _wav_bytes(tmp_path)
    fifo = tmp_path / "audio.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=_feed, args=(fifo, data), daemon=True)
    writer.start()
    try:
        done = subprocess.run([sys.executable, "-c", READ_WAV, str(fifo)], capture_output=True, text=True,
                              timeout=TIMEOUT)
    finally:
        if writer.is_alive():  # the reader never opened it (again): let the writer go
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    assert done.returncode == 0 and done.stdout.strip() == "16000", done.stderr


def test_a_wav_from_dev_stdin_is_read(tmp_path: Path) -> None:
    data = _wav_bytes(tmp_path)
    done = subprocess.run([sys.executable, "-c", READ_WAV, "/dev/stdin"], input=data, capture_output=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0 and done.stdout.strip() == b"16000", done.stderr


def test_a_wav_from_process_substitution_is_read(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash for <(...)")
    _wav_bytes(tmp_path)
    script = f'exec "{sys.executable}" -c "$1" <(cat "{tmp_path / "tone.wav"}")'
    done = subprocess.run([bash, "-c", script, "bash", READ_WAV], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0 and done.stdout.strip() == "16000", done.stderr


def test_a_flac_from_a_pipe_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", READ_WAV, "/dev/stdin"], input=b"fLaC" + b"\0" * 64,
                          capture_output=True, timeout=TIMEOUT)
    assert done.returncode != 0 and b"save it to a file first" in done.stderr


# --- 15. plural forms and articles ----------------------------------------------------------------------------

@pytest.mark.parametrize(("locale", "one", "two"), [
    ("fr-FR", "contient 1 élément :", "contient 2 éléments :"),
    ("de-DE", "steht 1 Eintrag:", "stehen 2 Einträge:"),
    ("es-ES", "tiene 1 elemento:", "tiene 2 elementos:"),
    ("it-IT", "ha 1 elemento:", "ha 2 elementi:"),
    ("pt-BR", "tem 1 item:", "tem 2 itens:"),
])
def test_a_list_of_one_is_read_in_the_singular(locale: str, one: str, two: str) -> None:
    say = Templates(locale).say
    assert one in say("lists.items", name="x", items="milk", count=1)
    assert two in say("lists.items", name="x", items="milk, eggs", count=2)


def test_plural_categories_follow_each_language() -> None:
    from edge.skills.i18n import plural_category

    assert [plural_category("fr", n) for n in (0, 1, 2)] == ["one", "one", "other"]  # French: "0 élément"
    assert [plural_category("en", n) for n in (0, 1, 2)] == ["other", "one", "other"]
    assert plural_category("ja", 1) == "other" and plural_category("en", "x") == "other"


def test_every_counted_reply_has_its_plural_forms() -> None:
    from edge.skills.i18n import _load, languages

    for lang in languages():
        for key, template in _load(lang).items():
            if isinstance(template, dict):
                assert "other" in template and all("{count}" in form for form in template.values()), f"{lang}: {key}"


def test_no_english_article_is_glued_to_a_list_name(tmp_path: Path) -> None:
    store = Store(tmp_path / "edge.db")
    skill = ListsSkill()
    for _ in range(2):
        out = skill.handle(Parse("create an apples list", "lists_createoradd", 0.9, "lists",
                                 [Slot("list_name", "apples", 10, 16)]), ctx_for(tmp_path, store))
    assert out.reply.text == "You already have a list called apples.", out.reply.text


def test_a_warning_is_one_line(tmp_path: Path) -> None:
    """A library's warning during a command: one line, no file name and no Python source line under it."""
    (tmp_path / "noisy.py").write_text("import warnings\n\n\ndef run(args):\n"
                                       "    warnings.warn('resampling\\n  took a shortcut', RuntimeWarning)\n"
                                       "    return 0\n")
    script = "import sys, noisy, edge.cli as c; c.cmd_nlu = noisy.run; sys.exit(c.main(['nlu', 'hello']))"
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONWARNINGS": "always"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "edge nlu: warning: resampling took a shortcut\n"
