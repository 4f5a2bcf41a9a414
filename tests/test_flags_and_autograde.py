"""The instructor's flags for suspicious code, and the execution step that makes a dead kernel
cost the cells after it."""

import nbformat
import pytest

from attn_course.autograde import KERNEL_DIED, TAMPERED, GuardedExecute, autograde_preprocessors
from attn_course.flags import scan_notebook, scan_source


@pytest.mark.parametrize("source, kinds", [
    ("from attn_course.modules import SEBlock", ["imports-reference"]),
    ("import attn_course.modules.se as m", ["imports-reference"]),
    ("from attn_course import create_attention", ["imports-reference"]),
    ("m = importlib.import_module('attn_course.modules.se')", ["imports-reference"]),
    ("torch.allclose = lambda *a, **k: True", ["patches-module"]),
    ("import attn_course\nattn_course.checks.check_close = print", ["patches-module"]),
    ("setattr(checks, 'check_close', None)", ["patches-module"]),
    ("def f():\n    torch.Tensor.__gt__ = None", ["patches-module"]),
    ("isinstance = lambda *a: True", ["rebinds-name"]),
    ("checks = None", ["rebinds-name"]),
    ("get_ipython().showtraceback = None", ["ipython-internals"]),
    ("import sys\nsys.excepthook = print", ["ipython-internals", "patches-module"]),
    ("import os\nos._exit(0)", ["kernel-exit"]),
    ("exit()", ["kernel-exit"]),
    ("raise SystemExit", ["kernel-exit"]),
    ("def broken(:\n    os._exit(0)", ["kernel-exit"]),  # unparsable: scanned as text
    ("open(attn_course.gradekit.__file__, 'w').write('')", ["writes-files"]),
    ("from pathlib import Path\nPath('x.py').write_text('')", ["writes-files"]),
    ("import shutil\nshutil.copy('a', 'b')", ["writes-files"]),
    ("class Liar(torch.Tensor):\n    @classmethod\n    def __torch_function__(cls, *a):\n        pass",
     ["fakes-values"]),
    ("class Always(int):\n    def __eq__(self, other):\n        return True", ["fakes-values"]),
    ("def f(x):\n    return x.as_subclass(Liar)", ["fakes-values"]),
    ("class Anything(tuple):\n    def __eq__(self, other):\n        return True", ["fakes-values"]),
    ("class Every(list):\n    def __contains__(self, item):\n        return True", ["fakes-values"]),
    ("class Same(dict):\n    def __ne__(self, other):\n        return False", ["fakes-values"]),
    ("import fractions\nclass Near(fractions.Fraction):\n    def __eq__(s, o):\n        return True",
     ["fakes-values"]),
])
def test_suspicious_code_is_flagged(source, kinds):
    assert scan_source(source, {"importlib", "checks"}) == sorted(kinds)


@pytest.mark.parametrize("source", [
    "class SEBlock(nn.Module):\n    def __init__(self, c):\n        super().__init__()\n        self.fc1 = nn.Linear(c, c)",
    "def squeeze(x):\n    sum = x.sum(dim=(2, 3))\n    return sum / 4",
    "block = SEBlock(8)\nblock.fc1 = nn.Linear(8, 8)\nx = torch.randn(2)\nx.requires_grad = True",
    "from einops import rearrange, reduce\nimport torch.nn.functional as F",
    "%timeit squeeze(x)",
    "text = open('notes.txt').read()",
])
def test_ordinary_code_is_not_flagged(source):
    assert scan_source(source) == []


def test_scan_skips_locked_and_test_cells(tmp_path):
    nb = nbformat.v4.new_notebook()
    locked = nbformat.v4.new_code_cell("exit()")
    locked.metadata["nbgrader"] = {"locked": True, "grade": False, "solution": False, "grade_id": "setup"}
    test = nbformat.v4.new_code_cell("exit()")
    test.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "test_x", "points": 1}
    answer = nbformat.v4.new_code_cell("from attn_course.modules import SEBlock")
    answer.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "se_block"}
    added = nbformat.v4.new_code_cell("torch.allclose = None")
    nb.cells = [locked, test, answer, added]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert scan_notebook(path) == ["imports-reference (se_block)", "patches-module (cell 3)"]


def test_cells_after_a_dead_kernel_are_marked_failed():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("import os\nos._exit(0)"),
                nbformat.v4.new_markdown_cell("text"), nbformat.v4.new_code_cell("print('never')")]
    GuardedExecute(timeout=60).preprocess(nb, {"metadata": {"path": "."}})
    assert nb.cells[0].outputs == []
    assert [o.ename for o in nb.cells[1].outputs if o.output_type == "error"] == [KERNEL_DIED]
    assert [o.ename for o in nb.cells[3].outputs] == [KERNEL_DIED]
    assert "not run" in nb.cells[3].outputs[0].evalue


def _graded(source):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1,
                                 "locked": True}
    return cell


@pytest.mark.parametrize("hook", [
    "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])",
    "import ast\n"
    "class Swallow(ast.NodeTransformer):\n"
    "    def visit_Module(self, node):\n"
    "        return node\n"
    "get_ipython().ast_transformers.append(Swallow())",
    "get_ipython().events.register('pre_run_cell', lambda *a: None)",
    "get_ipython().set_custom_exc((AssertionError,), lambda *a, **k: None)",
    "import torch\ntorch.allclose = lambda *a, **k: True",
])
def test_graded_cells_after_a_rewritten_kernel_do_not_run(hook):
    nb = nbformat.v4.new_notebook()
    nb.cells = [_graded("assert 1 + 1 == 2"), nbformat.v4.new_code_cell(hook),
                _graded("assert False, 'a wrong answer'")]
    GuardedExecute(timeout=60).preprocess(nb, {"metadata": {"path": "."}})
    assert nb.cells[0].outputs == []
    assert [o.ename for o in nb.cells[2].outputs] == [TAMPERED]
    assert "not run" in nb.cells[2].outputs[0].evalue


def test_the_autograde_steps_are_nbgraders_with_the_guarded_execute():
    steps = autograde_preprocessors()
    assert steps[0] is GuardedExecute and len(steps) >= 5


def test_using_a_test_cells_definitions_is_flagged():
    assert scan_source("def mix(x, w):\n    return mix_by_loops(x, w)", test_names={"mix_by_loops"}) == [
        "uses-test-code"]
    assert scan_source("def mix_by_loops(x, w):\n    return x\nmix_by_loops(1, 2)",
                       test_names={"mix_by_loops"}) == []


def test_cells_handed_out_unchanged_are_not_the_students(tmp_path):
    demo = "from attn_course import create_attention\nm = create_attention('se', 64)"
    release, submitted = nbformat.v4.new_notebook(), nbformat.v4.new_notebook()
    release.cells = [nbformat.v4.new_code_cell(demo)]
    submitted.cells = [nbformat.v4.new_code_cell(demo), nbformat.v4.new_code_cell(demo + "  # mine")]
    nbformat.write(release, tmp_path / "release.ipynb")
    nbformat.write(submitted, tmp_path / "submitted.ipynb")
    assert scan_notebook(tmp_path / "submitted.ipynb", tmp_path / "release.ipynb") == [
        "imports-reference (cell 1)"]


def test_cells_after_the_last_graded_cell_are_not_run_and_say_why(tmp_path):
    """They cannot change a score (every graded output is recorded before them), so the autograder
    spends nothing on them; a cell before the last graded one always runs."""
    from attn_course.autograde import NOT_RUN_NOTE

    answer = nbformat.v4.new_code_cell("x = 2")
    answer.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "x", "locked": False}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('demo before')"), answer, _graded("assert x == 2"),
                nbformat.v4.new_markdown_cell("text"),
                nbformat.v4.new_code_cell("open('tail-ran', 'w').write('yes')")]
    GuardedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert nb.cells[0].outputs[0].text == "demo before\n"
    assert nb.cells[2].outputs == []
    assert [o.text for o in nb.cells[4].outputs] == [NOT_RUN_NOTE]
    assert not (tmp_path / "tail-ran").exists()
    everything = GuardedExecute(timeout=60, skip_after_last_graded=False)
    everything.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert (tmp_path / "tail-ran").read_text() == "yes"


def test_figures_are_not_rendered_while_grading_unless_asked():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2, 3])\nplt.show()"),
        _graded("assert True")]
    GuardedExecute(timeout=60).preprocess(nb, {"metadata": {"path": "."}})
    shown = [o for o in nb.cells[0].outputs if o.output_type == "display_data"]
    assert shown and all(set(o.data) == {"text/plain"} for o in shown), nb.cells[0].outputs
    assert "Figure size" in shown[0].data["text/plain"]
    GuardedExecute(timeout=60, render_figures=True).preprocess(nb, {"metadata": {"path": "."}})
    assert any("image/png" in o.get("data", {}) for o in nb.cells[0].outputs)
