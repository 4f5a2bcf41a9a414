"""The notebooks' assertion helpers: their pass lines and the key phrase of every failure message."""

import re

import pytest
import torch
from torch import nn

from attn_course import checks


def only_line(capsys) -> str:
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("✓ ")
    return lines[0]


def assert_silent(capsys) -> None:
    assert capsys.readouterr().out == ""


# ---- check_shape --------------------------------------------------------------------------------

def test_check_shape_passes(capsys):
    x = torch.zeros(2, 3, 4, 5)
    checks.check_shape(x * 2, x)
    assert only_line(capsys) == "✓ shape kept: (2, 3, 4, 5)"
    checks.check_shape(x, x, quiet=True)
    assert_silent(capsys)


@pytest.mark.parametrize("out, phrase", [
    (None, "should be a torch.Tensor, got NoneType"),
    (torch.zeros(2, 3, 1, 1), "shape of a channel gate"),
    (torch.zeros(2, 1, 4, 5), "shape of a spatial gate"),
    (torch.zeros(2, 6, 4, 5), "channel axis changed"),
    (torch.zeros(2, 3, 2, 5), "spatial size changed"),
    (torch.zeros(2, 3), "never reshaped back"),
])
def test_check_shape_fails(out, phrase):
    with pytest.raises(AssertionError, match=re.escape(phrase)):
        checks.check_shape(out, torch.zeros(2, 3, 4, 5))


# ---- check_dtype_device -------------------------------------------------------------------------

def test_check_dtype_device(capsys):
    x = torch.zeros(2, 3, dtype=torch.float64)
    checks.check_dtype_device(x + 1, x)
    assert only_line(capsys) == "✓ dtype and device kept: torch.float64, cpu"
    with pytest.raises(AssertionError, match="has dtype torch.float32, the input torch.float64"):
        checks.check_dtype_device(x.float(), x)
    with pytest.raises(AssertionError, match="is on meta, the input on cpu"):
        checks.check_dtype_device(torch.empty(2, 3, dtype=torch.float64, device="meta"), x)


# ---- check_gate_range ---------------------------------------------------------------------------

def test_gate_range_pass_line_has_no_values(capsys):
    gate = torch.rand(2, 32, 1, 1, generator=torch.Generator().manual_seed(1))
    checks.check_gate_range(gate, what="the SE gate")
    assert only_line(capsys) == "✓ the SE gate lies in [0, 1], shape (2, 32, 1, 1)"
    checks.check_gate_range(gate, quiet=True)
    assert_silent(capsys)


def test_gate_may_touch_the_ends(capsys):
    one = torch.sigmoid(torch.tensor(17.0))
    assert float(one) == 1.0  # float32 saturates: the gate touches 1 exactly
    checks.check_gate_range(one)
    checks.check_gate_range(torch.tensor([0.0, 0.5, 1.0]))
    assert capsys.readouterr().out.count("✓ the gate lies in [0, 1]") == 2


@pytest.mark.parametrize("bad", [-0.1, 1.1])
def test_gate_outside_the_unit_interval_fails(bad):
    gate = torch.tensor([0.2, bad, 0.7])
    with pytest.raises(AssertionError, match=r"must lie in \[0, 1\] but its min is .* and its max is "
                                             r".*Is the sigmoid applied last"):
        checks.check_gate_range(gate)


def test_gate_reports_nan_and_inf():
    gate = torch.full((2, 3, 1, 1), 0.5)
    gate[0, 1, 0, 0] = gate[1, 2, 0, 0] = float("nan")
    with pytest.raises(AssertionError, match=re.escape(
            "the gate contains 2 NaN values (first at index (0, 1, 0, 0)) — look for a division by "
            "zero, a log of 0 or 0·inf")):
        checks.check_gate_range(gate)
    gate = torch.full((4,), 0.5)
    gate[2] = float("inf")
    with pytest.raises(AssertionError, match=re.escape("contains 1 +inf value (first at index (2,))")):
        checks.check_gate_range(gate)


def test_gate_must_be_a_nonempty_tensor():
    with pytest.raises(AssertionError, match="should be a torch.Tensor, got list"):
        checks.check_gate_range([0.5])
    with pytest.raises(AssertionError, match="is empty"):
        checks.check_gate_range(torch.zeros(0))


# ---- check_parameter_count ----------------------------------------------------------------------

def test_check_parameter_count(capsys):
    layer = nn.Linear(10, 5)
    checks.check_parameter_count(layer, 55, formula="10·5 + 5")
    assert only_line(capsys) == "✓ 55 parameters = 10·5 + 5"
    with pytest.raises(AssertionError, match=r"Linear has 55 parameters, expected 50 = 10·5\. "
                                             r"Its parameters: weight \(5, 10\), bias \(5,\)"):
        checks.check_parameter_count(layer, 50, formula="10·5")


# ---- check_close --------------------------------------------------------------------------------

def test_check_close_pass_line_has_no_measured_error(capsys):
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(2))
    checks.check_close(x + 1e-9, x, what="the SE output")
    assert only_line(capsys) == "✓ the SE output matches (within rtol 1e-05, atol 1e-06)"
    checks.check_close(x, x, rtol=1e-3, atol=0)
    assert only_line(capsys) == "✓ the output matches (within rtol 0.001, atol 0)"
    checks.check_close(x, x, quiet=True)
    assert_silent(capsys)


def test_check_close_locates_the_largest_difference():
    expected = torch.zeros(2, 3)
    actual = expected.clone()
    actual[0, 1], actual[1, 2] = 0.5, 2.0
    with pytest.raises(AssertionError, match=r"differs from the expected values at 2 of 6 positions"
                                             r".*Largest difference 2 at index \(1, 2\): got 2, "
                                             r"expected 0"):
        checks.check_close(actual, expected)


def test_check_close_wrong_type_or_shape():
    with pytest.raises(AssertionError, match="should be a torch.Tensor, got float"):
        checks.check_close(1.0, torch.tensor(1.0))
    with pytest.raises(AssertionError, match=r"has shape \(2, 3\), expected \(3, 2\)"):
        checks.check_close(torch.zeros(2, 3), torch.zeros(3, 2))


def test_check_close_reports_nan_count_and_first_index():
    actual = torch.zeros(1, 2, 3, 1)
    actual[0, 1, 0, 0] = actual[0, 1, 2, 0] = float("nan")
    with pytest.raises(AssertionError, match=re.escape(
            "the output contains 2 NaN values (first at index (0, 1, 0, 0)) — look for a division "
            "by zero, a log of 0 or 0·inf")):
        checks.check_close(actual, torch.zeros(1, 2, 3, 1))
    # a NaN that the expected tensor shares is still a NaN in the output
    with pytest.raises(AssertionError, match=re.escape("contains 2 NaN values")):
        checks.check_close(actual, actual.clone())


def test_check_close_nan_in_expected_counts_as_a_difference():
    expected = torch.zeros(2)
    expected[1] = float("nan")
    with pytest.raises(AssertionError, match="at 1 of 2 positions"):
        checks.check_close(torch.zeros(2), expected)


def test_check_close_reports_inf():
    actual = torch.zeros(5)
    actual[1], actual[3], actual[4] = float("inf"), float("-inf"), float("-inf")
    with pytest.raises(AssertionError, match=re.escape(
            "contains 1 +inf value (first at index (1,)) and 2 -inf values (first at index (3,))")):
        checks.check_close(actual, torch.zeros(5))


def test_check_close_accepts_an_expected_infinity(capsys):
    # masked attention scores legitimately hold -inf where the reference does
    scores = torch.tensor([[0.5, float("-inf")], [float("-inf"), 0.25]])
    checks.check_close(scores.clone(), scores)
    assert only_line(capsys).startswith("✓ the output matches")
    with pytest.raises(AssertionError, match=r"at 2 of 4 positions.*got 0, expected -inf"):
        checks.check_close(scores.nan_to_num(neginf=0.0), scores)


def test_rel_error():
    assert checks.rel_error(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 1.0])) == pytest.approx(0.5)


# ---- check_raises -------------------------------------------------------------------------------

def raiser(exception):
    def fn():
        raise exception
    return fn


def test_check_raises_passes_and_returns_none(capsys):
    error = ValueError("channels (8) must be at least the reduction (16)")
    assert checks.check_raises(raiser(error), what="SEBlock(8, reduction=16)") is None
    assert only_line(capsys) == ("✓ SEBlock(8, reduction=16) raises ValueError: channels (8) must be "
                                 "at least the reduction (16)")
    checks.check_raises(raiser(error), what="quiet", quiet=True)
    assert_silent(capsys)


def test_check_raises_wrong_type_or_nothing():
    with pytest.raises(AssertionError, match="should raise ValueError, but raised TypeError: bad"):
        checks.check_raises(raiser(TypeError("bad")), what="f")
    with pytest.raises(AssertionError, match="should raise ValueError, but nothing was raised"):
        checks.check_raises(lambda: None, what="f")
    with pytest.raises(AssertionError, match="should raise KeyError, but nothing"):
        checks.check_raises(lambda: None, KeyError, what="f")


def test_check_raises_mentions(capsys):
    fn = raiser(ValueError("SEBlock: 8 Channels cannot be reduced by 16"))
    checks.check_raises(fn, what="SEBlock(8, reduction=16)",
                        mentions=[(16, "the reduction received"), (8, "the channels received"),
                                  "channels"])  # numbers as text; case ignored
    assert only_line(capsys).startswith("✓ SEBlock(8, reduction=16) raises ValueError: SEBlock: 8")
    with pytest.raises(AssertionError, match=re.escape(
            "SEBlock(8, reduction=16) raised ValueError('SEBlock: 8 Channels cannot be reduced by "
            "16') but its message should mention 'groups' (the argument that is wrong)")):
        checks.check_raises(fn, what="SEBlock(8, reduction=16)",
                            mentions=[(8, "the channels"), ("groups", "the argument that is wrong")])
    with pytest.raises(AssertionError, match=r"should mention 32\.$"):
        checks.check_raises(fn, what="f", mentions=[32])
    checks.check_raises(fn, what="f", mentions="cannot", quiet=True)  # a single string is one item
    with pytest.raises(AssertionError, match="should mention 'xyz'"):
        checks.check_raises(fn, what="f", mentions="xyz")


# ---- check_call ---------------------------------------------------------------------------------

def test_check_call_returns_the_result(capsys):
    assert checks.check_call(lambda a, b=0: a + b, 1, b=2, what="add") == 3
    assert_silent(capsys)


def test_check_call_translates_broadcasting():
    x, gate = torch.zeros(2, 3, 4, 5), torch.zeros(2, 3)
    with pytest.raises(AssertionError) as info:
        checks.check_call(lambda: x * gate, what="apply_gate")
    message = str(info.value)
    assert message.startswith('apply_gate raised RuntimeError: "The size of tensor a (5) must match '
                              'the size of tensor b (3) at non-singleton dimension 3"')
    assert "reshape it to (B, C, 1, 1) (e.g. rearrange(s, 'b c -> b c 1 1'))" in message
    assert "(B, 1, H, W)" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_check_call_translates_in_place_on_a_leaf():
    x = torch.zeros(3, requires_grad=True)
    with pytest.raises(AssertionError, match=r"a leaf Variable that requires grad.*an in-place "
                                             r"operation .* write out = x \* gate instead"):
        checks.check_call(lambda: x.mul_(2), what="forward")


def test_check_call_translates_in_place_before_backward():
    x = torch.ones(3, requires_grad=True)

    def backward():
        gate = torch.sigmoid(x)
        gate.mul_(2)
        gate.sum().backward()

    with pytest.raises(AssertionError, match=r"modified by an inplace operation.*write out = x \* gate"):
        checks.check_call(backward, what="backward")


def test_check_call_translates_linear_width():
    with pytest.raises(AssertionError, match=r"mat1 and mat2 shapes cannot be multiplied.*flatten the "
                                             r"pooled \(B, C, 1, 1\) map to \(B, C\) first.*in_features"):
        checks.check_call(nn.Linear(4, 2), torch.zeros(2, 5), what="fc1")


@pytest.mark.parametrize("error", [RuntimeError("CUDA out of memory"), ValueError("bad groups"),
                                   KeyError("fc1")])
def test_check_call_lets_other_errors_through(error):
    with pytest.raises(type(error)) as info:
        checks.check_call(raiser(error), what="f")
    assert info.value is error


# ---- check_input_unchanged ----------------------------------------------------------------------

def test_check_input_unchanged(capsys):
    x = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(3))
    g = torch.rand(2, 3, 1, 1, generator=torch.Generator().manual_seed(4))
    out = checks.check_input_unchanged(lambda t, gate: t * gate, x, g, what="apply_gate")
    assert torch.equal(out, x * g)
    assert only_line(capsys) == "✓ apply_gate leaves its input unchanged"
    checks.check_input_unchanged(lambda t, gate: t * gate, x, gate=g, what="q", quiet=True)
    assert_silent(capsys)
    with pytest.raises(AssertionError, match=re.escape(
            "apply_gate changed its input x in place (x *= gate, x.mul_(...)?): return a new "
            "tensor, e.g. x * gate")):
        checks.check_input_unchanged(lambda t, gate: t.mul_(gate), x, g, what="apply_gate")


def test_check_input_unchanged_sees_an_in_place_edit_that_keeps_the_values():
    x = torch.rand(3)
    with pytest.raises(AssertionError, match="changed its input x in place"):
        checks.check_input_unchanged(lambda t: t.clamp_(0, 1), x, what="f")


def test_check_input_unchanged_tolerates_nan_in_the_input(capsys):
    x = torch.tensor([1.0, float("nan")])
    checks.check_input_unchanged(lambda t: t + 1, x, what="f")
    assert only_line(capsys) == "✓ f leaves its input unchanged"


# ---- check_gradients ----------------------------------------------------------------------------

class Gated(nn.Module):
    """A small SE-like module; ``mode`` selects a correct forward or a broken one."""

    def __init__(self, mode="good"):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.mode = mode

    def gate(self, x):
        return torch.sigmoid(self.fc(x.mean(dim=(2, 3))))[:, :, None, None]

    def forward(self, x):
        if self.mode == "no_grad":
            with torch.no_grad():
                g = self.gate(x)
            return x * g
        if self.mode == "detach_gate_input":
            return x * self.gate(x.detach())
        if self.mode == "detach_everything":
            x = x.detach()
            return x * self.gate(x)
        if self.mode == "item":
            return x * float(self.gate(x).mean().item())
        return x * self.gate(x)


X = torch.randn(2, 4, 3, 3, generator=torch.Generator().manual_seed(5))


def test_check_gradients_passes_for_a_good_module(capsys):
    module = Gated()
    state = torch.get_rng_state()
    checks.check_gradients(module, X)
    assert only_line(capsys) == "✓ gradients reach the input and all 2 parameters"
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is untouched
    assert all(p.grad is None for p in module.parameters())
    assert X.grad is None and not X.requires_grad
    checks.check_gradients(module, X, quiet=True)
    assert_silent(capsys)


def test_check_gradients_counts_parameters(capsys):
    checks.check_gradients(nn.Identity(), X)
    assert only_line(capsys) == "✓ gradients reach the input (no parameters to train)"
    checks.check_gradients(nn.Sequential(nn.Conv2d(4, 4, 1, bias=False)), X)
    assert only_line(capsys) == "✓ gradients reach the input and the 1 parameter"
    frozen = Gated()
    frozen.fc.bias.requires_grad_(False)
    checks.check_gradients(frozen, X)
    assert only_line(capsys) == "✓ gradients reach the input and the 1 parameter"


def test_a_gate_from_detached_input_still_passes(capsys):
    # x still gets a gradient through the product x * gate, and fc gets one through the gate
    checks.check_gradients(Gated("detach_gate_input"), X)
    assert only_line(capsys) == "✓ gradients reach the input and all 2 parameters"


@pytest.mark.parametrize("mode", ["no_grad", "item"])
def test_check_gradients_catches_a_gate_cut_from_the_graph(mode):
    with pytest.raises(AssertionError, match=re.escape(
            "no gradient reached fc.weight, fc.bias of the SE block: is the gate computed under "
            "torch.no_grad(), from x.detach(), or through .data / .item() / numpy?")):
        checks.check_gradients(Gated(mode), X, what="the SE block")


def test_check_gradients_catches_a_detached_input():
    with pytest.raises(AssertionError, match=r"no gradient reached the input x of the module: .*"
                                             r"x\.detach\(\)"):
        checks.check_gradients(Gated("detach_everything"), X)


def test_check_gradients_catches_an_output_without_grad():
    class NoGrad(nn.Module):
        def forward(self, x):
            with torch.no_grad():
                return x * torch.sigmoid(x)

    with pytest.raises(AssertionError, match="the output of the module does not require grad"):
        checks.check_gradients(NoGrad(), X)


def test_check_gradients_reports_a_non_finite_input_gradient():
    class WhereTrap(nn.Module):
        def forward(self, x):  # finite output, but the unused sqrt branch gives NaN gradients
            return torch.where(x > 0, x, torch.sqrt(x))

    negative = X <= 0
    first = tuple(int(i) for i in torch.nonzero(negative)[0])
    with pytest.raises(AssertionError, match=re.escape(
            f"the gradient of the input x of the module contains {int(negative.sum())} NaN values "
            f"(first at index {first})")):
        checks.check_gradients(WhereTrap(), X)


def test_check_gradients_reports_a_non_finite_parameter_gradient():
    bad = Gated()
    bad.fc.weight.register_hook(lambda grad: grad * float("nan"))
    with pytest.raises(AssertionError, match=re.escape(
            "the gradient of fc.weight of the module contains 16 NaN values (first at index (0, 0))")):
        checks.check_gradients(bad, X)
    assert bad.fc.weight.grad is None  # grads are cleared even when the check fails


def test_check_gradients_translates_in_place_errors():
    class InPlace(nn.Module):
        def forward(self, x):
            g = torch.sigmoid(x)
            g.mul_(2)
            return x * g

    with pytest.raises(AssertionError, match="the backward pass through the module raised RuntimeError"):
        checks.check_gradients(InPlace(), X)


def test_all_public_checks_are_exported():
    for name in ("check_call", "check_input_unchanged", "check_gradients", "check_raises"):
        assert name in checks.__all__


@pytest.mark.parametrize("message, item, found", [
    ("got reduction 16.", 16, True), ("got 160", 16, False), ("ratio 0.16", 16, False),
    ("groups=-2 is not positive", -2, True), ("groups=1.5", 1.5, True),
    ("accepted (2, 4, 5)", (2, 4, 5), True), ("torch.Size([2, 4, 5])", (2, 4, 5), True),
    ("a 2x4x5 gate.", (2, 4, 5), True), ("(2, 4, 50)", (2, 4, 5), False), ("(2, 3, 4, 5)", (2, 4, 5), False),
    ("No Hidden unit", "hidden", True), ("no hidden unit", {"divid", "hidden"}, True),
    ("invalid arguments", {"divid", "hidden"}, False),
])
def test_message_mentions(message, item, found):
    assert checks.message_mentions(message, item) is found


def test_check_raises_names_the_alternatives_it_wanted():
    def refuse():
        raise ValueError("invalid arguments: 8, 16")
    with pytest.raises(AssertionError, match="should mention one of '//', 'hidden'"):
        checks.check_raises(refuse, what="SEBlock(8, 16)", mentions=[{"hidden", "//"}])
