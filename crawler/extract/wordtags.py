"""jieba's part-of-speech tagging (jieba.posseg.lcut) of short tokens, without loading jieba.

Loading jieba costs every process ~1.3 CPU-s and ~110 MB: its prefix dictionary (500k
entries) and posseg's word-tag table (parsed from dict.txt on import), where the credit
reader tags a few dozen names a page. The same tables live here in an SQLite file, built
once from jieba's own dict.txt and HMM model and kept in the user's cache directory (keyed
by the dictionary file's size and time, as jieba keys its own cache), and are read a word
at a time. The cutting is jieba's: the DAG of dictionary words, the most probable route,
unknown runs of single characters through posseg's HMM (tests/test_wordtags.py holds it to
jieba's own output).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import sqlite3
import tempfile
from functools import cache, lru_cache
from math import log
from pathlib import Path

MIN_FLOAT = -3.14e100
MIN_INF = float("-inf")
SCHEMA = 1  # bump when the layout of the cache file changes

# jieba.posseg's patterns
_HAN_DETAIL = re.compile("([\u4E00-\u9FD5]+)")  # rule-usage: general because jieba's own split of a text into Han runs (posseg.re_han_detail), no page's words
_SKIP_DETAIL = re.compile(r"([\.0-9]+|[a-zA-Z0-9]+)")
_HAN_INTERNAL = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._]+)")
_SKIP_INTERNAL = re.compile(r"(\r\n|\s)")
_ENG = re.compile("[a-zA-Z0-9]+")
_NUM = re.compile(r"[\.0-9]+")


def _jieba_dir() -> Path:
    spec = importlib.util.find_spec("jieba")
    return Path(next(iter(spec.submodule_search_locations)))


def cache_dir() -> Path:
    """MUNIARCHIVE_CACHE_DIR, else $XDG_CACHE_HOME/muniarchive, else ~/.cache/muniarchive."""
    if os.environ.get("MUNIARCHIVE_CACHE_DIR"):
        return Path(os.environ["MUNIARCHIVE_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "muniarchive"


def _build(path: Path) -> None:
    """The tables from jieba itself (its dictionary file and posseg's model), into `path`."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    freq: dict[str, int] = {}
    tags: dict[str, str] = {}
    total = 0
    with open(_jieba_dir() / "dict.txt", "rb") as f:  # jieba.Tokenizer.gen_pfdict and load_word_tag
        for line in f:
            line = line.strip().decode("utf-8")
            if not line:
                continue
            word, count, tag = line.split(" ")
            freq[word] = int(count)
            tags[word] = tag
            total += int(count)
            for end in range(1, len(word)):
                freq.setdefault(word[:end], 0)
    model = jieba.posseg
    chars = set(model.char_state_tab_P) | {c for table in model.emit_P.values() for c in table}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        db = sqlite3.connect(tmp)
        with db:
            db.execute("CREATE TABLE word (word TEXT PRIMARY KEY, freq INTEGER NOT NULL, tag TEXT) WITHOUT ROWID")
            db.execute("CREATE TABLE char (char TEXT PRIMARY KEY, states TEXT, emit TEXT NOT NULL) WITHOUT ROWID")
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.executemany("INSERT INTO word VALUES (?, ?, ?)", ((w, n, tags.get(w)) for w, n in freq.items()))
            db.executemany("INSERT INTO char VALUES (?, ?, ?)", (
                (c, json.dumps([" ".join(s) for s in model.char_state_tab_P[c]]) if c in model.char_state_tab_P else None,
                 json.dumps({" ".join(s): table[c] for s, table in model.emit_P.items() if c in table}))
                for c in chars))
            db.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("total", str(total)),
                ("start", json.dumps({" ".join(s): p for s, p in model.start_P.items()})),
                ("trans", json.dumps({" ".join(s): {" ".join(t): p for t, p in nxt.items()}
                                      for s, nxt in model.trans_P.items()})),
            ])
        db.close()
        os.chmod(tmp, 0o644)  # mkstemp's file is the owner's alone; in the shared temporary folder others read it too
        os.replace(tmp, path)  # whole or not at all: processes starting together may each build it
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _db() -> sqlite3.Connection:
    return _connect(os.getpid())  # a connection of this process: SQLite's are not to cross a fork


@cache
def _connect(pid: int) -> sqlite3.Connection:
    stat = (_jieba_dir() / "dict.txt").stat()
    path = cache_dir() / f"jieba-tags-{SCHEMA}-{stat.st_size}-{int(stat.st_mtime)}.sqlite"
    if not path.exists():
        try:
            _build(path)
        except OSError:  # no writable cache directory: the system's temporary one
            path = Path(tempfile.gettempdir()) / path.name
            if not path.exists():
                _build(path)
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


@cache
def _total_log() -> float:
    return log(int(_db().execute("SELECT value FROM meta WHERE key = 'total'").fetchone()[0]))


@cache
def _model() -> tuple[dict, dict]:
    """posseg's HMM: start and transition probabilities by state. A state is "B nr": the
    character's place in its word (Begin, Middle, End, Single) and the word's tag; as strings
    they order as jieba's (place, tag) tuples do, which breaks ties alike."""
    rows = dict(_db().execute("SELECT key, value FROM meta WHERE key IN ('start', 'trans')"))
    return json.loads(rows["start"]), json.loads(rows["trans"])


@lru_cache(maxsize=65536)
def _word(word: str) -> tuple[int, str] | None:
    """(frequency, tag) of a dictionary word; (0, None) for a prefix of one; None for neither."""
    return _db().execute("SELECT freq, tag FROM word WHERE word = ?", (word,)).fetchone()


def frequency(word: str) -> int:
    """The word's count in jieba's dictionary (0 when it is not a word there)."""
    found = _word(word)
    return found[0] if found else 0


def _tag(word: str) -> str:
    found = _word(word)
    return found[1] or "x" if found else "x"


@lru_cache(maxsize=8192)
def _char(char: str) -> tuple[list | None, dict]:
    """The states posseg allows a character (None: any) and their emission probabilities."""
    row = _db().execute("SELECT states, emit FROM char WHERE char = ?", (char,)).fetchone()
    if row is None:
        return None, {}
    return (json.loads(row[0]) if row[0] else None), json.loads(row[1])


def _viterbi(obs: str) -> list[str]:
    """jieba.posseg.viterbi: the most probable states of the characters of `obs`."""
    start_p, trans_p = _model()
    all_states = trans_p.keys()
    chars = [_char(c) for c in obs]
    first_states, first_emit = chars[0]
    v = [{y: start_p[y] + first_emit.get(y, MIN_FLOAT) for y in (all_states if first_states is None else first_states)}]
    mem_path = [dict.fromkeys(v[0], "")]
    for t in range(1, len(obs)):
        states, emit = chars[t]
        v.append({})
        mem_path.append({})
        prev_states = [x for x in mem_path[t - 1] if len(trans_p[x]) > 0]
        prev_expect_next = {y for x in prev_states for y in trans_p[x]}
        obs_states = set(all_states if states is None else states) & prev_expect_next
        if not obs_states:
            obs_states = prev_expect_next if prev_expect_next else all_states
        for y in obs_states:
            prob, state = max((v[t - 1][y0] + trans_p[y0].get(y, MIN_INF) + emit.get(y, MIN_FLOAT), y0)
                              for y0 in prev_states)
            v[t][y] = prob
            mem_path[t][y] = state
    prob, state = max((v[-1][y], y) for y in mem_path[-1])
    route = [None] * len(obs)
    for i in range(len(obs) - 1, -1, -1):
        route[i] = state
        state = mem_path[i][state]
    return route


def _cut_hmm(sentence: str):
    pos_list = _viterbi(sentence)
    begin, nexti = 0, 0
    for i, char in enumerate(sentence):
        pos = pos_list[i][0]
        if pos == "B":
            begin = i
        elif pos == "E":
            yield sentence[begin:i + 1], pos_list[i][2:]
            nexti = i + 1
        elif pos == "S":
            yield char, pos_list[i][2:]
            nexti = i + 1
    if nexti < len(sentence):
        yield sentence[nexti:], pos_list[nexti][2:]


def _cut_detail(sentence: str):
    for blk in _HAN_DETAIL.split(sentence):
        if _HAN_DETAIL.match(blk):
            yield from _cut_hmm(blk)
        else:
            for x in _SKIP_DETAIL.split(blk):
                if x:
                    yield x, "m" if _NUM.match(x) else "eng" if _ENG.match(x) else "x"


def _route(sentence: str) -> dict[int, tuple[float, int]]:
    """jieba.Tokenizer.get_DAG and calc: the most probable cut into dictionary words."""
    n = len(sentence)
    dag = {}
    for k in range(n):
        ends = []
        i = k
        frag = sentence[k]
        while i < n and (found := _word(frag)) is not None:
            if found[0]:
                ends.append(i)
            i += 1
            frag = sentence[k:i + 1]
        dag[k] = ends or [k]
    route = {n: (0, 0)}
    logtotal = _total_log()
    for idx in range(n - 1, -1, -1):
        route[idx] = max((log(frequency(sentence[idx:x + 1]) or 1) - logtotal + route[x + 1][0], x) for x in dag[idx])
    return route


def _flush(buf: str):
    if len(buf) == 1:
        yield buf, _tag(buf)
    elif not frequency(buf):
        yield from _cut_detail(buf)
    else:
        for elem in buf:
            yield elem, _tag(elem)


def _cut_dag(sentence: str):
    route = _route(sentence)
    x, buf, n = 0, "", len(sentence)
    while x < n:
        y = route[x][1] + 1
        word = sentence[x:y]
        if y - x == 1:
            buf += word
        else:
            if buf:
                yield from _flush(buf)
                buf = ""
            yield word, _tag(word)
        x = y
    if buf:
        yield from _flush(buf)


def tag(sentence: str) -> list[tuple[str, str]]:
    """(word, tag) pairs as jieba.posseg.lcut(sentence) gives them."""
    out = []
    for blk in _HAN_INTERNAL.split(sentence):
        if _HAN_INTERNAL.match(blk):
            out += _cut_dag(blk)
            continue
        for x in _SKIP_INTERNAL.split(blk):
            if _SKIP_INTERNAL.match(x):
                out.append((x, "x"))
            else:
                out += ((xx, "m" if _NUM.match(xx) else "eng" if _ENG.match(x) else "x") for xx in x)
    return out
