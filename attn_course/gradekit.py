"""What the notebooks' hidden tests use: a sealed copy of the grading tools, own-work checks, and
comparisons of values and gradients.

A hidden test cell starts with ::

    _kit = __import__("attn_course.gradekit", fromlist=["fresh"]).fresh(globals())

``fresh`` executes this file again into a new module object, so nothing a solution cell did to the
imported ``attn_course`` modules (replacing ``checks.check_close`` with a no-op, say) reaches the
copy the test uses. The copy then looks for the other ways a notebook can disarm an in-kernel
grader (functions of ``torch``, ``attn_course`` or ``builtins`` replaced by code written in the
notebook, IPython's traceback machinery overridden, the names a test uses rebound) and fails the
test when it finds one, so such a notebook *loses* the points instead of gaining them.

Own work: :meth:`Kit.own_class` / :meth:`Kit.own_function` accept only what was written in a
notebook cell (not the reference, an import from a package, a subclass of or a wrapper around a
reference module); :meth:`Kit.call` and :meth:`Kit.grads` run the student's code while watching
which Python code runs, and fail if any of the reference library's code does.

Nothing here knows an answer: the expected values come from definitions written in the test cells.
"""

from __future__ import annotations

import builtins
import functools
import linecache
import os
import re
import sys
import types

import torch

__all__ = ["fresh", "Kit", "GradingIntegrityError"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_THIS_FILE = os.path.join(_PACKAGE_DIR, "gradekit.py")
# The reference library: a student's graded code must not run any of it.
_REFERENCE_PARTS = ("modules", "models", "registry.py", "mine.py", "detection")
_CELL_FILE = re.compile(r"(^<ipython-input-\d+-[0-9a-f]+>$)|([\\/]ipykernel_\d+[\\/]\d+\.py$)")

# Names a hidden test reads from the notebook's namespace, and what they must be. (Other names,
# einops' `reduce` say, are the student's to rebind: no hidden test reads them.)
_EXPECTED_NAMES = {
    "torch": lambda: sys.modules.get("torch"),
    "nn": lambda: sys.modules.get("torch.nn"),
    "F": lambda: sys.modules.get("torch.nn.functional"),
    "attn_course": lambda: sys.modules.get("attn_course"),
    "checks": lambda: sys.modules.get("attn_course.checks"),
}
_BUILTINS_A_TEST_USES = (
    "abs", "all", "any", "bool", "callable", "dict", "enumerate", "float", "getattr", "hasattr",
    "int", "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min", "next", "print",
    "range", "repr", "round", "set", "sorted", "str", "sum", "super", "tuple", "type", "zip",
)
# Built-in torch functions a test compares with: each must still be the function of that name.
_TORCH_BUILTINS_A_TEST_USES = (
    "abs", "all", "allclose", "any", "argmax", "clone", "detach", "double", "eq", "equal", "flatten",
    "ge", "gt", "isclose", "isfinite", "isnan", "item", "le", "lt", "max", "min", "mul", "ne",
    "rand", "randn", "reshape", "sub", "sum", "to", "tolist",
)
_IPYTHON_METHODS = ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell",
                    "run_cell_async", "run_ast_nodes", "run_code", "transform_cell")


class GradingIntegrityError(AssertionError):
    """The notebook changed something the graded tests rely on, or graded code is not its own."""


# The pseudo-files of the test cells that asked for a kit: code defined there (the tests' own
# definitions, which compute the expected values) must never run inside a student's code.
TEST_CELL_FILES: set = set()


def fresh(namespace: dict | None = None) -> "Kit":
    """A new copy of this module, executed from its file, checked against ``namespace``.

    Raises :class:`GradingIntegrityError` when the notebook replaced grading code.
    """
    caller = sys._getframe(1).f_code.co_filename
    if _is_cell_file(caller):
        TEST_CELL_FILES.add(caller)
    with open(_THIS_FILE, encoding="utf-8") as fh:
        source = fh.read()
    module = types.ModuleType("attn_course._gradekit_fresh")
    module.__file__ = _THIS_FILE
    exec(compile(source, _THIS_FILE, "exec"), module.__dict__)
    module.GradingIntegrityError = GradingIntegrityError  # one exception class across copies
    module.TEST_CELL_FILES = TEST_CELL_FILES
    return module.Kit(namespace or {})


def probe(nonce: str) -> None:
    """Print ``nonce:clean``, or ``nonce:`` and what the notebook changed in how cells run.

    :class:`attn_course.autograde.GuardedExecute` runs this before every graded cell and reads the
    line back outside the kernel: a notebook that rewrites the test cells before they run (IPython
    input or AST transformers, event hooks, custom exception handlers, a tracer) cannot be caught
    from inside those cells, whose code it controls.
    """
    problems = _shell_hooks()
    try:
        fresh({})
    except GradingIntegrityError as error:
        problems.append(str(error))
    print(f"{nonce}:" + ("clean" if not problems else "; ".join(problems)))


def _shell_hooks() -> list[str]:
    """Hooks a notebook installed in IPython's machinery for running cells."""
    getipython = sys.modules.get("IPython.core.getipython")
    shell = getipython.get_ipython() if getipython else None
    found = []
    if shell is not None:
        for name in ("input_transformers_post", "input_transformers_cleanup", "ast_transformers"):
            if any(_written_in_notebook(item) for item in getattr(shell, name, [])):
                found.append(f"IPython's {name}")
        for event, callbacks in getattr(getattr(shell, "events", None), "callbacks", {}).items():
            if any(_written_in_notebook(c) for c in callbacks):
                found.append(f"an IPython {event} event hook")
        if getattr(shell, "custom_exceptions", ()):
            found.append("IPython's custom exception handler (set_custom_exc)")
        for part in ("input_transformer_manager", "compile", "displayhook", "display_pub"):
            obj = getattr(shell, part, None)
            if obj is not None and (any(_written_in_notebook(v) for v in vars(obj).values()) or any(
                    _written_in_notebook(v) for cls in type(obj).__mro__ for v in vars(cls).values())):
                found.append(f"IPython's {part}")
    if sys.gettrace() is not None:
        found.append("a trace function (sys.settrace)")
    if sys.getprofile() is not None:
        found.append("a profile function (sys.setprofile)")
    return found


def _is_cell_file(filename: str) -> bool:
    """True for the pseudo-files IPython compiles notebook cells into."""
    return bool(_CELL_FILE.search(filename or "")) or (
        filename in linecache.cache and not os.path.exists(filename) and not filename.startswith("<frozen"))


def _attribute(obj, name):
    """getattr that survives objects whose attribute lookup raises (some of torch's do)."""
    try:
        return getattr(obj, name, None)
    except Exception:  # noqa: BLE001
        return None


def _unwrap(function):
    """The function under decorators that keep ``__wrapped__`` (``@torch.no_grad()``, functools)."""
    for _ in range(10):
        inner = _attribute(function, "__wrapped__")
        if inner is None:
            break
        function = inner
    return function


def _written_in_notebook(obj) -> bool:
    """A function, method or class whose code comes from a notebook cell or its namespace."""
    if isinstance(obj, (staticmethod, classmethod, types.MethodType)):
        obj = obj.__func__
    if isinstance(obj, types.ModuleType):
        return False
    code = obj.__code__ if isinstance(obj, types.FunctionType) else None
    if code is not None:
        globals_name = obj.__globals__.get("__name__")
        return _is_cell_file(code.co_filename) or globals_name == "__main__"
    if isinstance(obj, type):
        return obj.__module__ == "__main__"
    if isinstance(obj, (types.BuiltinFunctionType, types.ModuleType, property)):
        return False
    # an instance of a class written in the notebook, e.g. a fake function object
    return type(obj).__module__ == "__main__"


def _fail(message: str):
    raise GradingIntegrityError(message)


def _exception_names(exception) -> str:
    """``ValueError``, or ``TypeError or ValueError`` for a tuple of exception classes."""
    classes = exception if isinstance(exception, tuple) else (exception,)
    return " or ".join(getattr(c, "__name__", str(c)) for c in classes)


class Kit:
    """The hidden tests' tools, bound to the notebook's namespace. See the module docstring."""

    def __init__(self, namespace: dict):
        self.ns = namespace
        self._verify_environment()

    # ----------------------------------------------------------------------------- integrity
    def _verify_environment(self) -> None:
        problems = []
        problems += self._replaced_in(builtins, "builtins")
        for name in ("setprofile", "getprofile", "modules"):
            if name == "modules":
                if not isinstance(sys.modules, dict):
                    problems.append("sys.modules")
            elif _written_in_notebook(getattr(sys, name, None)) or getattr(
                    getattr(sys, name, None), "__self__", None) is not sys:
                problems.append(f"sys.{name}")
        for name in list(sys.modules):
            module = sys.modules.get(name)
            if isinstance(module, types.ModuleType) and (
                    name in ("torch", "einops", "attn_course") or name.startswith(
                        ("torch.nn", "torch.testing", "torch.autograd", "einops.", "attn_course."))
                    or name == "torch._C._VariableFunctions"):
                problems += self._replaced_in(module, name)
            elif name.startswith(("torch", "attn_course", "einops")) and module is not None and not \
                    isinstance(module, types.ModuleType):
                problems.append(f"sys.modules[{name!r}]")
        for cls, label in ((torch.Tensor, "torch.Tensor"), (torch._C.TensorBase, "torch.Tensor"),
                           (torch.nn.Module, "torch.nn.Module")):
            problems += self._replaced_in(cls, label)
        for owner, label in ((torch, "torch"), (torch.Tensor, "torch.Tensor")):
            for name in _TORCH_BUILTINS_A_TEST_USES:
                value = vars(owner).get(name)
                if callable(value) and not isinstance(value, type) and \
                        _attribute(value, "__name__") != name:
                    problems.append(f"{label}.{name}")
        problems += self._checks_replaced()
        problems += self._ipython_replaced()
        problems += self._names_rebound()
        if problems:
            listed = ", ".join(sorted(set(problems))[:8])
            _fail(f"this notebook replaced {listed}, which the graded tests rely on, so this part "
                  "scores 0. Remove the code that reassigns or patches them, restart the kernel and "
                  "run all cells again.")

    @staticmethod
    def _replaced_in(owner, label: str) -> list[str]:
        found = []
        for name, value in list(vars(owner).items()):
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if _written_in_notebook(value):
                found.append(f"{label}.{name}")
            elif isinstance(value, type) and value.__module__ != "__main__" and label.startswith(
                    "attn_course") and value.__module__.startswith("attn_course"):
                found += [f"{label}.{name}.{attr}" for attr, member in vars(value).items()
                          if _written_in_notebook(member)]
        return found

    def _checks_replaced(self) -> list[str]:
        """attn_course.checks must hold exactly the functions its file defines.

        The fresh copy made here is the one the hidden tests use (``kit.checks``).
        """
        import attn_course.checks as imported  # noqa: PLC0415

        path = os.path.join(_PACKAGE_DIR, "checks.py")
        with open(path, encoding="utf-8") as fh:
            original: dict = {"__name__": "attn_course._checks_fresh"}
            exec(compile(fh.read(), path, "exec"), original)
        self.checks = types.SimpleNamespace(**{n: original[n] for n in original.get("__all__", [])})
        found = []
        for name in original.get("__all__", []):
            value, expected = _unwrap(getattr(imported, name, None)), _unwrap(original[name])
            code = getattr(value, "__code__", None)
            if code is None or code.co_filename != path or code.co_code != expected.__code__.co_code:
                found.append(f"attn_course.checks.{name}")
        attn = sys.modules.get("attn_course")
        if attn is not None and getattr(attn, "checks", imported) is not imported:
            found.append("attn_course.checks")
        return found

    @staticmethod
    def _ipython_replaced() -> list[str]:
        getipython = sys.modules.get("IPython.core.getipython")
        shell = getipython.get_ipython() if getipython else None
        if shell is None:
            return []
        found = [f"IPython's {name}" for name in _IPYTHON_METHODS
                 if _written_in_notebook(vars(shell).get(name))]
        for cls in type(shell).__mro__:
            found += [f"IPython's {name}" for name, value in vars(cls).items()
                      if _written_in_notebook(value)]
        return found

    def _names_rebound(self) -> list[str]:
        found = []
        for name, genuine in _EXPECTED_NAMES.items():
            if name in self.ns and self.ns[name] is not genuine():
                found.append(f"the name `{name}`")
        for name in _BUILTINS_A_TEST_USES:
            if name in self.ns and self.ns[name] is not getattr(builtins, name):
                found.append(f"the built-in `{name}`")
        return found

    # ----------------------------------------------------------------------------- own work
    def own_function(self, function, name: str) -> None:
        """``function`` must be a plain function written in a notebook cell."""
        if not isinstance(function, types.FunctionType):
            _fail(f"`{name}` should be a function defined in this notebook with `def {name}(...)`, "
                  f"but it is {type(function).__name__} {function!r}.")
        if not _written_in_notebook(function) or function.__module__ != "__main__":
            _fail(f"`{name}` comes from {function.__module__} ({function.__code__.co_filename}), not "
                  f"from this notebook: graded parts must be your own code, written in the cell, so "
                  "this part scores 0.")

    def own_class(self, cls, name: str) -> None:
        """``cls`` is written in the notebook: no base class and no method from any library but torch."""
        if not isinstance(cls, type):
            _fail(f"`{name}` should be a class defined in this notebook, got {type(cls).__name__}.")
        if cls.__module__ != "__main__":
            _fail(f"`{name}` is {cls.__module__}.{cls.__qualname__}, imported rather than written in "
                  "this notebook: graded parts must be your own code, so this part scores 0.")
        for base in cls.__mro__:
            if base is object:
                continue
            module = base.__module__ or ""
            if module == "__main__":
                for attr, member in vars(base).items():
                    if isinstance(member, (functools.partial, functools.partialmethod)):
                        _fail(f"`{name}.{attr}` is a functools.{type(member).__name__} of "
                              f"{getattr(member.func, '__qualname__', member.func)!r}: write the "
                              "method with `def`, so that it is code written in this notebook.")
                    member = getattr(member, "__func__", member)
                    if isinstance(member, types.FunctionType) and not _written_in_notebook(member):
                        _fail(f"`{name}.{attr}` is {member.__module__}.{member.__qualname__}, "
                              "not code written in this notebook: this part scores 0.")
            elif not module.startswith("torch"):
                _fail(f"`{name}` derives from {module}.{base.__qualname__}: a graded class must be "
                      "your own nn.Module subclass, not a subclass of a library's (or the course's "
                      "reference) implementation, so this part scores 0.")

    def own_module(self, module, name: str) -> None:
        """An instance whose every sub-module is a torch layer or a class written in the notebook."""
        self.own_class(type(module), name)
        seen = set()
        named = list(module.named_modules())
        for sub_name, sub in named:
            self._own_part(sub, f"{name}.{sub_name}" if sub_name else name, seen)
        for sub_name, sub in named:
            for attr, value in vars(sub).items():
                if attr in ("_modules", "_parameters", "_buffers"):
                    continue
                for item in value if isinstance(value, (list, tuple)) else (
                        value.values() if isinstance(value, dict) else (value,)):
                    if isinstance(item, torch.nn.Module):
                        self._own_part(item, f"{name}.{sub_name + '.' if sub_name else ''}{attr}", seen)

    def _own_part(self, part, label: str, seen: set) -> None:
        if id(part) in seen:
            return
        seen.add(id(part))
        module = type(part).__module__ or ""
        if module == "__main__":
            self.own_class(type(part), label)
        elif not module.startswith(("torch.", "einops.layers.")):   # building blocks, not attention
            _fail(f"{label} is a {module}.{type(part).__qualname__}: a wrapper around a library's "
                  "or the reference's module is not your own implementation, so this part scores 0.")

    def _watch(self, function, *args, what: str, **kwargs):
        """Run ``function`` and fail if any code of the reference library ran inside it."""
        ran: set = set()
        borrowed: set = set()
        tests = set(TEST_CELL_FILES)

        def profiler(frame, event, arg):
            if event == "call":
                ran.add(frame.f_code.co_filename)
                caller = frame.f_back
                if frame.f_code.co_filename in tests and caller is not None and \
                        caller.f_code.co_filename not in tests and _is_cell_file(caller.f_code.co_filename):
                    borrowed.add(frame.f_code.co_name)

        previous = sys.getprofile()
        sys.setprofile(profiler)
        raised = None
        try:
            result = function(*args, **kwargs)
        except BaseException as error:   # judged like a result: an error the reference raised
            raised = error               # (its argument checks, say) is not the student's own
        finally:
            still_watched = sys.getprofile() is profiler
            sys.setprofile(previous)
        if not still_watched:
            _fail(f"{what} switched off Python's profiler, which the grader uses to see that the "
                  "work is your own: this part scores 0.")
        self._judge_own_work(ran, borrowed, what)
        if raised is not None:
            raise raised
        for item in result if isinstance(result, (tuple, list)) else (result,):
            if isinstance(item, torch.Tensor) and type(item) not in (torch.Tensor, torch.nn.Parameter):
                _fail_value(f"{what} returned a {type(item).__module__}.{type(item).__qualname__}, a "
                            "subclass of torch.Tensor: return a plain tensor.")
        return result

    def _judge_own_work(self, ran: set, borrowed: set, what: str) -> None:
        """Fail if the watched call used the tests' definitions or ran reference code."""
        if borrowed:
            _fail(f"{what} called the tests' own definitions ({', '.join(sorted(borrowed))}), which "
                  "compute the expected answers: graded parts must compute with your own code, so "
                  "this part scores 0.")
        reference = sorted(f for f in ran if self._is_reference_file(f))
        if reference:
            shown = ", ".join(os.path.relpath(f, os.path.dirname(_PACKAGE_DIR)) for f in reference[:3])
            _fail(f"{what} ran the course's reference code ({shown}): graded parts must compute "
                  "their result with your own code, so this part scores 0.")

    @staticmethod
    def _is_reference_file(filename: str) -> bool:
        filename = os.path.abspath(filename) if filename and not filename.startswith("<") else ""
        if not filename.startswith(_PACKAGE_DIR + os.sep):
            return False
        part = os.path.relpath(filename, _PACKAGE_DIR).split(os.sep)[0]
        return part in _REFERENCE_PARTS

    def call(self, function, *args, what: str = "your code", **kwargs):
        """``function(*args, **kwargs)``, watched: no reference code may run inside."""
        return self._watch(function, *args, what=what, **kwargs)

    # ----------------------------------------------------------------------------- comparisons
    @staticmethod
    def close(actual, expected: torch.Tensor, *, what: str, rtol: float = 1e-7,
              atol: float = 1e-10) -> None:
        """``actual`` equals ``expected`` elementwise within ``atol + rtol·|expected|``; NaN fails."""
        if not isinstance(actual, torch.Tensor):
            _fail_value(f"{what} should be a tensor, got {type(actual).__name__}.")
        if type(actual) not in (torch.Tensor, torch.nn.Parameter):
            _fail_value(f"{what} is a {type(actual).__module__}.{type(actual).__qualname__}, a subclass "
                        "of torch.Tensor: return a plain tensor.")
        if tuple(actual.shape) != tuple(expected.shape):
            _fail_value(f"{what} has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}.")
        a = actual.detach().to(device="cpu", dtype=torch.float64)
        e = expected.detach().to(device="cpu", dtype=torch.float64)
        finite = torch.isfinite(a)
        if not bool(finite.all()):
            count = int((~finite).sum())
            _fail_value(f"{what} contains {count} NaN or infinite value(s).")
        diff = torch.abs(torch.sub(a, e))
        bad = torch.gt(diff, atol + rtol * torch.abs(e))
        count = int(bad.sum())
        if count:
            worst = int(torch.argmax(diff.flatten()))
            index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), a.shape))
            _fail_value(f"{what} differs from the expected values at {count} of {a.numel()} "
                        f"positions; at index {index} it is {float(a.flatten()[worst]):.6g}, "
                        f"expected {float(e.flatten()[worst]):.6g}.")

    @staticmethod
    def same_number(got, expected, *, what: str) -> None:
        """``got`` is a plain number (int, float or a NumPy scalar) equal to ``expected``."""
        numpy = sys.modules.get("numpy")
        plain = type(got) in (int, float) or (numpy is not None and isinstance(got, numpy.generic)
                                              and type(got).__module__ == "numpy")
        if not plain or isinstance(got, bool):
            _fail_value(f"{what} should be a number (int or float), got {type(got).__module__}."
                        f"{type(got).__qualname__}.")
        if float(got) != float(expected):
            _fail_value(f"{what} is {got!r}, expected {expected!r}.")

    def grads(self, output: torch.Tensor, wrt: dict, *, what: str = "your code") -> dict:
        """Gradients of ``sum(output · w)`` for a fixed random ``w``, w.r.t. each tensor in ``wrt``.

        Returns ``{name: gradient or None}``; the backward pass is watched like :meth:`call`.
        """
        if not isinstance(output, torch.Tensor) or not output.requires_grad:
            return {name: None for name in wrt}
        generator = torch.Generator().manual_seed(1234)
        weight = torch.randn(tuple(output.shape), generator=generator, dtype=torch.float64)
        loss = torch.sum(torch.mul(output, weight.to(output.dtype)))
        names, tensors = list(wrt), [wrt[n] for n in wrt]
        result = self._watch(torch.autograd.grad, loss, tensors, allow_unused=True,
                             what=f"the backward pass of {what}")
        return dict(zip(names, result))

    def same_grads(self, got: dict, expected: dict, *, what: str, rtol: float = 1e-7,
                   atol: float = 1e-10) -> None:
        """Each gradient in ``expected`` (None: none expected) equals the one in ``got``."""
        for name, want in expected.items():
            have = got.get(name)
            if want is None:
                continue
            if have is None:
                _fail_value(f"no gradient reaches {name} in {what}: is something computed under "
                            "torch.no_grad(), from a .detach()ed tensor, or through .item()/.data?")
            if have.numel() == want.numel() and have.shape != want.shape:
                have = have.reshape(want.shape)  # nn.Linear (O, I) and a 1x1 conv (O, I, 1, 1)
            self.close(have, want, what=f"the gradient of {name} in {what}", rtol=rtol, atol=atol)

    def agree(self, got, want, inputs, *, what: str, got_params: dict | None = None,
              want_params: dict | None = None, rtol: float = 1e-7, atol: float = 1e-10):
        """``got(*inputs)`` (the student's, watched) equals ``want(*inputs)`` (the definition), and so
        do the gradients with respect to every floating-point input and the named parameters.

        Each side gets its own copies of ``inputs``; the student's copies must come back unchanged.
        Returns nothing (a test cell that ends with this call displays no value).
        """
        def copies():
            return [t.detach().clone().requires_grad_(t.is_floating_point())
                    if isinstance(t, torch.Tensor) else t for t in inputs]

        mine, ref = copies(), copies()
        before = [t.detach().clone() if isinstance(t, torch.Tensor) else None for t in mine]
        try:
            out = self._watch(got, *mine, what=what)
        except RuntimeError as error:
            if "in-place" not in str(error) and "inplace" not in str(error):
                raise
            _fail_value(f"{what} changed a tensor in place that autograd needs ({error}): return a new "
                        "tensor (`x * gate`) instead of modifying the input (`x *= gate`).")
        expected = want(*ref)
        self.close(out, expected, what=what, rtol=rtol, atol=atol)
        for i, (t, b) in enumerate(zip(mine, before)):
            if b is not None and not bool(torch.equal(t.detach(), b)):
                _fail_value(f"{what} changed its input #{i + 1} in place (`x *= ...`, `x.mul_(...)`?): "
                            "return a new tensor and leave the input as it was.")
        names = [f"input #{i + 1}" for i, t in enumerate(inputs)
                 if isinstance(t, torch.Tensor) and t.is_floating_point()]
        float_mine = [t for t in mine if isinstance(t, torch.Tensor) and t.is_floating_point()]
        float_ref = [t for t in ref if isinstance(t, torch.Tensor) and t.is_floating_point()]
        got_grads = self.grads(out, {**dict(zip(names, float_mine)), **(got_params or {})}, what=what)
        want_grads = self.grads(expected, {**dict(zip(names, float_ref)), **(want_params or {})},
                                what="the definition")
        self.same_grads(got_grads, want_grads, what=what, rtol=rtol, atol=atol)

    def raises(self, function, exception=ValueError, *, what: str, mentions=()) -> None:
        """``function()`` raises ``exception`` whose message contains every item of ``mentions``."""
        try:
            self._watch(function, what=what)
        except GradingIntegrityError:
            raise
        except exception as error:
            message = str(error).lower()
            for item in mentions:
                item, why = item if isinstance(item, tuple) and len(item) == 2 and isinstance(
                    item[1], str) else (item, "")
                if not self.checks.message_mentions(message, item):
                    shown = (f"one of {', '.join(repr(i) for i in sorted(item, key=str))}"
                             if isinstance(item, (set, frozenset, list)) else repr(item))
                    _fail_value(f"{what} raised {type(error).__name__}({str(error)!r}), whose message "
                                f"should mention {shown}" + (f" ({why})" if why else "") + ".")
            return
        except Exception as error:  # noqa: BLE001 (a different error is a wrong answer)
            _fail_value(f"{what} should raise {_exception_names(exception)}, but raised "
                        f"{type(error).__name__}: {error}")
        _fail_value(f"{what} should raise {_exception_names(exception)}, but nothing was raised.")


def _fail_value(message: str):
    raise AssertionError(message)
