"""The hidden tests' kit: own-work checks, the integrity scan, and value/gradient comparisons.

Code "written in a notebook" is simulated by executing it in a namespace named ``__main__``, which
is what a notebook cell's functions and classes look like to the kit.
"""

import builtins

import pytest
import torch
from torch import nn

import attn_course.checks
from attn_course import gradekit
from attn_course.gradekit import GradingIntegrityError, fresh


def notebook(source: str) -> dict:
    namespace = {"__name__": "__main__", "torch": torch, "nn": nn}
    exec(compile(source, "<notebook cell>", "exec"), namespace)
    return namespace


OWN_SE = """
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def forward(self, x):
        z = x.mean(dim=(2, 3))
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(z))))[:, :, None, None]
"""


def test_fresh_kit_accepts_an_untouched_environment():
    kit = fresh(notebook(OWN_SE))
    assert kit.checks.check_close is not attn_course.checks.check_close  # a copy of its own


def test_own_code_passes_every_own_work_check():
    ns = notebook(OWN_SE + "\ndef squeeze(x):\n    return x.mean(dim=(2, 3))\n")
    kit = fresh(ns)
    kit.own_class(ns["SEBlock"], "SEBlock")
    kit.own_module(ns["SEBlock"](32), "SEBlock")
    kit.own_function(ns["squeeze"], "squeeze")
    assert kit.call(ns["squeeze"], torch.ones(1, 2, 3, 3), what="squeeze").shape == (1, 2)


@pytest.mark.parametrize("source, phrase", [
    ("from attn_course.modules import SEBlock", "imported rather than written"),
    ("from attn_course.modules import SEBlock as R\nclass SEBlock(R):\n    pass", "derives from attn_course"),
])
def test_reference_class_or_subclass_scores_zero(source, phrase):
    ns = notebook(source)
    with pytest.raises(GradingIntegrityError, match=phrase):
        fresh(ns).own_class(ns["SEBlock"], "SEBlock")


def test_wrapper_around_the_reference_is_found_even_when_hidden_in_a_list():
    ns = notebook("""
from attn_course.modules import SEBlock as R
class Visible(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.inner = R(c)
class Hidden(nn.Module):
    def __init__(self, c):
        super().__init__()
        object.__setattr__(self, "parts", [R(c)])
""")
    kit = fresh(ns)
    with pytest.raises(GradingIntegrityError, match="Visible.inner is a attn_course.modules.se.SEBlock"):
        kit.own_module(ns["Visible"](32), "Visible")
    with pytest.raises(GradingIntegrityError, match="Hidden.parts"):
        kit.own_module(ns["Hidden"](32), "Hidden")


def test_running_reference_code_inside_own_code_is_caught():
    ns = notebook("""
from attn_course.modules import _pooling
def squeeze(x):
    return _pooling.spatial_mean(x).flatten(1)
""")
    kit = fresh(ns)
    kit.own_function(ns["squeeze"], "squeeze")  # written in the notebook...
    with pytest.raises(GradingIntegrityError, match=r"ran the course's reference code \(attn_course/modules/_pooling.py"):
        kit.call(ns["squeeze"], torch.ones(1, 2, 3, 3), what="squeeze")  # ...but the reference computes


def test_an_error_raised_by_reference_code_is_not_own_work():
    ns = notebook("""
from attn_course.modules._validation import check_positive_int
class Block(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.reduction = check_positive_int(reduction, name="reduction", module="Block")
""")
    kit = fresh(ns)
    with pytest.raises(GradingIntegrityError, match="ran the course's reference code"):
        kit.raises(lambda: ns["Block"](8, reduction=0), ValueError, what="Block(8, reduction=0)",
                   mentions=["reduction"])


def test_switching_the_profiler_off_inside_own_code_is_caught():
    ns = notebook("import sys\ndef sneaky(x):\n    sys.setprofile(None)\n    return x\n")
    with pytest.raises(GradingIntegrityError, match="switched off Python's profiler"):
        fresh(ns).call(ns["sneaky"], torch.ones(1), what="sneaky")


def test_a_method_taken_from_the_reference_is_not_own_code():
    ns = notebook(OWN_SE + "\nfrom attn_course.modules import SEBlock as R\nSEBlock.gate = R.gate\n")
    with pytest.raises(GradingIntegrityError, match="SEBlock.gate` is attn_course.modules.se.SEBlock.gate"):
        fresh(ns).own_class(ns["SEBlock"], "SEBlock")


def test_imported_function_is_not_own_code():
    from attn_course.modules.shuffle import channel_shuffle
    with pytest.raises(GradingIntegrityError, match="not from this notebook"):
        fresh({}).own_function(channel_shuffle, "channel_shuffle")


@pytest.mark.parametrize("owner, name, phrase", [
    (torch, "allclose", "torch.allclose"),
    (torch.Tensor, "__gt__", "torch.Tensor.__gt__"),
    (torch.nn.functional, "sigmoid", "torch.nn.functional.sigmoid"),
    (attn_course.checks, "check_close", "attn_course.checks.check_close"),
    (builtins, "ascii", "builtins.ascii"),
])
def test_grading_code_replaced_by_a_notebook_is_refused(monkeypatch, owner, name, phrase):
    fake = notebook("def fake(*args, **kwargs):\n    return True\n")["fake"]
    monkeypatch.setattr(owner, name, fake)
    with pytest.raises(GradingIntegrityError, match=f"replaced .*{phrase}.*scores 0"):
        fresh({})


def test_a_builtin_swapped_in_under_another_name_is_refused(monkeypatch):
    monkeypatch.setattr(torch, "equal", torch.is_tensor)
    with pytest.raises(GradingIntegrityError, match="torch.equal"):
        fresh({})


def test_names_the_tests_use_must_not_be_rebound():
    with pytest.raises(GradingIntegrityError, match="the name `checks`"):
        fresh({"checks": object()})
    with pytest.raises(GradingIntegrityError, match="the built-in `isinstance`"):
        fresh({"isinstance": lambda *a: True})
    fresh({"checks": attn_course.checks, "torch": torch, "isinstance": isinstance})


def test_close_reports_shape_nan_and_the_worst_position():
    kit = fresh({})
    kit.close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]), what="x")
    with pytest.raises(AssertionError, match=r"has shape \(2,\), expected \(3,\)"):
        kit.close(torch.zeros(2), torch.zeros(3), what="x")
    with pytest.raises(AssertionError, match="1 NaN or infinite"):
        kit.close(torch.tensor([float("nan"), 1.0]), torch.tensor([1.0, 1.0]), what="x")
    with pytest.raises(AssertionError, match=r"at 1 of 2 positions; at index \(1,\) it is 3"):
        kit.close(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 2.0]), what="x")


def test_agree_compares_gradients_and_catches_a_detached_gate():
    ns = notebook("""
def gated(x):
    return x * torch.sigmoid(x.mean(dim=(2, 3), keepdim=True))
def gated_detached(x):
    return x * torch.sigmoid(x.detach().mean(dim=(2, 3), keepdim=True))
def gated_no_grad(x):
    with torch.no_grad():
        return x * torch.sigmoid(x.mean(dim=(2, 3), keepdim=True))
def in_place(x):
    return x.mul_(2)
""")
    kit = fresh(ns)
    definition = lambda x: x * torch.sigmoid(x.sum(dim=(2, 3), keepdim=True) / 12)  # noqa: E731
    x = torch.randn(2, 3, 3, 4, dtype=torch.float64)
    kit.agree(ns["gated"], definition, [x], what="gated")
    with pytest.raises(AssertionError, match="the gradient of input #1"):
        kit.agree(ns["gated_detached"], definition, [x], what="detached")
    with pytest.raises(AssertionError, match="no gradient reaches input #1"):
        kit.agree(ns["gated_no_grad"], definition, [x], what="no_grad")
    with pytest.raises(AssertionError, match="changed a tensor in place"):
        kit.agree(ns["in_place"], lambda t: 2 * t, [x], what="in place")
    ints = torch.arange(6).reshape(1, 6, 1, 1)  # no gradient: the in-place change itself is caught
    with pytest.raises(AssertionError, match="changed its input #1 in place"):
        kit.agree(ns["in_place"], lambda t: 2 * t, [ints], what="in place")


def test_raises_checks_type_and_the_values_a_message_must_name():
    kit = fresh({})

    def refuse(message):
        def fn():
            raise ValueError(message)
        return fn

    kit.raises(refuse("got 6 channels and groups=-2"), what="x", mentions=[6, -2])
    kit.raises(refuse("accepted: torch.Size([2, 4, 5])"), what="x", mentions=[(2, 4, 5)])
    with pytest.raises(AssertionError, match=r"should mention 16 \(the reduction\)"):
        kit.raises(refuse("got 160"), what="x", mentions=[(16, "the reduction")])
    with pytest.raises(AssertionError, match="should raise ValueError, but raised ZeroDivisionError"):
        kit.raises(lambda: 1 // 0, what="x")
    with pytest.raises(AssertionError, match="nothing was raised"):
        kit.raises(lambda: None, what="x")


def test_the_kit_file_is_what_fresh_executes():
    assert gradekit._THIS_FILE == gradekit.__file__


def test_einops_layers_are_building_blocks_like_torch_layers():
    ns = notebook("""
from einops.layers.torch import Rearrange
class Shuffle(nn.Module):
    def __init__(self):
        super().__init__()
        self.shuffle = Rearrange("b (g c) h w -> b (c g) h w", g=2)
        self.conv = nn.Conv2d(4, 4, 1)
""")
    fresh(ns).own_module(ns["Shuffle"](), "Shuffle()")   # no error: both parts are building blocks


def test_raises_names_every_class_of_a_tuple_it_wanted():
    kit = fresh(notebook(""))
    with pytest.raises(AssertionError, match="should raise TypeError or ValueError, but nothing was raised"):
        kit.raises(lambda: None, (TypeError, ValueError), what="f()")
