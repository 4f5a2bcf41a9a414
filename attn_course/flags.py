"""Flags for the instructor: code in a submission that deserves a human look.

:func:`scan_notebook` reads every code cell a student could write in (all but the locked and the
test cells, which nbgrader restores from the source before grading) and reports, per cell:

* ``imports-reference``: the course's reference library or its factory is imported or used
  (``attn_course.modules``, ``create_attention``, ``attention_class``, ``attn_course.models``,
  ``attn_course.detection``, whose metrics are the capstone's answers);
* ``patches-module``: an attribute of an imported module or class is assigned or deleted
  (``torch.allclose = ...``, ``checks.check_close = ...``), or ``setattr`` / ``sys.modules`` is used;
* ``rebinds-name``: a name the tests rely on (``torch``, ``checks``, a built-in such as
  ``isinstance``) is bound to something else;
* ``ipython-internals``: IPython's shell or Python's hooks are touched (``get_ipython``,
  ``showtraceback``, ``sys.excepthook``, ``sys.settrace``);
* ``kernel-exit``: the kernel is ended (``sys.exit``, ``os._exit``, ``exit()``, ``os.kill``);
* ``writes-files``: files are written, moved or deleted (``open(..., "w")``, ``write_text``,
  ``os.remove``, ``shutil``), which could reach the grader's own files;
* ``fakes-values``: a tensor subclass (``__torch_function__``, ``as_subclass``), or a number, string
  or container (list, tuple, dict, set, …) whose comparisons are overridden: the ways to make a
  wrong result compare equal;
* ``uses-test-code``: a function or class defined in a test cell (which computes expected
  answers) is used in a cell the student wrote.

Flags never change a score (the graded tests do that); they tell the instructor where to look.
A cell that cannot be parsed is scanned as text.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

__all__ = ["scan_notebook", "scan_source"]

_REFERENCE_MODULES = ("attn_course.modules", "attn_course.models", "attn_course.registry",
                      "attn_course.mine", "attn_course.detection")
_REFERENCE_NAMES = {"create_attention", "attention_class", "modules", "models", "registry", "detection"}
_GUARDED_NAMES = {"torch", "nn", "F", "checks", "attn_course", "get_ipython"} | {
    name for name in dir(builtins) if not name.startswith("_") and name[0].islower()}
_ALWAYS_MODULES = ("torch", "nn", "F", "checks", "attn_course", "einops", "builtins", "sys", "os",
                   "IPython", "np", "numpy", "math", "viz", "timing", "importlib", "types")
_HOOKS = {"excepthook", "displayhook", "settrace", "setprofile", "showtraceback",
          "_showtraceback", "run_cell", "run_cell_async", "showsyntaxerror"}
_FILE_WRITERS = {"write_text", "write_bytes", "unlink", "rmtree", "remove", "rename", "replace",
                 "copy", "copyfile", "copy2", "copytree", "move", "truncate"}
_EXITS = {("sys", "exit"), ("os", "_exit"), ("os", "kill"), ("os", "abort"), ("os", "killpg"),
          ("signal", "raise_signal"), ("signal", "pthread_kill"), ("os", "execv"), ("os", "execl")}


def scan_notebook(path, release=None) -> list[str]:
    """Flags for one notebook file, as ``"kind (cell ID)"`` strings, in cell order.

    ``release``: the notebook as handed out; cells whose code is exactly one of its cells (the
    course's own demonstrations, which may well use the reference library) are not the student's
    and are skipped.
    """
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    test_names = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            tree, _ = _parse(cell.source)
            test_names |= {node.name for node in ast.walk(tree) if isinstance(
                node, (ast.FunctionDef, ast.ClassDef))} if tree else set()
    handed_out = set()
    if release is not None and Path(release).is_file():
        handed_out = {c.source.strip() for c in nbformat.read(str(release), as_version=4).cells
                      if c.cell_type == "code"}
    imported = set(_ALWAYS_MODULES)
    for cell in nb.cells:
        if cell.cell_type == "code":
            imported |= _imported_names(cell.source)
    found = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade") or meta.get("locked") or \
                cell.source.strip() in handed_out:
            continue
        where = meta.get("grade_id") or f"cell {index}"
        found += [f"{kind} ({where})" for kind in scan_source(cell.source, imported, test_names)]
    return found


def _parse(source: str):
    source = "\n".join(line for line in source.splitlines()
                       if not line.lstrip().startswith(("%", "!")))  # IPython magics
    try:
        return ast.parse(source), source
    except SyntaxError:
        return None, source


def _imported_names(source: str) -> set[str]:
    tree, _ = _parse(source)
    names = set()
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def scan_source(source: str, module_names=frozenset(), test_names=frozenset()) -> list[str]:
    """The kinds of flag one cell's source raises, each once, sorted.

    ``module_names``: names bound by imports elsewhere in the notebook (assigning an attribute of
    one of them is patching; assigning an attribute of your own object is not). ``test_names``:
    functions and classes the notebook's test cells define.
    """
    tree, source = _parse(source)
    if tree is None:
        return _scan_text(source)
    visitor = _Visitor(set(module_names) | set(_ALWAYS_MODULES) | _imported_names(source))
    visitor.visit(tree)
    defined = {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    if any(isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in test_names
           and node.id not in defined for node in ast.walk(tree)):
        visitor.kinds.add("uses-test-code")
    return sorted(visitor.kinds)


def _scan_text(source: str) -> list[str]:
    kinds = set()
    if re.search(r"attn_course\.(modules|models|registry|detection)|create_attention|attention_class", source):
        kinds.add("imports-reference")
    if re.search(r"get_ipython|showtraceback|excepthook|settrace|setprofile", source):
        kinds.add("ipython-internals")
    if re.search(r"sys\.exit|os\._exit|os\.kill|\bexit\(|\bquit\(", source):
        kinds.add("kernel-exit")
    return sorted(kinds)


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


# Subclassing one of these and overriding how it compares is how a wrong answer is made to compare
# equal to the right one (``class Always(int): def __eq__(...): return True``).
_VALUE_TYPES = {"int", "float", "bool", "complex", "Tensor", "str", "bytes", "list", "tuple",
                "dict", "set", "frozenset", "Fraction", "Decimal", "ndarray", "OrderedDict",
                "defaultdict", "Counter", "UserList", "UserDict", "UserString"}
_COMPARISON_METHODS = {"__eq__", "__ne__", "__bool__", "__lt__", "__le__", "__gt__", "__ge__",
                       "__float__", "__int__", "__index__", "__abs__", "__sub__", "__rsub__",
                       "__len__", "__contains__", "__hash__", "__iter__", "__getitem__"}

class _Visitor(ast.NodeVisitor):
    def __init__(self, module_names: set[str]):
        self.modules = module_names
        self.kinds: set[str] = set()
        self.depth = 0  # inside a function or class body, names are local

    # imports of the reference
    def visit_Import(self, node):
        for alias in node.names:
            if alias.name.startswith(_REFERENCE_MODULES):
                self.kinds.add("imports-reference")
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if module.startswith(_REFERENCE_MODULES) or (
                module == "attn_course" and any(a.name in _REFERENCE_NAMES for a in node.names)):
            self.kinds.add("imports-reference")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        dotted = _dotted(node)
        if dotted.startswith(_REFERENCE_MODULES) or node.attr in ("create_attention", "attention_class"):
            self.kinds.add("imports-reference")
        if node.attr in _HOOKS:
            self.kinds.add("ipython-internals")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in ("create_attention", "attention_class"):
            self.kinds.add("imports-reference")
        if node.id == "get_ipython":
            self.kinds.add("ipython-internals")
        if isinstance(node.ctx, ast.Store) and node.id in _GUARDED_NAMES and not self.depth:
            self.kinds.add("rebinds-name")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and re.search(
                r"attn_course\.(modules|models|registry|detection)", node.value):
            self.kinds.add("imports-reference")  # importlib.import_module("attn_course.modules...")

    # patching
    def _target(self, target):
        if isinstance(target, ast.Attribute) and _dotted(target.value).split(".")[0] in self.modules:
            self.kinds.add("patches-module")
        elif isinstance(target, ast.Subscript) and _dotted(target.value) == "sys.modules":
            self.kinds.add("patches-module")
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target(element)

    def visit_Assign(self, node):
        for target in node.targets:
            self._target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self._target(target)
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        self.depth += 1
        for child in node.body:
            self.visit(child)
        self.depth -= 1
        if node.name in _GUARDED_NAMES and not self.depth:
            self.kinds.add("rebinds-name")
        for decorator in node.decorator_list:
            self.visit(decorator)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        bases = {_dotted(b).split(".")[-1] for b in node.bases}
        methods = {c.name for c in node.body if isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if "__torch_function__" in methods or "__torch_dispatch__" in methods or (
                bases & _VALUE_TYPES and methods & _COMPARISON_METHODS):
            self.kinds.add("fakes-values")
        if node.name in _GUARDED_NAMES and not self.depth:
            self.kinds.add("rebinds-name")
        for child in node.bases + node.keywords + node.decorator_list:
            self.visit(child)
        self.depth += 1
        for child in node.body:
            self.visit(child)
        self.depth -= 1

    def visit_Call(self, node):
        name = _dotted(node.func)
        if name in ("setattr", "delattr", "builtins.setattr", "object.__setattr__"):
            args = node.args
            if args and _dotted(args[0]).split(".")[0] in self.modules:
                self.kinds.add("patches-module")
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("as_subclass", "_make_subclass"):
            self.kinds.add("fakes-values")
        if name in ("exit", "quit") or tuple(name.split(".")[-2:]) in _EXITS:
            self.kinds.add("kernel-exit")
        if name == "open" and self._writes(node) or (
                "." in name and name.rsplit(".", 1)[1] in _FILE_WRITERS and
                name.split(".")[0] in {"os", "shutil", "pathlib", "Path"} | self.modules) or (
                isinstance(node.func, ast.Attribute) and node.func.attr in ("write_text", "write_bytes")):
            self.kinds.add("writes-files")
        if name.endswith("import_module") or name == "__import__":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and str(arg.value).startswith(_REFERENCE_MODULES):
                    self.kinds.add("imports-reference")
        self.generic_visit(node)

    @staticmethod
    def _writes(node) -> bool:
        """``open(path, mode)`` with a mode that writes, appends or creates."""
        modes = [a for a in node.args[1:2]] + [k.value for k in node.keywords if k.arg == "mode"]
        return any(isinstance(m, ast.Constant) and isinstance(m.value, str) and set(m.value) & set("wax+")
                   for m in modes)

    def visit_Raise(self, node):
        if node.exc is not None and _dotted(getattr(node.exc, "func", node.exc)) in (
                "SystemExit", "KeyboardInterrupt"):
            self.kinds.add("kernel-exit")
        self.generic_visit(node)


