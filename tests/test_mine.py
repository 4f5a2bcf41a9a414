"""attn_course.mine: saving a notebook's class into the student's own package, and loading it back.

The notebook path is tested for real: cells run in one Jupyter kernel (started once for this file), so
classes come from IPython cells exactly as in a course notebook. Every test writes into its own
``tmp_path`` (``ATTN_COURSE_MINE``), never into the repository.
"""

from __future__ import annotations

import os
import textwrap

import pytest
import torch

from attn_course import attention_class, create_attention, mine
from attn_course.modules import SEBlock as ReferenceSE


@pytest.fixture(autouse=True)
def _own_folder(tmp_path, monkeypatch):
    """Each test saves into its own folder, and never runs as if graded."""
    monkeypatch.setenv("ATTN_COURSE_MINE", str(tmp_path / "my_modules"))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


# ---------------------------------------------------------------------------------------------------
# A real kernel


class Kernel:
    """A Jupyter kernel that runs cells and returns what they printed (errors raise, or are returned)."""

    def __init__(self, manager, client):
        self.manager, self.client = manager, client

    def run(self, code: str, *, error: bool = False) -> str:
        outputs, errors = [], []

        def hook(message):
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                outputs.append(content["text"])
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind in ("execute_result", "display_data"):
                outputs.append(content["data"].get("text/plain", ""))

        self.client.execute_interactive(textwrap.dedent(code), timeout=60, output_hook=hook)
        if errors and not error:
            raise AssertionError(f"the cell failed: {errors}\n{''.join(outputs)}")
        if error and not errors:
            raise AssertionError(f"the cell should have failed; it printed {''.join(outputs)!r}")
        return "".join(outputs) + "\n".join(errors)

    def use_folder(self, path) -> None:
        self.run(f"import os; os.environ['ATTN_COURSE_MINE'] = {str(path)!r}")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    from jupyter_client.manager import KernelManager

    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    env["ATTN_COURSE_MINE"] = str(tmp_path_factory.mktemp("unused"))
    # IPC sockets, not TCP ports: a free port picked here can be taken by one of the kernels that
    # other test processes start at the same moment ("Address already in use").
    manager = KernelManager(kernel_name="python3", transport="ipc",
                            ip=str(tmp_path_factory.mktemp("ipc") / "kernel"))
    manager.start_kernel(env=env, cwd=str(tmp_path_factory.mktemp("kernel_cwd")))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        k = Kernel(manager, client)
        k.run("""
            import torch
            from torch import nn
            from einops import rearrange
            import attn_course.mine
        """)
        yield k
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


SQUEEZE = '''
def squeeze(x):
    """Global average pooling, (B, C, H, W) -> (B, C)."""
    return x.mean(dim=(2, 3))
'''

SE_CELL = '''
SCALE = 1.0

class SEBlock(nn.Module):
    """A student's SE block."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = channels // reduction
        if hidden == 0:
            raise ValueError("too few channels")
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        z = squeeze(x)
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(z))))
        return rearrange(s, "b c -> b c 1 1") * SCALE

    def forward(self, x):
        return x * self.gate(x)
'''


def test_a_notebook_class_is_saved_and_created_as_mine(kernel, tmp_path):
    where = tmp_path / "my_modules"
    kernel.use_folder(where)
    kernel.run(SQUEEZE)
    kernel.run(SE_CELL)
    printed = kernel.run('attn_course.mine.save(SEBlock, "se");')
    path = where / "se.py"
    assert printed.strip() == (f'✓ saved your SEBlock as "se" in {path}; '
                               'later notebooks load it with create_attention("se", C, impl="mine")')

    text = path.read_text()
    assert text.startswith("# Your SEBlock, saved by attn_course.mine.save(SEBlock, \"se\")")
    for line in ("import torch", "import torch.nn as nn", "from einops import rearrange", "SCALE = 1.0",
                 'SAVED = "SEBlock"'):
        assert line + "\n" in text
    assert text.index("\ndef squeeze(") < text.index("\nclass SEBlock(")
    assert mine.saved() == {"se": path}

    se = create_attention("se", 32, impl="mine", reduction=4)
    assert type(se).__name__ == "SEBlock"
    assert type(se).__module__ == "attn_course_mine_se"
    assert type(se) is not ReferenceSE and not isinstance(se, ReferenceSE)
    assert attention_class("se", impl="mine") is type(se)      # same class while the file is unchanged
    x = torch.randn(2, 32, 5, 3)
    with torch.no_grad():
        z = x.mean(dim=(2, 3))
        s = torch.sigmoid(torch.relu(z @ se.fc1.weight.T + se.fc1.bias) @ se.fc2.weight.T + se.fc2.bias)
        torch.testing.assert_close(se(x), x * s[:, :, None, None])


def test_a_function_and_a_class_without_methods(kernel, tmp_path):
    where = tmp_path / "my_modules"
    kernel.use_folder(where)
    kernel.run(SQUEEZE)
    printed = kernel.run('attn_course.mine.save(squeeze, "squeeze");')
    assert 'later notebooks load it with attn_course.mine.load("squeeze")' in printed
    squeeze = mine.load("squeeze")
    x = torch.randn(2, 3, 4, 5)
    torch.testing.assert_close(squeeze(x), x.mean(dim=(2, 3)))

    kernel.run("class Marker(nn.Identity):\n    '''Passes x through.'''\n")
    kernel.run('attn_course.mine.save(Marker, "marker");')
    assert isinstance(mine.load("marker")(), torch.nn.Identity)


def test_a_class_from_a_cell_magic_cell_and_a_decorated_helper(kernel, tmp_path):
    """Under %%time the cell's code is not in linecache: the source comes from IPython's history."""
    kernel.use_folder(tmp_path / "my_modules")
    kernel.run('''
        %%time
        import functools

        def logged(function):
            @functools.wraps(function)
            def wrapper(*args):
                return function(*args)
            return wrapper

        @logged
        def halve(x):
            return x / 2  # a comment

        class Halver(nn.Module):
            def forward(self, x):
                return halve(x)
            # END SOLUTION
    ''')
    kernel.run('attn_course.mine.save(Halver, "halver");')
    text = (tmp_path / "my_modules" / "halver.py").read_text()
    assert "@logged\ndef halve(x):" in text and "    # END SOLUTION\n" in text
    assert mine.load("halver")()(torch.tensor([4.0])).item() == 2.0


def test_saving_again_keeps_the_previous_version(kernel, tmp_path):
    where = tmp_path / "my_modules"
    kernel.use_folder(where)
    kernel.run(SQUEEZE)
    kernel.run(SE_CELL)
    kernel.run('attn_course.mine.save(SEBlock, "se");')
    first = (where / "se.py").read_text()

    printed = kernel.run('attn_course.mine.save(SEBlock, "se");')
    assert printed.strip() == f"✓ your SEBlock is already saved in {where / 'se.py'} (unchanged)"
    assert not (where / "previous").exists()

    kernel.run(SE_CELL.replace("SCALE = 1.0", "SCALE = 2.0"))
    printed = kernel.run('attn_course.mine.save(SEBlock, "se");')
    assert "the version saved before is now previous/se-" in printed
    assert "SCALE = 2.0" in (where / "se.py").read_text()
    kept = list((where / "previous").glob("se-*.py"))
    assert [p.read_text() for p in kept] == [first]

    kernel.run(SE_CELL.replace("SCALE = 1.0", "SCALE = 3.0"))      # again, most likely the same second
    kernel.run('attn_course.mine.save(SEBlock, "se");')
    assert len(list((where / "previous").glob("se-*.py"))) == 2      # nothing overwritten
    assert mine.load("se")(8, reduction=2).gate(torch.zeros(1, 8, 2, 2)).max() > 1   # the new one


def test_a_global_tensor_is_refused_by_name(kernel, tmp_path):
    where = tmp_path / "my_modules"
    kernel.use_folder(where)
    kernel.run('''
        weights = torch.ones(3)

        def scale(x):
            return x * weights
    ''')
    printed = kernel.run('attn_course.mine.save(scale, "scale")', error=True)
    assert "ValueError" in printed and "`weights`" in printed and "Tensor of shape (3,)" in printed
    assert "argument" in printed
    assert not (where / "scale.py").exists()


def test_nothing_is_saved_while_grading(kernel, tmp_path):
    where = tmp_path / "my_modules"
    kernel.use_folder(where)
    kernel.run(SQUEEZE)
    try:
        kernel.run("os.environ['NBGRADER_EXECUTION'] = 'autograde'")
        printed = kernel.run('print(attn_course.mine.save(squeeze, "squeeze"))')
    finally:
        kernel.run("os.environ.pop('NBGRADER_EXECUTION', None)")
    assert printed.splitlines() == ["(grading: your module is not saved)", "None"]
    assert not where.exists() or not any(where.iterdir())


# ---------------------------------------------------------------------------------------------------
# Without a kernel


@pytest.mark.parametrize("key", ["SE", "1se", "se-block", "", "se.py", None])
def test_bad_keys_are_refused(key):
    with pytest.raises(ValueError, match="short lowercase name") as info:
        mine.load(key)
    assert repr(key) in str(info.value)


def test_only_a_notebook_class_or_function_is_saved():
    with pytest.raises(TypeError, match="the class or function itself"):
        mine.save(ReferenceSE(16), "se")
    with pytest.raises(ValueError, match="define SEBlock in a cell"):
        mine.save(ReferenceSE, "se")


def test_without_a_save_the_reference_is_used_with_one_notice(capsys):
    module = create_attention("se", 32, impl="mine")
    assert type(module) is ReferenceSE
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f'ℹ no saved "se" in {mine.folder()} yet: using the reference SEBlock')
    assert 'attn_course.mine.save(SEBlock, "se")' in lines[0]
    with pytest.raises(FileNotFoundError, match='no saved "se"'):
        mine.load("se")


@pytest.mark.parametrize("body, error, line", [
    ('import torch\n\nraise RuntimeError("boom in the saved file")\nSAVED = "x"\n',
     "RuntimeError: boom in the saved file", 'line 3'),
    ("class SEBlock(:\n    pass\nSAVED = \"SEBlock\"\n", "SyntaxError", "line 1"),
    ("x = 1\n", "ImportError", "SAVED"),
])
def test_a_broken_save_shows_its_error_and_falls_back(capsys, body, error, line):
    path = mine.folder() / "se.py"
    path.write_text(body)
    assert attention_class("se", impl="mine") is ReferenceSE
    printed = capsys.readouterr().out
    assert error in printed and line in printed and str(path) in printed
    assert printed.rstrip().splitlines()[-1].startswith("ℹ using the reference SEBlock instead")
    with pytest.raises(Exception):
        mine.load("se")


def test_a_fixed_save_is_picked_up(capsys):
    path = mine.folder() / "double.py"
    path.write_text('def double(x):\n    return 2 * x\n\n\nSAVED = "double"\n')
    assert mine.load("double")(3) == 6
    path.write_text('def double(x):\n    return 3 * x\n\n\nSAVED = "double"\n')   # same size, same second
    assert mine.load("double")(3) == 9


def test_unknown_impl_is_refused():
    with pytest.raises(ValueError, match='"reference".*"mine".*got \'bogus\''):
        create_attention("se", 32, impl="bogus")
    assert type(create_attention("se", 32)) is ReferenceSE


def test_the_folder_is_the_course_folder_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("ATTN_COURSE_MINE")
    course = tmp_path / "course"
    (course / "notebooks" / "01_se").mkdir(parents=True)
    monkeypatch.chdir(course / "notebooks" / "01_se")
    assert mine.folder() == course / "my_modules"
    assert mine.saved() == {}
    assert "in notebook 01" in mine._save_hint("se", ReferenceSE)
