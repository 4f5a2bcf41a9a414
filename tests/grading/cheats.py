"""Cheating code shared by the case tables: ways to fool an in-kernel grader that do not depend
on the notebook. A case puts one beside a wrong answer; the grader must still take the points.

:func:`tampering_cases` builds the four standard kernel-tampering cases for one solution cell; notebooks
00 and 01 use them (the autograder's probe that catches them does not depend on the notebook, and each
costs a real autograde run of CI time).
"""

from .harness import Wrong

PATCH_CHECKS = '''
import attn_course.checks
for _name in attn_course.checks.__all__:
    setattr(attn_course.checks, _name, lambda *args, **kwargs: None)
'''
PATCH_ALLCLOSE = '''
torch.allclose = lambda *args, **kwargs: True
torch.Tensor.__gt__ = lambda self, other: torch.zeros_like(self, dtype=torch.bool)
'''
PATCH_TRACEBACK = '''
get_ipython().showtraceback = lambda *args, **kwargs: None
get_ipython()._showtraceback = lambda *args, **kwargs: None
'''
KERNEL_EXIT = '''
import os
os._exit(0)
'''
# IPython rewrites every later cell that looks like a test into `pass`.
BLANK_TESTS = '''
def _blank_tests(lines):
    return ["pass\\n"] if "check" in "".join(lines) or "assert" in "".join(lines) else lines

get_ipython().input_transformers_post.append(_blank_tests)
'''
# IPython wraps every later cell in `try: ... except BaseException: pass`.
SWALLOW_ERRORS = '''
import ast

class _Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None, body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return ast.fix_missing_locations(node)

get_ipython().ast_transformers.append(_Swallow())
'''
# A tensor whose differences with a plain tensor are zero and which equals anything.
LIAR_TENSOR = '''
class _Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        liars = [a for a in args if isinstance(a, _Liar)]
        out = super().__torch_function__(func, types, args, kwargs)
        if name in ("sub", "__sub__", "__rsub__") and len(liars) == 1 and isinstance(out, torch.Tensor):
            return torch.zeros_like(out.as_subclass(torch.Tensor)).as_subclass(_Liar)
        if name in ("equal", "allclose") and len(liars) == 1:
            return True
        return out
'''


def always_equal(signature: str) -> str:
    """A function ``def <signature>`` that returns a number equal to anything."""
    return f'''
class _Always(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


def {signature}:
    return _Always(0)
'''


def tampering_cases(cell: str, wrong_answer: str, loses) -> dict:
    """The standard ways to disarm the tests, each beside ``wrong_answer`` in solution cell
    ``cell``: patched checks, patched torch, a patched traceback, and ending the kernel."""
    return {
        "cheat_patched_checks": Wrong({cell: PATCH_CHECKS + wrong_answer}, loses=loses),
        "cheat_patched_allclose": Wrong({cell: PATCH_ALLCLOSE + wrong_answer}, loses=loses),
        "cheat_patched_traceback": Wrong({cell: PATCH_TRACEBACK + wrong_answer}, loses=loses),
        "cheat_kernel_exit": Wrong({cell: wrong_answer + KERNEL_EXIT}, loses=loses),
    }
