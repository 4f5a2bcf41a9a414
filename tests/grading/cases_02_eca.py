"""Submissions for 02_eca that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work (they must score 0
on every part they touch, and raise a flag for the instructor). CORRECT cases are written
differently from the solution and must keep full marks.
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "02_eca"

# ------------------------------------------------------------------------------- eca_kernel_size
_KERNEL_HEADER = '''
def eca_kernel_size(channels, gamma=2, b=1):
    if channels < 1:
        raise ValueError(f"channels must be at least 1, got {channels}")
    if gamma <= 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
'''


def _kernel(body: str) -> str:
    return _KERNEL_HEADER + body


# ------------------------------------------------------------------------------------- ECABlock
_ECA_HEADER = '''
class ECABlock(nn.Module):
    """ECA block written by a student."""

    def __init__(self, channels, *, kernel_size=None, gamma=2, b=1):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        k = eca_kernel_size(channels, gamma, b) if kernel_size is None else kernel_size
        if not isinstance(k, int) or k < 1 or k % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int, got {k!r}")
'''
_CONV = "        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)\n"
_GATE_OK = """        z = x.mean(dim=(2, 3))
        s = torch.sigmoid(self.conv(z.unsqueeze(1)))
        return s.squeeze(1)[:, :, None, None]
"""


def _eca(gate_body: str = _GATE_OK, init_layers: str = _CONV, forward: str = "return x * self.gate(x)",
         header: str = _ECA_HEADER) -> str:
    return (header + init_layers + "\n    def gate(self, x):\n" + gate_body
            + "\n    def forward(self, x):\n        " + forward + "\n")


_NO_SIGMOID = _eca("""        z = x.mean(dim=(2, 3))
        s = self.conv(z.unsqueeze(1))
        return s.squeeze(1)[:, :, None, None]
""")

_ECA_CELLS = {"test_eca_structure", "test_eca_behaviour", "test_eca_reference"}
_VALUES = {"test_eca_behaviour", "test_eca_reference"}
_AFTER_ECA = _ECA_CELLS | {"test_eca_params", "test_fix_padding"}

_BUGGY_CONV = '''
def conv_across_channels(z, weight):
    k = weight.numel()
    out = F.conv1d(rearrange(z, "b c -> b 1 c"), rearrange(weight, "k -> 1 1 k"), padding=k - 1)
    return rearrange(out, "b 1 c -> b c")[:, : z.shape[1]]
'''

_ALL = _AFTER_ECA | {"test_eca_kernel_size"}
_WRONG_KERNEL = '''
def eca_kernel_size(channels, gamma=2, b=1):
    return 3
'''
_STRICT_INIT = '''
class ECABlock(nn.Module):
    def __init__(self, channels, *, kernel_size=None, gamma=2, b=1):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        k = eca_kernel_size(channels, gamma, b) if kernel_size is None else kernel_size
        if not isinstance(k, int) or k < 1 or k % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int, got {k!r}")
        self.channels = channels
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)
'''
_LIAR = cheats.LIAR_TENSOR
_BLANK_TESTS = cheats.BLANK_TESTS
_SWALLOW_ERRORS = cheats.SWALLOW_ERRORS

WRONG = {
    # Part A: the kernel size.
    "kernel_rounds_instead_of_truncating": Wrong({"eca_kernel_size": _kernel("""
    t = round((math.log2(channels) + b) / gamma)
    return t if t % 2 else t + 1
""")}, loses={"test_eca_kernel_size"}),
    "kernel_rounds_down_to_odd": Wrong({"eca_kernel_size": _kernel("""
    t = int((math.log2(channels) + b) / gamma)
    return t if t % 2 else max(t - 1, 1)
""")}, loses={"test_eca_kernel_size"}),
    # An even kernel size makes the student's own ECABlock refuse the default settings.
    "kernel_not_made_odd": Wrong({"eca_kernel_size": _kernel("""
    return max(int((math.log2(channels) + b) / gamma), 1)
""")}, loses={"test_eca_kernel_size", "test_eca_structure", "test_eca_reference"}),
    "kernel_natural_log": Wrong({"eca_kernel_size": _kernel("""
    t = int(abs((math.log(channels) + b) / gamma))
    return t if t % 2 else t + 1
""")}, loses={"test_eca_kernel_size"}),
    "kernel_memorised_table": Wrong({"eca_kernel_size": """
def eca_kernel_size(channels, gamma=2, b=1):
    if channels < 1 or gamma <= 0:
        raise ValueError(f"bad settings: channels={channels}, gamma={gamma}")
    return {64: 3, 128: 5, 256: 5, 512: 5, 1024: 5, 2048: 7}.get(channels, 3)
"""}, loses={"test_eca_kernel_size"}),
    "kernel_ignores_gamma_and_b": Wrong({"eca_kernel_size": _kernel("""
    t = int(abs((math.log2(channels) + 1) / 2))
    return t if t % 2 else t + 1
""")}, loses={"test_eca_kernel_size"}),
    "kernel_without_validation": Wrong({"eca_kernel_size": """
def eca_kernel_size(channels, gamma=2, b=1):
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1
"""}, loses={"test_eca_kernel_size"}),
    # Part B: the block.
    "se_style_reduction_mlp": Wrong({"eca_block": _eca("""        z = x.mean(dim=(2, 3))
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(z))))
        return s[:, :, None, None]
""", init_layers="""        self.fc1 = nn.Linear(channels, max(channels // 16, 1))
        self.fc2 = nn.Linear(max(channels // 16, 1), channels)
""")}, loses=_ECA_CELLS),
    "conv_across_the_batch": Wrong({"eca_block": _eca("""        z = reduce(x, "b c h w -> c 1 b", "mean")
        s = torch.sigmoid(self.conv(z))
        return rearrange(s, "c 1 b -> b c 1 1")
""")}, loses=_VALUES),
    "flipped_kernel": Wrong({"eca_block": _eca("""        z = x.mean(dim=(2, 3)).unsqueeze(1)
        k = self.conv.weight.shape[-1]
        s = torch.sigmoid(F.conv1d(z, torch.flip(self.conv.weight, dims=[-1]), padding=(k - 1) // 2))
        return s.squeeze(1)[:, :, None, None]
""")}, loses=_VALUES),
    # Its forward crashes for k = 5 (256 channels), which the structure test runs too.
    "padding_fixed_at_one": Wrong({"eca_block": _eca(init_layers="""        self.conv = nn.Conv1d(1, 1, k, padding=1, bias=False)
""")}, loses=_ECA_CELLS),
    "lopsided_padding": Wrong({"eca_block": _eca("""        z = F.pad(x.mean(dim=(2, 3)).unsqueeze(1), (self.conv.weight.shape[-1] - 1, 0))
        s = torch.sigmoid(self.conv(z))
        return s.squeeze(1)[:, :, None, None]
""", init_layers="        self.conv = nn.Conv1d(1, 1, k, bias=False)\n")}, loses=_VALUES),
    "missing_sigmoid": Wrong({"eca_block": _NO_SIGMOID}, loses=_VALUES),
    "returns_gate": Wrong({"eca_block": _eca(forward="return self.gate(x)")}, loses=_VALUES),
    "softmax_over_channels": Wrong({"eca_block": _eca("""        z = x.mean(dim=(2, 3))
        s = torch.softmax(self.conv(z.unsqueeze(1)), dim=-1)
        return s.squeeze(1)[:, :, None, None]
""")}, loses=_VALUES),
    "max_instead_of_mean": Wrong({"eca_block": _eca("""        z = x.amax(dim=(2, 3))
        s = torch.sigmoid(self.conv(z.unsqueeze(1)))
        return s.squeeze(1)[:, :, None, None]
""")}, loses=_VALUES),
    "gate_under_no_grad": Wrong({"eca_block": _eca("""        with torch.no_grad():
            z = x.mean(dim=(2, 3))
            s = torch.sigmoid(self.conv(z.unsqueeze(1)))
        return s.squeeze(1)[:, :, None, None]
""")}, loses=_VALUES),
    "gate_from_detached_input": Wrong({"eca_block": _eca("""        z = x.detach().mean(dim=(2, 3))
        s = torch.sigmoid(self.conv(z.unsqueeze(1)))
        return s.squeeze(1)[:, :, None, None]
""")}, loses={"test_eca_reference"}),
    "scales_input_in_place": Wrong({"eca_block": _eca(forward="x *= self.gate(x)\n        return x")},
                                   loses=_VALUES),
    "float32_hard_coded": Wrong({"eca_block": _eca("""        z = x.mean(dim=(2, 3)).to(torch.float32)
        conv = self.conv.float()
        s = torch.sigmoid(conv(z.unsqueeze(1)))
        return s.squeeze(1)[:, :, None, None]
""")}, loses=_VALUES),
    "squeeze_drops_the_batch_of_one": Wrong({"eca_block": _eca("""        z = F.adaptive_avg_pool2d(x, 1).squeeze()
        s = torch.sigmoid(self.conv(z.view(-1, 1, z.shape[-1])))
        return s.view(x.shape[0], -1, 1, 1)
""")}, loses=_VALUES),
    "conv_with_bias": Wrong({"eca_block": _eca(init_layers="""        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=True)
""")}, loses=_ECA_CELLS),
    "ignores_kernel_size_argument": Wrong({"eca_block": _eca(init_layers="""        k = eca_kernel_size(channels, gamma, b)
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)
""")}, loses=_ECA_CELLS),
    "accepts_even_kernel_size": Wrong({"eca_block": _eca(header='''
class ECABlock(nn.Module):
    def __init__(self, channels, *, kernel_size=None, gamma=2, b=1):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        k = eca_kernel_size(channels, gamma, b) if kernel_size is None else kernel_size
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"kernel_size must be a positive int, got {k!r}")
''')}, loses={"test_eca_structure"}),
    "error_message_without_values": Wrong({"eca_block": _eca(header='''
class ECABlock(nn.Module):
    def __init__(self, channels, *, kernel_size=None, gamma=2, b=1):
        super().__init__()
        if channels < 1:
            raise ValueError("channels must be at least 1")
        k = eca_kernel_size(channels, gamma, b) if kernel_size is None else kernel_size
        if not isinstance(k, int) or k < 1 or k % 2 == 0:
            raise ValueError("kernel_size must be a positive odd number")
''')}, loses={"test_eca_structure"}),
    "error_message_without_the_rule": Wrong({"eca_block": _eca(header='''
class ECABlock(nn.Module):
    def __init__(self, channels, *, kernel_size=None, gamma=2, b=1):
        super().__init__()
        k = eca_kernel_size(channels, gamma, b) if kernel_size is None and channels > 0 else kernel_size
        if channels < 1 or not isinstance(k, int) or k < 1 or k % 2 == 0:
            raise ValueError(f"invalid arguments: channels={channels}, kernel_size={k}")
''')}, loses={"test_eca_structure"}),
    "accepts_a_fractional_kernel_size": Wrong({"eca_block": _eca(header='''
class ECABlock(nn.Module):
    def __init__(self, channels, *, kernel_size=None, gamma=2, b=1):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        k = eca_kernel_size(channels, gamma, b) if kernel_size is None else kernel_size
        if k < 1 or k % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number, got {k}")
        k = int(k)
''')}, loses={"test_eca_structure"}),
    "kernel_error_without_the_rule": Wrong({"eca_kernel_size": '''
def eca_kernel_size(channels, gamma=2, b=1):
    if channels < 1 or gamma <= 0:
        raise ValueError(f"bad input: channels={channels}, gamma={gamma}")
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1
'''}, loses={"test_eca_kernel_size"}),
    "kernel_returns_a_float": Wrong({"eca_kernel_size": _kernel('''
    t = float(int(abs((math.log2(channels) + b) / gamma)))
    return t if t % 2 else t + 1.0
''')}, loses={"test_eca_kernel_size"} | _ECA_CELLS),   # the student's own ECABlock refuses a float k
    # Part C: the parameter count.
    "params_zip_without_length_check": Wrong({"eca_params": """
def eca_added_parameters(kernel_sizes_per_stage, blocks_per_stage=(3, 4, 6, 3)):
    return sum(k * n for k, n in zip(kernel_sizes_per_stage, blocks_per_stage))
"""}, loses={"test_eca_params"}),
    "params_error_without_lengths": Wrong({"eca_params": """
def eca_added_parameters(kernel_sizes_per_stage, blocks_per_stage=(3, 4, 6, 3)):
    if len(kernel_sizes_per_stage) != len(blocks_per_stage):
        raise ValueError("give one kernel size per stage")
    return sum(k * n for k, n in zip(kernel_sizes_per_stage, blocks_per_stage))
"""}, loses={"test_eca_params"}),
    "params_one_block_per_stage": Wrong({"eca_params": """
def eca_added_parameters(kernel_sizes_per_stage, blocks_per_stage=(3, 4, 6, 3)):
    if len(kernel_sizes_per_stage) != len(blocks_per_stage):
        raise ValueError(f"{len(kernel_sizes_per_stage)} kernel sizes for {len(blocks_per_stage)} stages")
    return sum(kernel_sizes_per_stage) * len(blocks_per_stage)
"""}, loses={"test_eca_params"}),
    # Part D: the padding bug.
    "fix_left_unfixed": Wrong({"fix_padding": _BUGGY_CONV}, loses={"test_fix_padding"}),
    "fix_padding_fixed_at_one": Wrong({"fix_padding": '''
def conv_across_channels(z, weight):
    k = weight.numel()
    out = F.conv1d(z[:, None, :], weight.view(1, 1, k), padding=1)
    return out[:, 0, :]
'''}, loses={"test_fix_padding"}),
    "fix_crops_the_other_end": Wrong({"fix_padding": '''
def conv_across_channels(z, weight):
    k = weight.numel()
    out = F.conv1d(z[:, None, :], weight.view(1, 1, k), padding=k - 1)
    return out[:, 0, k - 1:]
'''}, loses={"test_fix_padding"}),
    # Cheating: the answer key imported, subclassed, wrapped or built by the factory.
    "cheat_import_reference_kernel_size": Wrong({"eca_kernel_size": """
from attn_course.modules.eca import eca_kernel_size
"""}, loses={"test_eca_kernel_size"}),
    "cheat_import_reference": Wrong({"eca_block": """
from attn_course.modules import ECABlock
"""}, loses=_ECA_CELLS),
    "cheat_subclass_reference": Wrong({"eca_block": """
from attn_course.modules import eca as _eca_module

class ECABlock(_eca_module.ECABlock):
    pass
"""}, loses=_ECA_CELLS),
    "cheat_wrap_reference": Wrong({"eca_block": """
import attn_course.modules

class ECABlock(nn.Module):
    def __init__(self, channels, *, kernel_size=None, gamma=2, b=1):
        super().__init__()
        inner = attn_course.modules.ECABlock(channels, kernel_size=kernel_size, gamma=gamma, b=b)
        self.conv = inner.conv
        object.__setattr__(self, "inner", [inner])

    def gate(self, x):
        return self.inner[0].gate(x)

    def forward(self, x):
        return self.inner[0](x)
"""}, loses=_ECA_CELLS),
    "cheat_create_attention": Wrong({"eca_block": """
from attn_course import create_attention

def ECABlock(channels, *, kernel_size=None, gamma=2, b=1):
    return create_attention("eca", channels, kernel_size=kernel_size, gamma=gamma, b=b)
"""}, loses=_ECA_CELLS),
    # Cheating: a wrong block, with the tests disarmed first.
    # Found by an outside tester on 01 and re-created here: rewriting the cells that follow, tensors
    # and numbers that fake equality, the reference called at run time, the tests' own definitions.
    "cheat_tensor_subclass_lies": Wrong({"eca_block": _LIAR + _eca("""        z = x.mean(dim=(2, 3))
        s = self.conv(z.unsqueeze(1))
        return s.squeeze(1)[:, :, None, None].as_subclass(_Liar)
""", forward="return (x * self.gate(x)).as_subclass(_Liar)")}, loses=_ECA_CELLS),
    "cheat_number_that_equals_anything": Wrong({"eca_params": '''
class _Always(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


def eca_added_parameters(kernel_sizes_per_stage, blocks_per_stage=(3, 4, 6, 3)):
    if len(kernel_sizes_per_stage) != len(blocks_per_stage):
        raise ValueError(f"{len(kernel_sizes_per_stage)} kernel sizes for {len(blocks_per_stage)} stages")
    return _Always(0)
'''}, loses={"test_eca_params"}),
    "cheat_reference_counts_the_parameters": Wrong({"eca_params": '''
from attn_course import create_attention

def eca_added_parameters(kernel_sizes_per_stage, blocks_per_stage=(3, 4, 6, 3)):
    if len(kernel_sizes_per_stage) != len(blocks_per_stage):
        raise ValueError(f"{len(kernel_sizes_per_stage)} kernel sizes for {len(blocks_per_stage)} stages")
    return sum(n * sum(p.numel() for p in create_attention("eca", 64, kernel_size=k).parameters())
               for k, n in zip(kernel_sizes_per_stage, blocks_per_stage))
'''}, loses={"test_eca_params"}),
    "cheat_reference_called_at_run_time": Wrong({"eca_block": _STRICT_INIT + '''
    def gate(self, x):
        module = __import__("attn_course.modules.eca", fromlist=["ECABlock"])
        return module.ECABlock.gate(self, x)

    def forward(self, x):
        return x * self.gate(x)
'''}, loses=_ECA_CELLS),
    "cheat_partialmethod_of_the_reference": Wrong({"eca_block": '''
import functools

def _reference():
    return __import__("attn_course.modules.eca", fromlist=["ECABlock"]).ECABlock
''' + _STRICT_INIT + '''
    gate = functools.partialmethod(_reference().gate)

    def forward(self, x):
        return x * self.gate(x)
'''}, loses=_ECA_CELLS),
}

CORRECT = {
    # torch.log2 in float64, F.conv1d on the layer's weight, adaptive pooling, explicit loop sums.
    "functional_conv_and_torch_log2": {"eca_kernel_size": """
def eca_kernel_size(channels, gamma=2, b=1):
    if not channels >= 1:
        raise ValueError(f"channels={channels}: need at least one channel")
    if not gamma > 0:
        raise ValueError(f"gamma={gamma}: need a positive gamma")
    t = torch.log2(torch.tensor(float(channels), dtype=torch.float64)) / gamma + b / gamma
    k = int(t.abs())
    return k + 1 - k % 2
""", "eca_block": '''
class ECABlock(nn.Module):
    def __init__(self, channels: int, *, kernel_size=None, gamma: float = 2, b: float = 1):
        super().__init__()
        if channels < 1:
            raise ValueError(f"ECABlock: channels={channels} is not a positive channel count")
        if kernel_size is not None and (type(kernel_size) is not int or kernel_size <= 0 or kernel_size % 2 != 1):
            raise ValueError(f"ECABlock: kernel_size={kernel_size} must be odd and positive")
        k = kernel_size if kernel_size is not None else eca_kernel_size(channels, gamma=gamma, b=b)
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=k // 2, bias=False)

    def gate(self, x):
        B, C = x.shape[:2]
        z = F.adaptive_avg_pool2d(x, 1).view(B, 1, C)
        logits = F.conv1d(z, self.conv.weight, padding=self.conv.weight.shape[-1] // 2)
        return torch.sigmoid(logits).view(B, C, 1, 1)

    def forward(self, x):
        return torch.mul(x, self.gate(x))
''', "eca_params": """
def eca_added_parameters(kernel_sizes_per_stage, blocks_per_stage=(3, 4, 6, 3)):
    kernel_sizes_per_stage, blocks_per_stage = list(kernel_sizes_per_stage), list(blocks_per_stage)
    if len(kernel_sizes_per_stage) != len(blocks_per_stage):
        raise ValueError(f"{len(kernel_sizes_per_stage)} kernel sizes but {len(blocks_per_stage)} stages")
    total = 0
    for stage in range(len(blocks_per_stage)):
        total += kernel_sizes_per_stage[stage] * blocks_per_stage[stage]
    return total
"""},
    # The convolution as the banded matrix of the derivation, built from the conv's weight.
    "banded_matrix_matmul": {"eca_kernel_size": """
def eca_kernel_size(channels, gamma=2, b=1):
    if channels <= 0 or gamma <= 0:
        raise ValueError(f"need channels >= 1 and gamma > 0, got channels={channels}, gamma={gamma}")
    t = math.floor(abs(math.log(channels, 2) / gamma + b / gamma))
    return t if t % 2 == 1 else t + 1
""", "eca_block": _eca("""        C = x.shape[1]
        w = self.conv.weight.flatten()
        k = w.numel()
        band = x.new_zeros(C, C)
        for j in range(k):
            offset = j - k // 2
            if abs(offset) < C:
                band = band + w[j] * torch.diag(x.new_ones(C - abs(offset)), offset)
        z = x.mean(dim=(2, 3))
        return torch.sigmoid(z @ band.T)[:, :, None, None]
""", init_layers="""        self.conv = nn.Conv1d(1, 1, k, padding="same", bias=False)
"""), "fix_padding": '''
def conv_across_channels(z, weight):
    C, k = z.shape[1], weight.numel()
    out = torch.zeros_like(z)
    for j in range(k):
        shift = j - k // 2
        lo, hi = max(0, -shift), min(C, C - shift)
        if lo < hi:
            out = out + F.pad(weight[j] * z[:, lo + shift:hi + shift], (lo, C - hi))
    return out
'''},
    # Explicit symmetric padding, unfold into windows, einsum with the kernel.
    "unfold_and_einsum": {"eca_block": '''
from einops import einsum


class ECABlock(nn.Module):
    """Efficient channel attention."""

    def __init__(self, channels, *, kernel_size=None, gamma=2, b=1):
        super().__init__()
        if channels < 1:
            raise ValueError(f"ECABlock needs channels >= 1 (got {channels})")
        if kernel_size is None:
            kernel_size = eca_kernel_size(channels, gamma, b)
        elif not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size {kernel_size} is not a positive odd integer")
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)

    def gate(self, x):
        k = self.conv.weight.shape[-1]
        z = reduce(x, "b c h w -> b c", "mean")
        windows = F.pad(z, ((k - 1) // 2, (k - 1) // 2)).unfold(1, k, 1)     # (B, C, k)
        logits = einsum(windows, rearrange(self.conv.weight, "1 1 k -> k"), "b c k, k -> b c")
        return rearrange(logits.sigmoid(), "b c -> b c 1 1")

    def forward(self, x):
        return self.gate(x).expand_as(x) * x
''', "eca_params": """
import operator

def eca_added_parameters(kernel_sizes_per_stage, blocks_per_stage=(3, 4, 6, 3)):
    if len(kernel_sizes_per_stage) - len(blocks_per_stage):
        raise ValueError(
            f"lengths differ: {len(kernel_sizes_per_stage)} kernel sizes, {len(blocks_per_stage)} stages")
    return sum(map(operator.mul, kernel_sizes_per_stage, blocks_per_stage))
""", "fix_padding": '''
def conv_across_channels(z, weight):
    k = weight.numel()
    padded = F.pad(z, ((k - 1) // 2, (k - 1) // 2))
    return F.conv1d(padded.unsqueeze(1), weight.reshape(1, 1, -1)).squeeze(1)
'''},
    # The seed's own transposes, with a helper squeeze function and nn.Sigmoid.
    "transposes_and_helper": {"eca_block": '''
def channel_means(x):
    return F.adaptive_avg_pool2d(x, 1)          # (B, C, 1, 1)


class ECABlock(nn.Module):
    def __init__(self, channels, *, kernel_size=None, gamma=2, b=1):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels={channels} < 1")
        k = eca_kernel_size(channels, gamma=gamma, b=b) if kernel_size is None else kernel_size
        if not isinstance(k, int) or k % 2 != 1 or k < 1:
            raise ValueError(f"kernel_size={k} must be odd and at least 1")
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=(k - 1) // 2, bias=False)
        self.sigmoid = nn.Sigmoid()

    def gate(self, x):
        y = channel_means(x)
        y = self.conv(y.squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        return self.sigmoid(y)

    def forward(self, x):
        return x * self.gate(x).expand_as(x)
'''},
}

# A cell that never finishes must cost only the points of the tests that need it.
HANGS = {"eca_params": """
def eca_added_parameters(kernel_sizes_per_stage, blocks_per_stage=(3, 4, 6, 3)):
    while True:
        pass
"""}
HANG_LOSES = {"test_eca_params"}

# Found by a second outside tester.
WRONG.update({
    "kernel_size_without_abs": Wrong({"eca_kernel_size": '''
import math

def eca_kernel_size(channels: int, gamma: float = 2, b: float = 1) -> int:
    if channels < 1:
        raise ValueError(f"channels must be at least 1, got {channels}")
    if not gamma > 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    t = math.floor((math.log2(channels) + b) / gamma)
    return t if t % 2 else t + 1
'''}, loses={"test_eca_kernel_size"}),
})
