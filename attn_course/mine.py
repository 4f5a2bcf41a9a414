"""Your modules: save what you wrote in a notebook, use it in the next ones.

Once your ``SEBlock`` passes its checks, save it under a short name::

    import attn_course.mine
    attn_course.mine.save(SEBlock, "se")

This writes ``my_modules/se.py``: a small Python module with your class, the helper functions and
classes of your notebook that it uses (``squeeze`` …), the constants it reads and the imports it
needs. Later notebooks build it by its name::

    from attn_course import create_attention
    se = create_attention("se", 256, impl="mine")     # yours; the reference if you have not saved one
    squeeze = attn_course.mine.load("squeeze")        # any saved class or function

Saving again replaces the file; the earlier version is kept in ``my_modules/previous/``.
``saved()`` lists what is saved, ``folder()`` says where.

Where the files go:

* the folder named by the environment variable ``ATTN_COURSE_MINE``, if it is set (created if missing);
* otherwise ``my_modules/`` in the course folder: the nearest folder, from the current working
  directory upwards, that holds ``nbgrader_config.py`` or a ``notebooks/`` folder;
* otherwise ``~/.attn_course/my_modules``.

While nbgrader grades a notebook (it sets ``NBGRADER_EXECUTION``), ``save`` writes nothing.
"""

from __future__ import annotations

import ast
import builtins
import datetime
import importlib.util
import inspect
import linecache
import math
import os
import re
import symtable
import sys
import textwrap
import time
import traceback
import types
from pathlib import Path

__all__ = ["ENV_FOLDER", "folder", "save", "load", "saved"]

ENV_FOLDER = "ATTN_COURSE_MINE"
_GRADING_ENV = "NBGRADER_EXECUTION"
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_MODULE_PREFIX = "attn_course_mine_"
_CACHE: dict[Path, tuple[bytes, object]] = {}      # path -> (file contents, the object it saved)
_SHOWN: set[tuple[str, object]] = set()            # (notice, IPython execution count) already printed


# ---------------------------------------------------------------------------------------------------
# Where


def folder() -> Path:
    """The folder your modules are saved in (see the module docstring for how it is chosen)."""
    chosen = os.environ.get(ENV_FOLDER)
    if chosen:
        path = Path(chosen).expanduser().absolute()
        path.mkdir(parents=True, exist_ok=True)
        return path
    root = _course_root()
    if root is not None:
        return root / "my_modules"
    return Path.home() / ".attn_course" / "my_modules"


def _course_root() -> Path | None:
    """The nearest folder, from the working directory up, with ``nbgrader_config.py`` or ``notebooks/``."""
    here = Path.cwd()
    for candidate in (here, *here.parents):
        if (candidate / "nbgrader_config.py").is_file() or (candidate / "notebooks").is_dir():
            return candidate
    return None


def saved() -> dict[str, Path]:
    """What is saved: ``{key: path of its file}``, sorted by key."""
    where = folder()
    if not where.is_dir():
        return {}
    return {path.stem: path for path in sorted(where.glob("*.py")) if _KEY.fullmatch(path.stem)}


def _check_key(key) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(
            f"the name to save under must be a short lowercase name such as \"se\" or \"my_cbam\" "
            f"(a letter a-z, then letters, digits or _), got {key!r}")
    return key


# ---------------------------------------------------------------------------------------------------
# Saving


def save(obj, key: str, *, quiet: bool = False) -> None:
    """Save the class or function ``obj`` you defined in this notebook as ``<folder>/<key>.py``.

    The file holds the imports ``obj`` needs, the constants it reads, the source of the notebook's
    functions and classes it uses (and those they use), and ``obj`` itself. It is imported once before
    it is written, so a saved file always loads. An existing different file is moved to
    ``previous/<key>-<date>-<time>.py`` first.

    Prints where it saved (``saved()`` lists every saved file) and returns nothing, so a cell that
    ends with the call shows only that line. While nbgrader grades the notebook nothing is written.
    ``quiet=True`` prints nothing.
    """
    if _GRADING_ENV in os.environ:
        _say("(grading: your module is not saved)", quiet)
        return None
    _check_key(key)
    _check_saveable(obj)
    target = folder() / f"{key}.py"
    text = _module_text(obj, key)
    _try_import(text, key, obj.__name__)

    target.parent.mkdir(parents=True, exist_ok=True)
    moved = None
    if target.exists():
        if _body(target.read_text(encoding="utf-8")) == _body(text):
            _say(f"✓ your {obj.__name__} is already saved in {target} (unchanged)", quiet)
            return None
        moved = _keep_previous(target)
    _write(target, text)
    kept = f" (the version saved before is now {moved.relative_to(target.parent)})" if moved else ""
    _say(f"✓ saved your {obj.__name__} as \"{key}\" in {target}{kept}; "
         f"later notebooks load it with {_how_to_load(obj, key)}", quiet)
    return None


def _say(line: str, quiet: bool) -> None:
    if not quiet:
        print(line)


def _check_saveable(obj) -> None:
    """``obj`` must be a named class or function that a notebook cell defined at its top level."""
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        raise TypeError(
            f"save takes the class or function itself (e.g. save(SEBlock, \"se\"), not save(SEBlock(64), "
            f"\"se\")), got {_describe(obj)}")
    name = obj.__name__
    if not _is_yours(obj):
        raise ValueError(
            f"save keeps what you wrote in this notebook, but {name} comes from the module "
            f"{obj.__module__}; define {name} in a cell of the notebook and save that")
    if name == "<lambda>":
        raise ValueError("save cannot keep a lambda: write it as `def name(...):` in a cell and save that")
    if "<locals>" in obj.__qualname__:
        raise ValueError(
            f"{name} was made inside another function ({obj.__qualname__}); save can only keep "
            "classes and functions defined at the top level of a cell")


def _is_yours(obj) -> bool:
    """Defined in the notebook, or loaded from a saved module (whose source is copied again)."""
    module = getattr(obj, "__module__", None) or ""
    return module == "__main__" or module.startswith(_MODULE_PREFIX)


def _how_to_load(obj, key: str) -> str:
    from .registry import REGISTRY

    if inspect.isclass(obj) and key in REGISTRY:
        return f'create_attention("{key}", C, impl="mine")'
    return f'attn_course.mine.load("{key}")'


def _module_text(obj, key: str) -> str:
    """The text of the saved module: header comment, imports, constants, helpers, ``obj``, ``SAVED``."""
    parts = _Collector(obj)
    parts.visit(obj)
    kind = "class" if inspect.isclass(obj) else "function"
    helpers = [name for name, _ in parts.definitions if name != obj.__name__]
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    header = [
        f"# Your {obj.__name__}, saved by attn_course.mine.save({obj.__name__}, \"{key}\") on {stamp}",
        f"# from the {kind} {obj.__name__} in your notebook"
        + (f", with the helpers it uses: {', '.join(helpers)}." if helpers else "."),
        f"# Load it with {_how_to_load(obj, key)}. Change it in the notebook and save it again;",
        "# the version saved before is kept in previous/.",
    ]
    imports = _import_lines(parts.imports)
    constants = "\n".join(f"{name} = {text}" for name, text in sorted(parts.constants.items()))
    definitions = "\n\n\n".join(source.rstrip() for _, source in parts.definitions)
    if parts.aliases:
        definitions += "\n\n" + "\n".join(parts.aliases)
    preamble = "\n\n".join(block for block in ("\n".join(header), imports, constants) if block)
    return f'{preamble}\n\n\n{definitions}\n\n\nSAVED = "{obj.__name__}"\n'


def _import_lines(imports: dict[str, tuple[str, str | None]]) -> str:
    """``import torch`` lines first, then one ``from module import a, b as c`` line per module."""
    plain, from_lines = [], {}
    for name, (module, attribute) in imports.items():
        if attribute is None:
            plain.append(f"import {module}" if module == name else f"import {module} as {name}")
        else:
            from_lines.setdefault(module, []).append(attribute if attribute == name else f"{attribute} as {name}")
    lines = sorted(plain) + [f"from {module} import {', '.join(sorted(names))}"
                             for module, names in sorted(from_lines.items())]
    return "\n".join(lines)


def _body(text: str) -> str:
    """``text`` without its leading comment lines, so a new timestamp alone is not a change."""
    lines = text.splitlines()
    start = 0
    while start < len(lines) and (lines[start].startswith("#") or not lines[start].strip()):
        start += 1
    return "\n".join(lines[start:]).strip()


def _try_import(text: str, key: str, name: str) -> None:
    """Compile and run the module text in a fresh namespace; raise if it fails (nothing is written)."""
    filename = f"<your {key}.py, not saved>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    try:
        namespace = {"__name__": f"{_MODULE_PREFIX}{key}_check", "__builtins__": builtins}
        exec(compile(text, filename, "exec"), namespace)
        if name not in namespace:
            raise NameError(f"{name} is not defined by the saved text")
    except Exception as exc:
        raise RuntimeError(
            f"your {name} was not saved: the file it would be saved as does not import "
            f"({type(exc).__name__}: {exc}). Nothing was written.") from exc
    finally:
        linecache.cache.pop(filename, None)


def _keep_previous(target: Path) -> Path:
    """Move ``target`` to ``previous/<key>-<its save time>[-n].py``, never over an existing file."""
    previous = target.parent / "previous"
    previous.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(target.stat().st_mtime))
    destination = previous / f"{target.stem}-{stamp}.py"
    n = 1
    while destination.exists():
        destination = previous / f"{target.stem}-{stamp}-{n}.py"
        n += 1
    target.rename(destination)
    return destination


def _write(target: Path, text: str) -> None:
    """Write through a temporary file, so a half-written module is never left behind."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)


# ---------------------------------------------------------------------------------------------------
# What a class or function needs


class _Collector:
    """Walks ``obj`` and the notebook definitions it uses, sorting each global name it reads into an
    import, a constant, or a definition to copy (dependencies before the code that uses them)."""

    def __init__(self, obj):
        self.top = obj
        self.imports: dict[str, tuple[str, str | None]] = {}   # name -> (module, attribute or None)
        self.constants: dict[str, str] = {}      # name -> Python literal
        self.definitions: list[tuple[str, str]] = []   # (name, source), dependencies first
        self.aliases: list[str] = []             # "other_name = defined_name"
        self._state: dict[int, str] = {}         # id(definition) -> "visiting" or "done"
        self._handled: set[str] = set()

    def visit(self, obj) -> None:
        if id(obj) in self._state:
            return
        self._state[id(obj)] = "visiting"
        source = _source_of(obj)
        namespace = _globals_of(obj)
        for name in _global_names(source):
            if name == obj.__name__ or name in self._handled or _is_dunder(name):
                continue
            if name in namespace:
                self._handled.add(name)
                self._add(name, namespace[name], user=obj.__name__)
            elif not hasattr(builtins, name):
                raise ValueError(
                    f"{obj.__name__} uses the name `{name}`, which is not defined in this notebook: "
                    f"define it (or remove it) and save again")
        self.definitions.append((obj.__name__, source))
        self._state[id(obj)] = "done"

    def _add(self, name: str, value, user: str) -> None:
        if isinstance(value, types.ModuleType):
            self.imports[name] = (value.__name__, None)
            return
        literal = _literal(value)
        if literal is not None:
            self.constants[name] = literal
            return
        if (inspect.isclass(value) or inspect.isfunction(value)) and _is_yours(value):
            try:
                _check_saveable(value)
            except ValueError as exc:
                raise ValueError(f"{user} uses `{name}`: {exc}") from None
            self.visit(value)
            if value.__name__ != name:
                self.aliases.append(f"{name} = {value.__name__}")
            return
        found = _import_path(value, name, _globals_of(self.top))
        if found is not None:
            self.imports[name] = found
            return
        raise ValueError(
            f"{user} uses the global `{name}` ({_describe(value)}) from your notebook, which cannot be "
            f"saved with it: make it an argument (e.g. of __init__ or the function) or a constant "
            f"(a number, string, bool or tuple of them), then save again")


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _describe(value) -> str:
    kind = type(value).__name__
    if hasattr(value, "shape"):
        return f"a {kind} of shape {tuple(value.shape)}"
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    return f"{article} {kind}"


_SIMPLE = (bool, int, float, complex, str, bytes, type(None))


def _literal(value) -> str | None:
    """Python source that rebuilds ``value`` if it is a simple constant (numbers, strings, bools, None,
    and tuples, lists and dicts of them); ``None`` otherwise."""
    kind = type(value)
    if kind is float and not math.isfinite(value):
        return f'float("{value}")'
    if kind in _SIMPLE:
        return repr(value)
    if kind in (tuple, list):
        items = [_literal(item) for item in value]
        if any(item is None for item in items):
            return None
        inside = ", ".join(items) + ("," if kind is tuple and len(items) == 1 else "")
        return f"({inside})" if kind is tuple else f"[{inside}]"
    if kind is dict:
        pairs = [(_literal(k), _literal(v)) for k, v in value.items()]
        if any(k is None or v is None for k, v in pairs):
            return None
        return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    return None


def _import_path(value, name: str, notebook: dict) -> tuple[str, str] | None:
    """``(module, attribute)`` such that ``from module import attribute`` gives ``value``, or ``None``.

    Tries the module ``value`` says it comes from and its parent packages (the shortest first, so
    ``einops.einops.rearrange`` is imported from ``einops``), then every imported public module.
    """
    attributes = []
    for attribute in (getattr(value, "__name__", None), name):
        if isinstance(attribute, str) and attribute.isidentifier() and attribute not in attributes:
            attributes.append(attribute)
    if not attributes:
        return None

    def holder(module_name: str) -> str | None:
        namespace = getattr(sys.modules.get(module_name), "__dict__", None)
        if not isinstance(namespace, dict) or namespace is notebook:
            return None
        return next((a for a in attributes if namespace.get(a, _MISSING) is value), None)

    home = getattr(value, "__module__", None)
    if isinstance(home, str) and home != "__main__" and not home.startswith(_MODULE_PREFIX):
        parts = home.split(".")
        for n in range(1, len(parts) + 1):
            candidate = ".".join(parts[:n])
            attribute = holder(candidate)
            if attribute is not None:
                return candidate, attribute

    def preference(module_name: str):
        private = any(part.startswith("_") for part in module_name.split("."))
        return private, module_name.count("."), len(module_name), module_name

    candidates = [m for m in list(sys.modules)
                  if m not in ("__main__", "__mp_main__") and not m.startswith(_MODULE_PREFIX)]
    for candidate in sorted(candidates, key=preference):
        attribute = holder(candidate)
        if attribute is not None:
            return candidate, attribute
    return None


_MISSING = object()


def _global_names(source: str) -> list[str]:
    """The global names ``source`` (one top-level ``def`` or ``class``) reads, in order of appearance.

    ``symtable`` does the scoping: parameters, local variables, comprehension variables and names
    assigned in the class body are not global; a method's free names, base classes, decorators,
    default values and annotations are.
    """
    names: dict[str, None] = {}

    def walk(scope, top: bool) -> None:
        for symbol in scope.get_symbols():
            if top:
                wanted = symbol.is_referenced() and not symbol.is_assigned()
            else:
                wanted = symbol.is_global() and (symbol.is_referenced() or symbol.is_declared_global())
            if wanted:
                names.setdefault(symbol.get_name())
        for child in scope.get_children():
            walk(child, False)

    walk(symtable.symtable(source, "<your code>", "exec"), True)
    return list(names)


def _globals_of(obj) -> dict:
    """The namespace ``obj``'s names are looked up in: its (methods') ``__globals__``, else its module's."""
    for function in _functions_of(obj):
        if function.__globals__.get("__name__") == obj.__module__:   # not a decorator's wrapper
            return function.__globals__
    return vars(sys.modules.get(obj.__module__) or sys.modules["__main__"])


def _functions_of(obj) -> list[types.FunctionType]:
    """Python functions whose code lies in ``obj``'s definition: the function itself, or a class's
    methods, static and class methods and property accessors (each also unwrapped from decorators)."""
    if inspect.isfunction(obj):
        members = [obj]
    else:
        members = []
        for member in vars(obj).values():
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if isinstance(member, property):
                members += [f for f in (member.fget, member.fset, member.fdel) if f is not None]
            else:
                members.append(getattr(member, "func", member))   # functools.cached_property
    functions = []
    for member in members:
        for candidate in (_unwrap(member), member):
            if isinstance(candidate, types.FunctionType) and candidate not in functions:
                functions.append(candidate)
    return functions


def _unwrap(function):
    try:
        return inspect.unwrap(function)
    except ValueError:
        return function


# ---------------------------------------------------------------------------------------------------
# Finding the source of a notebook definition


def _source_of(obj) -> str:
    """The dedented source of the top-level ``class``/``def`` that made ``obj`` (decorators included).

    ``inspect.getsource`` fails for classes defined in a notebook on Python 3.11, so: find the cell
    (IPython keeps every cell's code in ``linecache``) through the code of a function defined in the
    definition, and take the definition whose lines hold that function; failing that (a class without
    methods), the newest cell in IPython's input history that defines the name.
    """
    kind = (ast.ClassDef,) if inspect.isclass(obj) else (ast.FunctionDef, ast.AsyncFunctionDef)
    for function in _functions_of(obj):
        code = function.__code__
        source = _definition_in(linecache.getlines(code.co_filename), obj.__name__, kind, code.co_firstlineno)
        if source is not None:
            return source
    for cell in _input_history():
        source = _definition_in(cell.splitlines(keepends=True), obj.__name__, kind, None)
        if source is not None:
            return source
    what = "class" if inspect.isclass(obj) else "function"
    raise ValueError(
        f"could not find the source of your {what} {obj.__name__}: save reads it from the cells of "
        f"this notebook, so run the cell that defines {obj.__name__} in this notebook (not in a file "
        f"or with exec) and call save again")


def _definition_in(lines: list[str], name: str, kind: tuple, line: int | None) -> str | None:
    """The source of the last top-level definition of ``name`` in ``lines`` whose lines hold ``line``
    (any, if ``line`` is None)."""
    if not lines:
        return None
    tree = _parse("".join(lines))
    if tree is None:
        return None
    for node in reversed(tree.body):
        if isinstance(node, kind) and node.name == name:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if line is None or start <= line <= node.end_lineno:
                end = _end_with_comments(lines, node.end_lineno)
                return textwrap.dedent("".join(lines[start - 1:end])).rstrip() + "\n"
    return None


def _end_with_comments(lines: list[str], end: int) -> int:
    """``end`` moved past the indented comment lines that close the body (``# END SOLUTION`` …)."""
    last = end
    for number in range(end + 1, len(lines) + 1):
        text = lines[number - 1]
        if not text.strip():
            continue
        if text[:1].isspace() and text.lstrip().startswith("#"):
            last = number
        else:
            break
    return last


def _parse(text: str) -> ast.Module | None:
    """``ast.parse(text)``; cells with IPython syntax (``%time`` …) are transformed first."""
    try:
        return ast.parse(text)
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(text))
    except Exception:
        return None


def _input_history() -> list[str]:
    """The cells run in this IPython session, newest first (empty outside IPython); a cell run through
    a cell magic (``%%time`` …) counts as the code inside it."""
    shell = _ipython()
    cells = shell.user_ns.get("In", []) if shell is not None else []
    history = []
    for cell in reversed(cells):
        if isinstance(cell, str) and cell.strip():
            history.append(cell)
            history.extend(_cell_magic_bodies(cell))
    return history


def _cell_magic_bodies(cell: str) -> list[str]:
    """The code of ``get_ipython().run_cell_magic(name, line, code)`` calls in a transformed cell."""
    if "run_cell_magic" not in cell:
        return []
    try:
        tree = ast.parse(cell)
    except SyntaxError:
        return []
    return [node.args[2].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "run_cell_magic" and len(node.args) == 3
            and isinstance(node.args[2], ast.Constant) and isinstance(node.args[2].value, str)]


def _ipython():
    module = sys.modules.get("IPython")
    get = getattr(module, "get_ipython", None)
    return get() if get is not None else None


# ---------------------------------------------------------------------------------------------------
# Loading


def load(key: str, *, fallback=None):
    """Your saved class or function ``key`` (from ``<folder>/<key>.py``).

    Without a saved file: returns ``fallback`` after a one-line notice, or raises ``FileNotFoundError``
    if there is no fallback. A saved file that fails to import: its error is printed, then the same
    notice, and ``fallback`` is returned (or the error raised if there is none). The file is imported
    again whenever its contents change, so a new save is picked up.
    """
    _check_key(key)
    where = folder()
    path = where / f"{key}.py"
    if not path.is_file():
        reason = f"no saved \"{key}\" in {where} yet"
        if fallback is None:
            raise FileNotFoundError(f"{reason}: save yours with {_save_hint(key, None)}")
        _notice(f"ℹ {reason}: using the reference {_name(fallback)} (save yours with {_save_hint(key, fallback)})")
        return fallback
    try:
        return _import_saved(key, path)
    except Exception as exc:
        if fallback is None:
            raise
        _notice(f"✗ your saved \"{key}\" did not load:\n{_format_error(exc)}"
                f"ℹ using the reference {_name(fallback)} instead (fix yours, then save it again with "
                f"{_save_hint(key, fallback)})")
        return fallback


def _import_saved(key: str, path: Path):
    """Import ``path`` as the module ``attn_course_mine_<key>`` and return the object its ``SAVED`` names.

    The module is registered in ``sys.modules`` (so pickling and ``inspect.getsource`` find it) and
    reused while the file's contents stay the same. The code is compiled from the bytes read here, not
    from a bytecode cache, so a save within the same second is never missed.
    """
    data = path.read_bytes()
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == data:
        return cached[1]
    name = f"{_MODULE_PREFIX}{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    before = sys.modules.get(name)
    sys.modules[name] = module
    linecache.cache.pop(str(path), None)      # tracebacks show this version's lines
    try:
        exec(compile(data, str(path), "exec"), module.__dict__)
        saved_name = getattr(module, "SAVED", None)
        if not isinstance(saved_name, str) or not hasattr(module, saved_name):
            raise ImportError(
                f"{path} does not say what it saved: it should end with a line SAVED = \"<name>\" naming "
                f"the class or function it defines (got SAVED = {saved_name!r})")
    except BaseException:
        if before is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = before
        raise
    obj = getattr(module, saved_name)
    _CACHE[path] = (data, obj)
    return obj


def _format_error(exc: BaseException) -> str:
    """The traceback of ``exc`` without importlib's and this module's frames."""
    details = traceback.TracebackException.from_exception(exc)
    details.stack = traceback.StackSummary.from_list(
        [frame for frame in details.stack
         if not frame.filename.startswith("<frozen") and frame.filename != __file__])
    return "".join(details.format())


def _notice(text: str) -> None:
    """Print ``text``; in IPython, only once per cell run (a model asks for a module once per block)."""
    shell = _ipython()
    if shell is not None:
        seen = (text, getattr(shell, "execution_count", None))
        if seen in _SHOWN:
            return
        _SHOWN.add(seen)
    print(text)


def _name(obj) -> str:
    return getattr(obj, "__name__", None) or type(obj).__name__


def _save_hint(key: str, fallback) -> str:
    """``attn_course.mine.save(SEBlock, "se") in notebook 01`` (as far as it is known)."""
    from .registry import REGISTRY

    if fallback is not None:
        name = _name(fallback)
    elif key in REGISTRY:
        name = REGISTRY[key].class_name
    else:
        name = "YourClass"
    number = _notebook_number(key)
    where = f"in notebook {number}" if number else "in its notebook"
    return f"attn_course.mine.save({name}, \"{key}\") {where}"


def _notebook_number(key: str) -> str | None:
    """``"01"`` if the course folder has a notebook (or folder) named like ``01_<key>``."""
    root = _course_root()
    if root is None:
        return None
    pattern = re.compile(rf"(\d+)_{re.escape(key)}(\.ipynb)?")
    for place in (root / "notebooks", root / "source", root / "release", root):
        try:
            entries = sorted(place.iterdir()) if place.is_dir() else []
        except OSError:
            continue
        for entry in entries:
            match = pattern.fullmatch(entry.name)
            if match:
                return match.group(1)
    return None
