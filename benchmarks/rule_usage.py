"""Which extraction constructs the labelled pages need, and on how many sites (issue 12).

    python benchmarks/rule_usage.py [--json FILE] [--only TEXT] [--processes 2]

Every construct of crawler.extract and crawler.clean is switched off in turn and the dev
pages of ../shared/eval/dev are extracted again; a page changes when any field of its record
differs from the run with everything on (every field of as_record() but quality's
rules_fired, which names every rule that fired, redundant or not). Constructs are found by
introspection, so the table follows the modules however they are split:

  regex   a compiled pattern at module level (alone or in a module-level list or tuple),
          replaced by one that never matches (for .sub and .split that is a no-op: off);
  inline  a literal pattern a function passes to re.search, re.sub, ...: the module's `re`
          is swapped for one that never matches that pattern;
  entry   an entry of a module-level tuple, list or set of strings written out in the source
          (CSS selectors, tag names), removed; a collection built from other data is measured
          where that data is written;
  yaml    an entry of a YAML data file beside the modules (a list item such as one rule of
          clean/rules.yaml, or a key whose value is a string; a number or a switch is a
          setting, not a construct), removed: the YAML loader hands out the file without it
          and the packages are imported afresh, so caches and patterns built at import see
          the change;
  lexicon a list that RECOGNISES a kind of thing (surnames, role words, organisation words,
          HTML block tags) is one construct, switched off whole (emptied): its entries are
          one piece of knowledge, not rules each. A YAML file names its lexicons in a
          top-level `lexicons:` list of key paths (`roles_before.reporters`); a Python
          collection carries `# rule-usage: lexicon` on its statement;
  helper  a function of the modules with a neutral result (none for `-> X | None`, an empty
          list or dict, False for a predicate, nothing for a procedure, its argument back for
          `(x: T) -> T`), or one of the few in EXPLICIT_HELPERS. The packages' public API is
          not a helper: it is what the constructs make up.

Flags: ONE-SITE changes pages of one site only (the issue's defect unless a note says why the
pattern is general), UNUSED changes no page. A note is a `# rule-usage: general because ...`
comment on the lines that define the construct (or on an entry's own line), or a `note:` key
in a YAML entry; it is printed beside the construct (`# rule-usage: lexicon; general because …`
marks a lexicon and notes it).

A page's site is a registrable domain (tldextract's bundled suffix list, offline): from the
page's canonical / og:url / <base> URL, else the first domain in its label's notes, else
the origin's file name (trafilatura's set names files after the domain), else the origin's
folder (GNE's set keeps one folder per site) matched to the page's or another page's
domain, else the page's most linked host. How each site was found is printed.

Decoded pages are cached; constructs of the modules that decoding runs (found by profiling
it) are measured from the raw bytes. A construct that only code never called on any dev page
looks up (a helper, a module-level pattern or collection) is UNUSED without a run.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import importlib
import inspect
import json
import multiprocessing
import pkgutil
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import ModuleType

import lxml.html
import tldextract
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.extract import decode_body  # noqa: E402

PACKAGES = ("crawler.extract", "crawler.clean")
DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev"
KINDS = ("regex", "inline", "entry", "lexicon", "yaml", "helper")
NOTE = re.compile(r"#\s*rule-usage:\s*(.+?)\s*$")
LEXICON = re.compile(r"^lexicon\b[\s;,:]*")
RE_FUNCTIONS = ("search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer", "compile")

# Helpers whose annotations do not say what "off" returns: (package, function, neutral), the
# function looked up in any module of the package (so the table survives moving it), the
# neutral a value or a callable given the helper's arguments.
EXPLICIT_HELPERS = (
    ("crawler.clean", "strip_pinyin", lambda text: (text, 0)),  # returns (text, annotations removed)
    ("crawler.extract", "byline_names", lambda m: m.group("names")),  # run-on names left joined
)


def _never(pattern: str | bytes) -> str | bytes:
    """A pattern that never matches but has the same groups, so that .sub(r"\\1", ...) still
    compiles (the newline ends a trailing comment of a verbose pattern)."""
    text = pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern
    flags = re.match(r"(?:\(\?[aiLmsux]+\))*", text).group()  # global flags must stay in front
    never = f"{flags}(?!)(?:{text[len(flags):]}\n)"
    return never.encode("latin-1") if isinstance(pattern, bytes) else never


def _never_like(pattern: re.Pattern) -> re.Pattern:
    return re.compile(_never(pattern.pattern), pattern.flags)


@dataclass
class Construct:
    name: str
    kind: str
    switch_off: Callable[[], Callable[[], None]]  # switches the construct off, returns the undo
    modules: set[str] = field(default_factory=set)  # where the code that uses it looks it up
    note: str = ""
    raw: bool = False  # measure from the raw bytes: decoding may depend on it
    code: object = None  # a helper's code object: one never called cannot change a page
    looked_up_as: set[str] = field(default_factory=set)  # names code reads it by: unread, it changes nothing


@dataclass
class Page:
    id: str
    site: str
    url: str
    data: bytes = b""
    decoded: object = None


@dataclass
class Usage:
    construct: Construct
    pages: list[str]
    sites: list[str]
    raised: int = 0  # pages whose extraction raised: the construct is machinery, not a rule
    error: str = ""

    @property
    def flag(self) -> str:
        if self.error:
            return "ERROR"
        return "UNUSED" if not self.pages else "ONE-SITE" if len(self.sites) == 1 else ""


# ---------------------------------------------------------------- discovery


def package_modules(packages) -> list[ModuleType]:
    modules = []
    for name in packages:
        package = importlib.import_module(name)
        modules.append(package)
        for info in pkgutil.walk_packages(getattr(package, "__path__", []), name + "."):
            modules.append(importlib.import_module(info.name))
    return modules


class _Source:
    """A module's source: where each module-level name is assigned, and the notes on its lines."""

    def __init__(self, module: ModuleType):
        try:
            self.text = inspect.getsource(module)
        except (OSError, TypeError):
            self.text = ""
        self.lines = self.text.splitlines()
        self.tree = ast.parse(self.text) if self.text else ast.Module(body=[], type_ignores=[])
        self.assigned: dict[str, ast.stmt] = {}
        for node in self.tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) else []
            for target in targets:
                if isinstance(target, ast.Name):
                    self.assigned[target.id] = node
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.assigned[node.name] = node

    def note(self, first: int, last: int | None = None) -> str:
        for line in self.lines[first - 1:(last or first)]:
            if m := NOTE.search(line):
                return m.group(1)
        return ""

    def statement_note(self, name: str) -> str:
        node = self.assigned.get(name)
        if node is None:
            return ""
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        last = node.lineno if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else node.end_lineno
        return self.note(first, last)


def _rebind(bindings: list[tuple[ModuleType, str]], value) -> Callable[[], None]:
    old = [(module, attr, getattr(module, attr)) for module, attr in bindings]
    for module, attr in bindings:
        setattr(module, attr, value)
    return lambda: [setattr(module, attr, was) for module, attr, was in old]


def _short(module_name: str) -> str:
    return module_name.removeprefix("crawler.")


def _used_names(modules: list[ModuleType]) -> set[str]:
    """Every global and attribute name that code of the modules looks up when it runs."""
    names: set[str] = set()

    def walk(code) -> None:
        names.update(code.co_names)
        for const in code.co_consts:
            if inspect.iscode(const):
                walk(const)

    for module in modules:
        for value in vars(module).values():
            members = vars(value).values() if inspect.isclass(value) else [value]
            for member in members:
                member = getattr(member, "__func__", member)
                code = getattr(inspect.unwrap(member), "__code__", None) if callable(member) else None
                if code is not None:
                    walk(code)
    return names


def discover(packages=PACKAGES, explicit=EXPLICIT_HELPERS) -> tuple[list[Construct], list[str]]:
    """The constructs of the packages, and lines about what could not be switched off."""
    modules = package_modules(packages)
    sources = {module.__name__: _Source(module) for module in modules}
    bindings: dict[int, list[tuple[ModuleType, str]]] = {}
    values: dict[int, object] = {}
    for module in modules:
        for attr, value in vars(module).items():
            if not attr.startswith("__") and not inspect.ismodule(value):
                bindings.setdefault(id(value), []).append((module, attr))
                values[id(value)] = value
    used = _used_names(modules)
    public = {name for package in packages for name in getattr(importlib.import_module(package), "__all__", ())}
    explicit_by_name = {name: (package, neutral) for package, name, neutral in explicit}
    constructs: list[Construct] = []
    remarks: list[str] = []
    derived: list[str] = []

    for key, value in values.items():
        where = bindings[key]
        # the module that assigns the name is its home; the others import it
        home, attr = next(((m, a) for m, a in where if a in sources[m.__name__].assigned), where[0])
        found = _Value(f"{_short(home.__name__)}.{attr}", where, sources[home.__name__], attr)
        if not {a for _, a in where} & used and not callable(value):
            if isinstance(value, re.Pattern) or _strings(value):
                remarks.append(f"{found.label}: read only while its module is imported (a re-import would switch it off)")
        elif isinstance(value, re.Pattern):
            constructs.append(found.construct("", "regex", _never_like(value), found.source.statement_note(attr)))
        elif isinstance(value, list | tuple) and any(isinstance(x, re.Pattern) for x in value):
            for index, item in enumerate(value):
                if isinstance(item, re.Pattern):
                    replaced = type(value)(_never_like(x) if i == index else x for i, x in enumerate(value))
                    constructs.append(found.construct(f"[{index}]", "regex", replaced, found.element_note(index)))
        elif entries := _strings(value):
            lexicon, note = _lexicon(found.source.statement_note(attr))
            if lexicon:
                constructs.append(found.construct("", "lexicon", type(value)(), note))
            elif not found.written_out():
                derived.append(found.label)
            else:
                for entry in entries:
                    remaining = type(value)(x for x in value if x != entry)
                    constructs.append(found.construct(f"[{entry}]", "entry", remaining, found.element_note(entry)))
        elif inspect.isfunction(function := inspect.unwrap(value)) and function.__module__ == home.__name__:
            package, neutral = explicit_by_name.get(attr, ("", _NO_NEUTRAL))
            if neutral is not _NO_NEUTRAL and home.__name__.startswith(package):
                del explicit_by_name[attr]
            else:
                neutral = _NO_NEUTRAL if attr in public else _neutral(function)
            if neutral is not _NO_NEUTRAL:
                off = neutral if callable(neutral) else partial(_returning, neutral)
                constructs.append(found.construct("()", "helper", off, found.source.statement_note(attr),
                                                  code=function.__code__))

    for name, (package, _) in explicit_by_name.items():
        remarks.append(f"EXPLICIT_HELPERS names {package}.{name}, which no module defines")
    if derived:
        remarks.append("built from data measured where it is written: " + ", ".join(sorted(derived)))
    for module in modules:
        constructs += _inline_patterns(module, sources[module.__name__])
    found_in_yaml, yaml_remarks = _yaml_entries(packages)
    constructs += found_in_yaml
    remarks += yaml_remarks
    order = {kind: i for i, kind in enumerate(KINDS)}
    constructs.sort(key=lambda c: order[c.kind])
    return constructs, remarks


@dataclass
class _Value:
    """A module-level value: its name, every binding of it, and its home module's source."""

    label: str
    where: list[tuple[ModuleType, str]]
    source: _Source
    attr: str

    def construct(self, suffix: str, kind: str, off_value, note: str, code=None) -> Construct:
        return Construct(self.label + suffix, kind, partial(_rebind, self.where, off_value),
                         {module.__name__ for module, _ in self.where}, note, code=code,
                         looked_up_as={attr for _, attr in self.where})

    def written_out(self) -> bool:
        """Whether the source writes the collection's strings out (("a", "b"), frozenset({...})),
        rather than building it from other data (a YAML list, another collection)."""
        node = getattr(self.source.assigned.get(self.attr), "value", None)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1:
            node = node.args[0]  # frozenset({...}), tuple([...])
        return isinstance(node, ast.Tuple | ast.List | ast.Set) and all(
            isinstance(item, ast.Constant) for item in node.elts)

    def element_note(self, element: int | str) -> str:
        """The note on an element's own line (by index or by its string), else on the statement."""
        node = getattr(self.source.assigned.get(self.attr), "value", None)
        items = getattr(node, "elts", [])
        if isinstance(element, int):
            item = items[element] if element < len(items) else None
        else:
            item = next((e for e in items if isinstance(e, ast.Constant) and e.value == element), None)
        own = self.source.note(item.lineno, item.end_lineno) if item is not None else ""
        return own or self.source.statement_note(self.attr)


def _lexicon(note: str) -> tuple[bool, str]:
    """(whether a note marks a lexicon, the note without the mark)."""
    marker = LEXICON.match(note)
    return (True, note[marker.end():]) if marker else (False, note)


def _returning(value, *args, **kwargs):
    return copy.copy(value)  # a fresh empty list or dict: callers may add to it


def _strings(value) -> list[str]:
    """The entries of a tuple, list or set made of strings (sorted when it has no order)."""
    if not isinstance(value, tuple | list | set | frozenset) or not value or not all(isinstance(x, str) for x in value):
        return []
    return sorted(value) if isinstance(value, set | frozenset) else list(dict.fromkeys(value))


_NO_NEUTRAL = object()


def _neutral(function):
    """What a helper returns when its rule is off, read from its annotations."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return _NO_NEUTRAL

    def text(annotation) -> str:
        return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))

    returns = text(signature.return_annotation).replace(" ", "")
    parameters = list(signature.parameters.values())
    if signature.return_annotation is inspect.Signature.empty:
        return _NO_NEUTRAL
    # a transformation of plain data hands its input back (not so a domain object such as Article)
    if parameters and text(parameters[0].annotation).replace(" ", "") == returns and re.match(
            r"(?:str|bytes|list|tuple|dict|set)\b", returns):
        return lambda first, *args, **kwargs: first
    if returns == "None" or returns.endswith("|None") or returns.startswith(("None|", "Optional[")):
        return None
    for prefix, neutral in (("list", []), ("dict", {}), ("set", set()), ("bool", False)):
        if returns == prefix or returns.startswith(prefix + "["):
            return neutral
    return _NO_NEUTRAL


class _ReWithout:
    """The `re` module, except that one pattern never matches."""

    def __init__(self, pattern):
        self._pattern = pattern
        for name in RE_FUNCTIONS:
            setattr(self, name, self._wrap(getattr(re, name)))

    def _wrap(self, function):
        def call(pattern, *args, **kwargs):
            return function(_never(pattern) if pattern == self._pattern else pattern, *args, **kwargs)
        return call

    def __getattr__(self, name):
        return getattr(re, name)


def _inline_patterns(module: ModuleType, source: _Source) -> list[Construct]:
    """Literal patterns that functions of the module pass to `re`, one construct per pattern."""
    re_names = [name for name, value in vars(module).items() if value is re]
    found: dict[str | bytes, list[tuple[str, int]]] = {}
    for function in ast.walk(source.tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        for call in ast.walk(function):
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and isinstance(call.func.value, ast.Name) and call.func.value.id in re_names
                    and call.func.attr in RE_FUNCTIONS and call.args
                    and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str | bytes)):
                found.setdefault(call.args[0].value, []).append((getattr(function, "name", "<lambda>"), call.lineno))
    constructs = []
    for pattern, calls in found.items():
        shown = repr(pattern if len(pattern) <= 40 else pattern[:37] + type(pattern)("..."))
        functions = ",".join(dict.fromkeys(name for name, _ in calls))
        note = next((n for _, line in calls if (n := source.note(line))), "")
        constructs.append(Construct(
            f"{_short(module.__name__)}:{functions} re {shown}", "inline",
            partial(_rebind, [(module, name) for name in re_names], _ReWithout(pattern)),
            {module.__name__}, note))
    return constructs


# a key with a number or a switch is a setting (a threshold the code needs), not a rule to remove
_SETTING_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"}


def _yaml_files(packages) -> list[Path]:
    files = []
    for name in packages:
        for folder in getattr(importlib.import_module(name), "__path__", []):
            files += sorted(p for p in Path(folder).rglob("*") if p.suffix in (".yaml", ".yml"))
    return files


def _entries(node, lexicons: set[str], path=()) -> Iterator[tuple[tuple, str, yaml.Node, int, bool]]:
    """(path, label, node, first line, lexicon) of each entry: a key path that the file's
    `lexicons:` names, whole; a list item (a rule of clean/rules.yaml, whole); a key with a
    scalar value."""
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield path + (index,), _item_label(item, index), item, item.start_mark.line, False
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = path + (key.value,)
            if here == ("lexicons",):
                continue
            if ".".join(here) in lexicons:
                yield here, key.value, value, key.start_mark.line, True
            elif isinstance(value, yaml.ScalarNode):
                if value.tag not in _SETTING_TAGS:
                    yield here, key.value, key, key.start_mark.line, False
            else:
                yield from _entries(value, lexicons, here)


def _item_label(item: yaml.Node, index: int) -> str:
    if isinstance(item, yaml.ScalarNode):
        return item.value
    if isinstance(item, yaml.MappingNode):
        scalars = {k.value: v.value for k, v in item.value if isinstance(v, yaml.ScalarNode)}
        return scalars.get("name") or scalars.get("id") or next(iter(scalars.values()), str(index))
    return str(index)


def _without(data, path: tuple, lexicon: bool = False):
    """The data without the entry at path; a lexicon stays, emptied."""
    data = copy.deepcopy(data)
    parent = data
    for part in path[:-1]:
        parent = parent[part] if isinstance(parent, list) else next(v for k, v in parent.items() if str(k) == part)
    last = path[-1] if isinstance(parent, list) else next(k for k in parent if str(k) == path[-1])
    if lexicon:
        parent[last] = type(parent[last])()
    else:
        del parent[last]
    return data


def _yaml_entries(packages) -> tuple[list[Construct], list[str]]:
    constructs, remarks = [], []
    for file in _yaml_files(packages):
        text = file.read_text(encoding="utf-8")
        original = yaml.safe_load(text)
        lines = text.splitlines()
        root = yaml.compose(text)
        if root is None:
            continue
        lexicons = set(original.get("lexicons", ())) if isinstance(original, dict) else set()
        for path, label, node, first, lexicon in _entries(root, lexicons):
            lexicons.discard(".".join(map(str, path)))
            note = ""
            if isinstance(node, yaml.MappingNode):
                note = next((v.value for k, v in node.value if k.value == "note" and isinstance(v, yaml.ScalarNode)), "")
            last = max(node.end_mark.line + (node.end_mark.column > 0), first + 1)  # a block ends at a line's start
            note = note or next((m.group(1) for line in lines[first:last] if (m := NOTE.search(line))), "")
            where = ".".join(str(p) for p in path[:-1])
            constructs.append(Construct(
                f"{file.parent.name}/{file.name}:{where}[{label}]", "lexicon" if lexicon else "yaml",
                partial(_load_without, original, _without(original, path, lexicon), packages), note=note))
        remarks += [f"{file.parent.name}/{file.name}: lexicons names {path}, which the file has not" for path in lexicons]
    return constructs, remarks


def _load_without(original, without, packages) -> Callable[[], None]:
    """YAML loads that give `original` give `without` instead; the packages are imported afresh."""

    def substituting(loader):
        def load(*args, **kwargs):
            data = loader(*args, **kwargs)
            return copy.deepcopy(without) if data == original else data
        return load

    undo_loaders = [_rebind([(yaml, name)], substituting(getattr(yaml, name)))
                    for name in ("load", "safe_load", "full_load", "unsafe_load")]
    try:
        undo_import = _fresh_import(packages)
    except BaseException:
        for undo in undo_loaders:
            undo()
        raise
    return lambda: [undo() for undo in (*undo_loaders, undo_import)]


def _belongs(name: str, packages) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _fresh_import(packages) -> Callable[[], None]:
    saved = {name: module for name, module in sys.modules.items() if _belongs(name, packages)}
    for name in saved:
        del sys.modules[name]

    def undo() -> None:
        for name in [n for n in sys.modules if _belongs(n, packages)]:
            del sys.modules[name]
        sys.modules.update(saved)
        for name, module in saved.items():
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, module)

    try:
        for package in packages:
            importlib.import_module(package)
    except BaseException:
        undo()
        raise
    return undo


# ---------------------------------------------------------------- measuring


def _clear_caches(packages) -> None:
    """Results cached from a run with other constructs (lru_cache) must not hide a change."""
    for name, module in list(sys.modules.items()):
        if _belongs(name, packages):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


_JOB: dict = {}


@contextlib.contextmanager
def _calls() -> Iterator[set]:
    """The code objects of the Python functions called inside the block."""
    called: set = set()
    sys.setprofile(lambda frame, event, arg: called.add(frame.f_code) if event == "call" else None)
    try:
        yield called
    finally:
        sys.setprofile(None)


def _record(extract, page: Page, raw: bool) -> dict:
    try:
        return extract(page, raw)
    except Exception as exc:  # without some constructs the extractor breaks: the page changes
        return {"raised": f"{type(exc).__name__}: {exc}"}


def _changed_pages(index: int) -> tuple[int, list[str], int, str]:
    """(index, the pages that change, how many of them raise, why the construct could not be switched off)."""
    construct = _JOB["constructs"][index]
    packages, pages, extract, baseline = _JOB["packages"], _JOB["pages"], _JOB["extract"], _JOB["baseline"]
    try:
        undo = construct.switch_off()
    except Exception as exc:  # a rule file that no longer loads without the entry, say
        return index, [], 0, f"{type(exc).__name__}: {exc}"
    try:
        _clear_caches(packages)
        records = {p.id: _record(extract, p, construct.raw) for p in pages}
    finally:
        undo()
        _clear_caches(packages)
    changed = [page_id for page_id, fields in records.items() if fields != baseline[page_id]]
    return index, changed, sum("raised" in records[page_id] for page_id in changed), ""


def measure(constructs: list[Construct], pages: list[Page], extract: Callable[[Page, bool], dict],
            packages=PACKAGES, processes: int = 2, progress: Callable[[int, int], None] = lambda done, total: None
            ) -> list[Usage]:
    """Switch each construct off in turn; which pages (and so sites) change.

    `extract(page, raw)` gives a page's record (raw: from its bytes, not a cached decode).
    """
    with _calls() as called:
        baseline = {page.id: _record(extract, page, False) for page in pages}
    read = {name for code in called for name in code.co_names}
    _JOB.update(constructs=constructs, packages=packages, pages=pages, extract=extract, baseline=baseline)
    results: dict[int, tuple] = {}
    todo = []
    for index, construct in enumerate(constructs):
        if construct.code is not None and construct.code not in called or (
                construct.looked_up_as and not construct.looked_up_as & read):
            results[index] = (index, [], 0, "")  # a helper never called, a value no code that ran reads
        else:
            todo.append(index)
    with contextlib.ExitStack() as stack:
        if processes > 1 and len(todo) > 1:
            # fork: the workers inherit the constructs (closures over module objects) and the cached pages
            pool = stack.enter_context(multiprocessing.get_context("fork").Pool(processes))
            runs = pool.imap_unordered(_changed_pages, todo)
        else:
            runs = map(_changed_pages, todo)
        for result in runs:
            results[result[0]] = result
            progress(len(results), len(constructs))
    site_of = {page.id: page.site for page in pages}
    return [Usage(c, results[i][1], sorted({site_of[p] for p in results[i][1]}), results[i][2], results[i][3])
            for i, c in enumerate(constructs)]


# ---------------------------------------------------------------- the dev pages and their sites

_ARCHIVES = {"archive.org"}  # a capture's host is not the site it captured
_SUFFIXES = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # the bundled list: no network
_DOMAIN = re.compile(r"(?<![\w.@-])(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?![\w-])")


def _registered(host_or_url: str) -> str | None:
    """The registrable domain (people.com.cn for js.people.com.cn), or None."""
    host = re.sub(r"^[a-z][a-z0-9+.-]*:", "", host_or_url.strip(), flags=re.I).lstrip("/").split("/")[0]
    parts = _SUFFIXES(host.split(":")[0].lower())
    domain = parts.top_domain_under_public_suffix if parts.suffix and parts.domain else None
    return None if domain in _ARCHIVES else domain


def _page_hosts(doc) -> Counter:
    hosts = Counter()
    for url in doc.xpath("//a/@href | //img/@src | //script/@src | //link/@href"):
        if re.match(r"^(?:https?:)?//", url.strip()) and (domain := _registered(url)):
            hosts[domain] += 1
    return hosts


def site_evidence(html: str, label: dict) -> tuple[str | None, str, str | None]:
    """(site, how, origin folder): the folder is given when the origin's file name carries no
    domain, as in GNE's set (one folder per site); the site is None when only it names one."""
    origin = (label.get("origin") or "").split(":", 1)[-1]
    folder, _, file_name = origin.rpartition("/")
    labels = file_name.split(".")
    # the longest leading domain of the file name: archive.org.he.xinhuanet.com.25340717.html
    named = next((d for size in range(len(labels) - 1, 1, -1) if (d := _registered(".".join(labels[:size])))), None)
    key = folder.rpartition("/")[2].lower() if "/" in folder and not named else None
    try:
        doc = lxml.html.fromstring(html.encode("utf-8", "replace"))
    except Exception:
        doc = lxml.html.fromstring("<html></html>")
    declared = doc.xpath('//link[@rel="canonical"]/@href | //meta[@property="og:url"]/@content | //base/@href')
    for how, found in (("canonical/og:url/base", declared), ("label notes", _DOMAIN.findall(label.get("notes") or "")),
                       ("label origin file name", [named] if named else [])):
        if domain := next((d for url in found if (d := _registered(url))), None):
            return domain, how, key
    hosts = _page_hosts(doc)
    if key:
        if domain := next((d for d in hosts if key in d.split(".")[0]), None):
            return domain, "label origin folder + page links", key
        return None, "label origin folder", key
    if hosts:
        return hosts.most_common(1)[0][0], "most linked host", None
    return None, "none", None


def dev_pages(folder: Path = DEV) -> tuple[list[Page], list[tuple[str, str, str]]]:
    """The labelled pages, decoded once, with their sites; and (page, site, how) for the printout."""
    pages, keyed = [], []
    for path in sorted(folder.glob("*.html")):
        label_path = path.with_suffix(".json")
        label = json.loads(label_path.read_text(encoding="utf-8")) if label_path.exists() else {}
        data = path.read_bytes()
        decoded = decode_body(data)
        site, how, key = site_evidence(decoded.text, label)
        page = Page(path.stem, site or "", path.resolve().as_uri(), data, decoded)
        pages.append(page)
        keyed.append((page, how, key))
    by_folder = {}
    for page, _, key in keyed:
        if key and page.site:
            by_folder.setdefault(key, page.site)
    known = sorted({page.site for page in pages if page.site})
    derivation = []
    for page, how, key in keyed:
        if key and not page.site:  # the domain of a page of the same folder, of another page, or the name alone
            if key in by_folder:
                page.site, how = by_folder[key], how + " + its other pages"
            elif domain := next((d for d in known if d.split(".")[0] == key), None):
                page.site, how = domain, how + " + other pages' domains"
            else:
                page.site = f"{key} (folder name)"
        page.site = page.site or page.id
        derivation.append((page.id, page.site, how))
    return pages, derivation


def record(article) -> dict:
    """Every field of the record but quality's rules_fired: the names of the rules that fired
    change whenever a rule is removed, even when another one removes the same line."""
    fields = article.as_record() if hasattr(article, "as_record") else dict(vars(article))
    if isinstance(fields.get("quality"), dict):
        fields["quality"] = {k: v for k, v in fields["quality"].items() if k != "rules_fired"}
    return fields


def extract_dev_page(page: Page, raw: bool) -> dict:
    extraction = importlib.import_module("crawler.extract")  # afresh after a re-import
    if raw:
        return record(extraction.extract_article(page.data, page.url))
    return record(extraction.extract_decoded(page.decoded, page.url))


def _decoding_modules(pages: list[Page]) -> set[str]:
    with _calls() as called:
        for page in pages:
            decode_body(page.data)
    files = {code.co_filename for code in called}
    return {name for name, module in sys.modules.items()
            if _belongs(name, PACKAGES) and getattr(module, "__file__", None) in files}


# ---------------------------------------------------------------- printing


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(text: str, width: int) -> str:
    while _width(text) > width:
        text = text[:-2] + "…"
    return text + " " * (width - _width(text))


def print_table(usages: list[Usage], out=sys.stdout) -> None:
    print(f"{_cell('construct', 60)} {'kind':<6} {'pages':>5} {'sites':>5}  flag / note", file=out)
    for usage in usages:
        c = usage.construct
        flag = usage.flag + (f" {usage.sites[0]}" if usage.flag == "ONE-SITE" else "")
        raised = f"raises on {usage.raised} pages" if usage.raised else ""
        detail = "  ".join(x for x in (flag, raised, usage.error, f"note: {c.note}" if c.note else "") if x)
        print(f"{_cell(c.name, 60)} {c.kind:<6} {len(usage.pages):>5} {len(usage.sites):>5}  {detail}".rstrip(),
              file=out)


def print_summary(usages: list[Usage], out=sys.stdout) -> None:
    one_site = [u for u in usages if u.flag == "ONE-SITE"]
    unused = [u for u in usages if u.flag == "UNUSED"]
    errors = [u for u in usages if u.flag == "ERROR"]
    by_kind = Counter(u.construct.kind for u in usages)
    print(f"\n{len(usages)} constructs (" + ", ".join(f"{by_kind[k]} {k}" for k in KINDS) + f"): "
          f"{len(one_site)} ONE-SITE ({sum(1 for u in one_site if u.construct.note)} with a note), "
          f"{len(unused)} UNUSED, {len(errors)} ERROR", file=out)
    for kind in KINDS:
        rows = [u for u in usages if u.construct.kind == kind]
        if rows:
            print(f"  {kind:<6} {len(rows):>4} constructs: {sum(u.flag == 'ONE-SITE' for u in rows):>3} ONE-SITE, "
                  f"{sum(u.flag == 'UNUSED' for u in rows):>3} UNUSED", file=out)
    if one_site:
        print("ONE-SITE (construct: site, pages):", file=out)
        for u in one_site:
            note = f"  note: {u.construct.note}" if u.construct.note else ""
            print(f"  {u.construct.name}: {u.sites[0]}, {len(u.pages)} ({' '.join(p[:8] for p in u.pages)}){note}",
                  file=out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--only", metavar="TEXT", help="measure only constructs whose name contains TEXT")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    if not DEV.is_dir():
        print(f"{DEV}: not found; the benchmark needs ../shared/eval beside the project")
        return 1
    started = time.perf_counter()
    pages, derivation = dev_pages()
    sites = Counter(page.site for page in pages)
    print(f"{len(pages)} dev pages, {len(sites)} sites (registrable domains). How each site was found:")
    for how, count in Counter(how for _, _, how in derivation).most_common():
        print(f"  {count:>3} pages: {how}")
    for site, count in sorted(sites.items(), key=lambda item: (-item[1], item[0])):
        ways = sorted({how for _, s, how in derivation if s == site})
        ids = " ".join(page_id[:8] for page_id, s, _ in derivation if s == site)
        print(f"  {site:<28} {count:>2} pages  via {', '.join(ways)}: {ids}")

    constructs, remarks = discover()
    decoding = _decoding_modules(pages)
    for construct in constructs:
        construct.raw = construct.raw or bool(construct.modules & decoding)
    if args.only:
        constructs = [c for c in constructs if args.only in c.name]
    print(f"\n{len(constructs)} constructs in {', '.join(PACKAGES)}; measured from raw bytes (decoding modules "
          f"{', '.join(sorted(decoding))}, and YAML entries): {sum(c.raw for c in constructs)}")
    for remark in remarks:
        print(f"  not measured: {remark}")
    print("A page changes when any field of its record differs (quality's rules_fired aside).\n", flush=True)

    def progress(done: int, total: int) -> None:
        if done % 25 == 0 or done == total:
            print(f"  {done}/{total} constructs, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

    usages = measure(constructs, pages, extract_dev_page, processes=args.processes, progress=progress)
    print_table(usages)
    print_summary(usages)
    print(f"\n{time.perf_counter() - started:.0f} s with {args.processes} processes")
    if args.json:
        Path(args.json).write_text(json.dumps([
            {"construct": u.construct.name, "kind": u.construct.kind, "pages": u.pages, "sites": u.sites,
             "flag": u.flag, "raised": u.raised, "note": u.construct.note, "error": u.error} for u in usages],
            ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
