"""Submissions for 07_shuffle_attention that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work (they must score 0
on every part they touch, and raise a flag for the instructor). CORRECT cases are written
differently from the solution and must keep full marks.

The solution's ShuffleAttention calls the student's own ``channel_gate`` and ``spatial_gate``, so a
wrong half-gate also costs the block's tests wherever the block's numbers show it.
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "07_shuffle_attention"

_GATES = {"test_channel_gate", "test_spatial_gate"}
_BLOCK = {"test_sa_structure", "test_sa_constraint", "test_sa_behaviour", "test_sa_reference"}
_RUNS = {"test_sa_structure", "test_sa_behaviour", "test_sa_reference"}   # the tests that run the block
_VALUES = {"test_sa_behaviour", "test_sa_reference"}

# --------------------------------------------------------------------------------- the half-gates
_CHANNEL_GATE = '''
def channel_gate(x, weight, bias):
    return torch.sigmoid(weight * {pooled} + bias)
'''
_SPATIAL_HEADER = '''
def spatial_gate(x, weight, bias, gn_weight, gn_bias, eps=1e-5):
'''
_SPATIAL_END = '''    normed = gn_weight.view(1, -1, 1, 1) * x_hat + gn_bias.view(1, -1, 1, 1)
    return torch.sigmoid(weight * normed + bias)
'''


def _spatial(x_hat_lines: str, header: str = _SPATIAL_HEADER) -> str:
    return header + x_hat_lines + _SPATIAL_END


# --------------------------------------------------------------------------------- ShuffleAttention
_SA_HEADER = '''
class ShuffleAttention(nn.Module):
    """Shuffle attention written by a student."""

    def __init__(self, channels, *, groups=64):
        super().__init__()
        if not isinstance(channels, int) or not isinstance(groups, int) or channels < 1 or groups < 1:
            raise ValueError(f"channels and groups must be positive integers, got channels={channels}, groups={groups}")
        if channels % (2 * groups):
            raise ValueError(f"channels={channels} is not divisible by 2*groups (groups={groups}); "
                             f"channels={2 * groups * max(1, channels // (2 * groups))} would work")
        self.groups = groups
'''
_SA_PARAMS = '''        c = channels // (2 * groups)
        self.cweight = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.cbias = nn.Parameter(torch.ones(1, c, 1, 1))
        self.sweight = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.sbias = nn.Parameter(torch.ones(1, c, 1, 1))
        self.gn = nn.GroupNorm(c, c)
'''
_SA_GATE_OK = '''        b, C, h, w = x.shape
        grouped = x.reshape(b * self.groups, C // self.groups, h, w)
        x_ch, x_sp = grouped.chunk(2, dim=1)
        s_ch = channel_gate(x_ch, self.cweight, self.cbias).expand_as(x_ch)
        s_sp = spatial_gate(x_sp, self.sweight, self.sbias, self.gn.weight, self.gn.bias, self.gn.eps)
        return torch.cat([s_ch, s_sp], dim=1).reshape(b, C, h, w)
'''
_SA_FORWARD_OK = 'return rearrange(x * self.gate(x), "b (two n) h w -> b (n two) h w", two=2)'


def _sa(params: str = _SA_PARAMS, gate_body: str = _SA_GATE_OK, forward: str = _SA_FORWARD_OK,
        header: str = _SA_HEADER) -> str:
    return (header + params + "\n    def gate(self, x):\n" + gate_body
            + "\n    def forward(self, x):\n        " + forward + "\n")


def _sa_checked(condition: str, message: str) -> str:
    """A header whose only checks are ``condition`` (raising ``message``), ints taken for granted."""
    return f'''
class ShuffleAttention(nn.Module):
    def __init__(self, channels, *, groups=64):
        super().__init__()
        if {condition}:
            raise ValueError({message})
        self.groups = groups
'''


# --------------------------------------------------------------------------------- ChannelDealer (fix)
def _dealer(deal: str, forward: str = "return self.deal(x * self.scale, 2)") -> str:
    return '''
class ChannelDealer(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1, channels, 1, 1))
''' + deal + "\n    def forward(self, x):\n        " + forward + "\n"


_DEAL_PLAIN = '''
    def deal(x, groups):
        return rearrange(x, "b (g n) h w -> b (n g) h w", g=groups)
'''
_DEAL_STATIC = "\n    @staticmethod" + _DEAL_PLAIN


def _answers(a: str = "set()", b: str = '{"channels"}', c: str = '{"channels", "groups"}') -> str:
    return f"must_change_a = {a}\nmust_change_b = {b}\nmust_change_c = {c}\n"


WRONG = {
    # ---- Part A: the channel gate
    "channel_gate_max_pool": Wrong({"channel_gate": _CHANNEL_GATE.format(pooled="x.amax(dim=(2, 3), keepdim=True)")},
                                   loses={"test_channel_gate", "test_sa_reference"}),
    "channel_gate_without_sigmoid": Wrong({"channel_gate": '''
def channel_gate(x, weight, bias):
    return weight * x.mean(dim=(2, 3), keepdim=True) + bias
'''}, loses={"test_channel_gate"} | _VALUES),
    "channel_gate_squeeze_drops_the_batch_of_one": Wrong({"channel_gate": '''
def channel_gate(x, weight, bias):
    pooled = F.adaptive_avg_pool2d(x, 1).squeeze()
    s = torch.sigmoid(weight.flatten() * pooled + bias.flatten())
    return s.unsqueeze(-1).unsqueeze(-1)
'''}, loses={"test_channel_gate"} | _RUNS),
    "channel_gate_sums_instead_of_averaging": Wrong({"channel_gate": _CHANNEL_GATE.format(
        pooled="x.sum(dim=(2, 3), keepdim=True)")}, loses={"test_channel_gate", "test_sa_reference"}),
    # ---- Part B: the spatial gate
    "spatial_gate_normalises_the_whole_half": Wrong({"spatial_gate": _spatial('''    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    var = x.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
    x_hat = (x - mean) / torch.sqrt(var + eps)
''')}, loses={"test_spatial_gate", "test_sa_reference"}),
    "spatial_gate_normalises_over_the_batch": Wrong({"spatial_gate": _spatial('''    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    x_hat = (x - mean) / torch.sqrt(var + eps)
''')}, loses={"test_spatial_gate", "test_sa_reference"}),
    "spatial_gate_unbiased_variance": Wrong({"spatial_gate": _spatial('''    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True)
    x_hat = (x - mean) / torch.sqrt(var + eps)
''')}, loses={"test_spatial_gate", "test_sa_behaviour", "test_sa_reference"}),
    "spatial_gate_eps_outside_the_root": Wrong({"spatial_gate": _spatial('''    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
    x_hat = (x - mean) / (torch.sqrt(var) + eps)
''')}, loses={"test_spatial_gate", "test_sa_reference"}),
    # The block passes GroupNorm's eps explicitly, so only the function's own default is wrong.
    "spatial_gate_default_eps_1e-3": Wrong({"spatial_gate": _spatial('''    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
    x_hat = (x - mean) / torch.sqrt(var + eps)
''', header="\ndef spatial_gate(x, weight, bias, gn_weight, gn_bias, eps=1e-3):\n")}, loses={"test_spatial_gate"}),
    "spatial_gate_ignores_the_eps_argument": Wrong({"spatial_gate": _spatial('''    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
    x_hat = (x - mean) / torch.sqrt(var + 1e-8)
''')}, loses={"test_spatial_gate", "test_sa_reference"}),
    "spatial_gate_without_gn_affine": Wrong({"spatial_gate": '''
def spatial_gate(x, weight, bias, gn_weight, gn_bias, eps=1e-5):
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
    return torch.sigmoid(weight * (x - mean) / torch.sqrt(var + eps) + bias)
'''}, loses={"test_spatial_gate"} | _VALUES),   # no gradient reaches gn.weight and gn.bias
    "spatial_gate_without_normalisation": Wrong({"spatial_gate": _spatial("    x_hat = x\n")},
                                                loses={"test_spatial_gate", "test_sa_reference"}),
    "spatial_gate_instance_norm_refuses_one_position": Wrong({"spatial_gate": '''
def spatial_gate(x, weight, bias, gn_weight, gn_bias, eps=1e-5):
    return torch.sigmoid(weight * F.instance_norm(x, weight=gn_weight, bias=gn_bias, eps=eps) + bias)
'''}, loses={"test_spatial_gate"} | _VALUES),
    # ---- Part C: the block
    "shuffle_with_groups_groups": Wrong({"shuffle_attention": _sa(
        forward='return rearrange(x * self.gate(x), "b (g n) h w -> b (n g) h w", g=self.groups)')}, loses=_VALUES),
    "no_shuffle": Wrong({"shuffle_attention": _sa(forward="return x * self.gate(x)")}, loses=_VALUES),
    "shuffle_the_wrong_way_round": Wrong({"shuffle_attention": _sa(
        forward='return rearrange(x * self.gate(x), "b (n two) h w -> b (two n) h w", two=2)')}, loses=_VALUES),
    "weights_start_at_one_biases_at_zero": Wrong({"shuffle_attention": _sa(params='''        c = channels // (2 * groups)
        self.cweight = nn.Parameter(torch.ones(1, c, 1, 1))
        self.cbias = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.sweight = nn.Parameter(torch.ones(1, c, 1, 1))
        self.sbias = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gn = nn.GroupNorm(c, c)
''')}, loses={"test_sa_structure", "test_sa_behaviour"}),
    "halves_swapped": Wrong({"shuffle_attention": _sa(gate_body='''        b, C, h, w = x.shape
        grouped = x.reshape(b * self.groups, C // self.groups, h, w)
        x_sp, x_ch = grouped.chunk(2, dim=1)
        s_ch = channel_gate(x_ch, self.cweight, self.cbias).expand_as(x_ch)
        s_sp = spatial_gate(x_sp, self.sweight, self.sbias, self.gn.weight, self.gn.bias, self.gn.eps)
        return torch.cat([s_sp, s_ch], dim=1).reshape(b, C, h, w)
''')}, loses=_VALUES),
    "halves_split_before_the_groups": Wrong({"shuffle_attention": _sa(gate_body='''        x_ch, x_sp = rearrange(x, "b (two g c) h w -> two (b g) c h w", g=self.groups, two=2)
        s_ch = channel_gate(x_ch, self.cweight, self.cbias).expand_as(x_ch)
        s_sp = spatial_gate(x_sp, self.sweight, self.sbias, self.gn.weight, self.gn.bias, self.gn.eps)
        return rearrange([s_ch, s_sp], "two (b g) c h w -> b (two g c) h w", g=self.groups)
''')}, loses=_VALUES),
    "group_norm_over_the_whole_half": Wrong({"shuffle_attention": _sa(params='''        c = channels // (2 * groups)
        self.cweight = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.cbias = nn.Parameter(torch.ones(1, c, 1, 1))
        self.sweight = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.sbias = nn.Parameter(torch.ones(1, c, 1, 1))
        self.gn = nn.GroupNorm(1, c)
''', gate_body='''        b, C, h, w = x.shape
        x_ch, x_sp = x.reshape(b * self.groups, C // self.groups, h, w).chunk(2, dim=1)
        s_ch = channel_gate(x_ch, self.cweight, self.cbias).expand_as(x_ch)
        s_sp = torch.sigmoid(self.sweight * self.gn(x_sp) + self.sbias)
        return torch.cat([s_ch, s_sp], dim=1).reshape(b, C, h, w)
''')}, loses={"test_sa_reference"}),
    "group_norm_eps_1e-3": Wrong({"shuffle_attention": _sa(params=_SA_PARAMS.replace(
        "nn.GroupNorm(c, c)", "nn.GroupNorm(c, c, eps=1e-3)"))}, loses={"test_sa_reference"}),
    "gate_under_no_grad": Wrong({"shuffle_attention": _sa(gate_body='''        with torch.no_grad():
            b, C, h, w = x.shape
            x_ch, x_sp = x.reshape(b * self.groups, C // self.groups, h, w).chunk(2, dim=1)
            s_ch = channel_gate(x_ch, self.cweight, self.cbias).expand_as(x_ch)
            s_sp = spatial_gate(x_sp, self.sweight, self.sbias, self.gn.weight, self.gn.bias, self.gn.eps)
            return torch.cat([s_ch, s_sp], dim=1).reshape(b, C, h, w)
''')}, loses=_VALUES),
    "scales_the_input_in_place": Wrong({"shuffle_attention": _sa(
        forward='return rearrange(x.mul_(self.gate(x)), "b (two n) h w -> b (n two) h w", two=2)')}, loses=_VALUES),
    "forward_returns_the_gate": Wrong({"shuffle_attention": _sa(
        forward='return rearrange(self.gate(x), "b (two n) h w -> b (n two) h w", two=2)')}, loses=_VALUES),
    "ignores_the_groups_argument": Wrong({"shuffle_attention": _sa(header=_SA_HEADER.replace(
        "self.groups = groups", "self.groups = 64").replace("channels % (2 * groups)", "channels % 128"))},
        loses=_BLOCK),
    # ---- Part C: the settings the block refuses
    "divisible_by_groups_only": Wrong({"shuffle_attention": _sa(header=_sa_checked(
        "not isinstance(groups, int) or channels < 1 or groups < 1 or channels % groups",
        'f"channels={channels} is not divisible by groups={groups}; channels={groups * max(1, channels // groups)} would work"'))},
        loses={"test_sa_constraint"}),
    "error_without_a_value_that_works": Wrong({"shuffle_attention": _sa(header=_sa_checked(
        "not isinstance(groups, int) or not isinstance(channels, int) or channels < 1 or groups < 1 "
        "or channels % (2 * groups)",
        'f"channels={channels} must be divisible by twice the groups (groups={groups})"'))},
        loses={"test_sa_constraint"}),
    "accepts_zero_and_negative_channels": Wrong({"shuffle_attention": _sa(header=_sa_checked(
        "not isinstance(groups, int) or groups < 1 or channels % (2 * groups)",
        'f"channels={channels} is not divisible by 2*groups (groups={groups}); '
        'channels={2 * groups * max(1, channels // (2 * groups))} would work"'))},
        loses={"test_sa_constraint"}),
    "accepts_a_fractional_groups": Wrong({"shuffle_attention": _sa(header=_sa_checked(
        "channels < 1 or groups < 1 or channels % (2 * groups)",
        'f"channels={channels} is not divisible by 2*groups (groups={groups}); '
        'channels={2 * groups * max(1, channels // (2 * groups))} would work"'))},
        loses={"test_sa_constraint"}),
    # ---- Part D: the parameter count
    "params_forgot_the_halves": Wrong({"sa_params": """
def sa_added_parameters(channels_per_block, groups=64):
    return sum(6 * (C // groups) for C in channels_per_block)
"""}, loses={"test_sa_params"}),
    "params_without_groupnorm": Wrong({"sa_params": """
def sa_added_parameters(channels_per_block, groups=64):
    return sum(4 * (C // (2 * groups)) for C in channels_per_block)
"""}, loses={"test_sa_params"}),
    "params_once_per_stage": Wrong({"sa_params": """
def sa_added_parameters(channels_per_block, groups=64):
    return sum(6 * (C // (2 * groups)) for C in set(channels_per_block))
"""}, loses={"test_sa_params"}),
    "params_default_groups_8": Wrong({"sa_params": """
def sa_added_parameters(channels_per_block, groups=8):
    return sum(6 * (C // (2 * groups)) for C in channels_per_block)
"""}, loses={"test_sa_params"}),
    # ---- Part E: the helper method
    "fix_left_unfixed": Wrong({"fix_channel_dealer": _dealer(_DEAL_PLAIN)}, loses={"test_fix_channel_dealer"}),
    "fix_gives_deal_a_self": Wrong({"fix_channel_dealer": _dealer('''
    def deal(self, x, groups):
        return rearrange(x, "b (g n) h w -> b (n g) h w", g=groups)
''')}, loses={"test_fix_channel_dealer"}),
    "fix_at_the_call_site_only": Wrong({"fix_channel_dealer": _dealer(
        _DEAL_PLAIN, forward="return ChannelDealer.deal(x * self.scale, 2)")}, loses={"test_fix_channel_dealer"}),
    "fix_deals_the_wrong_way_round": Wrong({"fix_channel_dealer": _dealer('''
    @staticmethod
    def deal(x, groups):
        return rearrange(x, "b (n g) h w -> b (g n) h w", g=groups)
''')}, loses={"test_fix_channel_dealer"}),
    "fix_forgets_the_scale": Wrong({"fix_channel_dealer": _dealer(_DEAL_STATIC, forward="return self.deal(x, 2)")},
                                   loses={"test_fix_channel_dealer"}),
    # ---- Part F: batch size or channels
    "batch_size_changes_the_channels": Wrong({"batch_question": _answers(a='{"channels"}')},
                                             loses={"test_batch_question"}),
    "ninety_six_channels_keep_the_groups": Wrong({"batch_question": _answers(c='{"channels"}')},
                                                 loses={"test_batch_question"}),
    "empty_dict_for_none": Wrong({"batch_question": _answers(a="{}")}, loses={"test_batch_question"}),
    "answers_as_lists": Wrong({"batch_question": _answers(b='["channels"]', c='["channels", "groups"]')},
                              loses={"test_batch_question"}),
    # A set that equals anything (no flag: the scanner knows faked numbers and tensors, not sets).
    "answer_set_that_equals_anything": Wrong({"batch_question": '''
class _AnySet(set):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = None

''' + _answers(a='_AnySet({"groups"})', b='_AnySet({"groups"})', c='_AnySet({"groups"})')},
        loses={"test_batch_question"}),
    # ---- cheating: the answer key imported, subclassed, wrapped, built by the factory, or run inside
    "cheat_import_reference": Wrong({"shuffle_attention": """
from attn_course.modules import ShuffleAttention
"""}, loses=_BLOCK),
    "cheat_subclass_reference": Wrong({"shuffle_attention": """
from attn_course.modules import shuffle as _reference

class ShuffleAttention(_reference.ShuffleAttention):
    pass
"""}, loses=_BLOCK),
    "cheat_wrap_reference": Wrong({"shuffle_attention": """
import attn_course.modules

class ShuffleAttention(nn.Module):
    def __init__(self, channels, *, groups=64):
        super().__init__()
        inner = attn_course.modules.ShuffleAttention(channels, groups=groups)
        self.cweight, self.cbias, self.sweight, self.sbias = inner.cweight, inner.cbias, inner.sweight, inner.sbias
        self.gn = inner.gn
        object.__setattr__(self, "inner", [inner])

    def gate(self, x):
        return self.inner[0].gate(x)

    def forward(self, x):
        return self.inner[0](x)
"""}, loses=_BLOCK),
    "cheat_create_attention": Wrong({"shuffle_attention": """
from attn_course import create_attention

def ShuffleAttention(channels, *, groups=64):
    return create_attention("shuffle", channels, groups=groups)
"""}, loses=_BLOCK),
    "cheat_reference_channel_shuffle": Wrong({"shuffle_attention": _sa(
        forward="return _shuffle(x * self.gate(x), 2)").replace(
        "\nclass ShuffleAttention", "\nfrom attn_course.modules.shuffle import channel_shuffle as _shuffle\n\n"
                                    "class ShuffleAttention", 1)}, loses=_RUNS),
    "cheat_reference_gate_through_a_closure": Wrong({"shuffle_attention": '''
from attn_course import create_attention as _ca

def _make(channels, groups):
    reference = _ca("shuffle", channels, groups=groups)
    parts = (reference.cweight, reference.cbias, reference.sweight, reference.sbias, reference.gn)
    return parts, (lambda x: reference.gate(x))

class ShuffleAttention(nn.Module):
    def __init__(self, channels, *, groups=64):
        super().__init__()
        (self.cweight, self.cbias, self.sweight, self.sbias, self.gn), self._fn = _make(channels, groups)
        self.groups = groups

    def gate(self, x):
        return self._fn(x)

    def forward(self, x):
        return rearrange(x * self.gate(x), "b (two n) h w -> b (n two) h w", two=2)
'''}, loses=_BLOCK),
    "cheat_tensor_subclass_lies": Wrong({"shuffle_attention": cheats.LIAR_TENSOR + _sa(
        forward="return (x * self.gate(x)).as_subclass(_Liar)")}, loses=_RUNS),
    "cheat_number_that_equals_anything": Wrong({"sa_params": cheats.always_equal(
        "sa_added_parameters(channels_per_block, groups=64)")}, loses={"test_sa_params"}),
    # Needs a real kernel: the tests' own definitions are recognised by the cells they were written in.
}

CORRECT = {
    # The official code's shapes: view, chunk, pooling layers, F.group_norm, cat, permute; a classmethod.
    "official_view_chunk_and_permute": {"channel_gate": '''
def channel_gate(x, weight, bias):
    return torch.sigmoid(weight * F.adaptive_avg_pool2d(x, 1) + bias)
''', "spatial_gate": '''
def spatial_gate(x, weight, bias, gn_weight, gn_bias, eps=1e-5):
    if x.shape[0] * x.shape[2] * x.shape[3] == 1:      # group_norm refuses a single value per group
        normed = gn_bias.view(1, -1, 1, 1).expand_as(x)
    else:
        normed = F.group_norm(x, x.shape[1], gn_weight, gn_bias, eps)
    return torch.sigmoid(weight * normed + bias)
''', "shuffle_attention": '''
class ShuffleAttention(nn.Module):
    def __init__(self, channels: int, *, groups: int = 64):
        super().__init__()
        if type(channels) is not int or type(groups) is not int:
            raise ValueError(f"channels and groups must be ints, got channels={channels!r}, groups={groups!r}")
        if channels <= 0 or groups <= 0:
            raise ValueError(f"need channels >= 1 and groups >= 1, got channels={channels}, groups={groups}")
        if channels % (2 * groups) != 0:
            lower = channels // (2 * groups) * (2 * groups)
            raise ValueError(f"channels={channels} must be a multiple of 2*groups (groups={groups}): try channels="
                             f"{lower if lower > 0 else 2 * groups} or {lower + 2 * groups}")
        self.G = groups
        self.gn = nn.GroupNorm(channels // (2 * groups), channels // (2 * groups))
        shape = (1, channels // (2 * groups), 1, 1)
        self.cweight = nn.Parameter(torch.zeros(shape))
        self.cbias = nn.Parameter(torch.ones(shape))
        self.sweight = nn.Parameter(torch.zeros(shape))
        self.sbias = nn.Parameter(torch.ones(shape))

    @staticmethod
    def channel_shuffle(x, groups):
        b, c, h, w = x.shape
        return x.reshape(b, groups, -1, h, w).permute(0, 2, 1, 3, 4).reshape(b, -1, h, w)

    def gate(self, x):
        b, c, h, w = x.size()
        x = x.view(b * self.G, -1, h, w)
        x_0, x_1 = x.chunk(2, dim=1)
        g_0 = channel_gate(x_0, self.cweight, self.cbias).expand_as(x_0)
        g_1 = spatial_gate(x_1, self.sweight, self.sbias, self.gn.weight, self.gn.bias, self.gn.eps)
        return torch.cat([g_0, g_1], dim=1).contiguous().view(b, -1, h, w)

    def forward(self, x):
        return self.channel_shuffle(x * self.gate(x), 2)
''', "sa_params": """
def sa_added_parameters(channels_per_block, groups=64):
    return sum(3 * C // groups for C in channels_per_block)
""", "fix_channel_dealer": '''
class ChannelDealer(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1, channels, 1, 1))

    @classmethod
    def deal(cls, x, groups):
        b, c, h, w = x.shape
        return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)

    def forward(self, x):
        return self.deal(x * self.scale, 2)
''', "batch_question": """
must_change_a = frozenset()
must_change_b = frozenset({"channels"})
must_change_c = frozenset(["groups", "channels"])
"""},
    # One normalisation of all channels and coefficients repeated over the groups, as the reference does.
    "one_group_norm_for_all_channels": {"channel_gate": '''
def channel_gate(x, weight, bias):
    n, c, h, w = x.shape
    pooled = torch.einsum("nchw->nc", x) / (h * w)
    return torch.sigmoid(torch.addcmul(bias.view(1, c), weight.view(1, c), pooled)).view(n, c, 1, 1)
''', "spatial_gate": '''
def spatial_gate(x, weight, bias, gn_weight, gn_bias, eps=1e-5):
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
    x_hat = (x - mean) * torch.rsqrt(var + eps)
    return torch.sigmoid(weight * gn_weight[None, :, None, None] * x_hat + (weight * gn_bias[None, :, None, None] + bias))
''', "shuffle_attention": '''
def _fits(channels, groups):
    return [g for g in range(2, channels // 2 + 1) if channels % (2 * g) == 0]


class ShuffleAttention(nn.Module):
    def __init__(self, channels, *, groups=64):
        super().__init__()
        for name, value in {"channels": channels, "groups": groups}.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if channels % (2 * groups):
            hint = f"channels={2 * groups * (channels // (2 * groups) + 1)}"
            if _fits(channels, groups):
                hint += f" or groups={min(_fits(channels, groups), key=lambda g: abs(g - groups))}"
            raise ValueError(f"ShuffleAttention({channels}, groups={groups}): channels % (2 * groups) = "
                             f"{channels % (2 * groups)}, not 0; {hint} works")
        c = channels // (2 * groups)
        self.channels, self.groups = channels, groups
        self.sweight, self.sbias = nn.Parameter(torch.zeros(1, c, 1, 1)), nn.Parameter(torch.ones(1, c, 1, 1))
        self.cweight, self.cbias = nn.Parameter(torch.zeros(1, c, 1, 1)), nn.Parameter(torch.ones(1, c, 1, 1))
        self.gn = nn.GroupNorm(num_groups=c, num_channels=c, eps=1e-5, affine=True)

    def _per_channel(self, first, second):
        """Two (1, c, 1, 1) tensors as one (1, C, 1, 1): [first, second] in every group."""
        return torch.cat([first, second], dim=1).repeat(1, self.groups, 1, 1)

    def gate(self, x):
        b, C, h, w = x.shape
        if h * w > 1:
            x_hat = F.group_norm(x, C, eps=self.gn.eps)
        else:
            x_hat = torch.zeros_like(x)
        mean = x.mean(dim=(2, 3), keepdim=True)
        c = C // (2 * self.groups)
        gamma, beta = self.gn.weight.view(1, c, 1, 1), self.gn.bias.view(1, c, 1, 1)
        scale = self._per_channel(torch.zeros_like(self.cweight), self.sweight * gamma)
        shift_fixed = self._per_channel(self.cbias, self.sweight * beta + self.sbias)
        weight_mean = self._per_channel(self.cweight, torch.zeros_like(self.sweight))
        return torch.sigmoid(scale * x_hat + weight_mean * mean + shift_fixed)

    def forward(self, x):
        y = x * self.gate(x)
        return torch.stack(y.chunk(2, dim=1), dim=2).flatten(1, 2)
''', "sa_params": """
def sa_added_parameters(channels_per_block, groups=64):
    total = 0
    for C in channels_per_block:
        half = C // groups // 2
        total += half * 6
    return total
""", "fix_channel_dealer": '''
def _deal(x, groups):
    return torch.cat([x[:, k::x.shape[1] // groups] for k in range(x.shape[1] // groups)], dim=1)


class ChannelDealer(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1, channels, 1, 1))

    deal = staticmethod(_deal)

    def forward(self, x):
        return ChannelDealer.deal(self.scale * x, 2)
'''},
    # Loops over the groups, an InstanceNorm2d holding gamma and beta, hand-written normalisation.
    "loops_over_groups_with_an_instance_norm": {"spatial_gate": '''
def spatial_gate(x, weight, bias, gn_weight, gn_bias, eps=1e-5):
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    mean = flat.mean(dim=2, keepdim=True)
    var = ((flat - mean) ** 2).mean(dim=2, keepdim=True)
    normed = ((flat - mean) / (var + eps).sqrt()) * gn_weight.view(1, c, 1) + gn_bias.view(1, c, 1)
    return torch.sigmoid(weight.view(1, c, 1) * normed + bias.view(1, c, 1)).reshape(n, c, h, w)
''', "shuffle_attention": '''
class ShuffleAttention(nn.Module):
    """Shuffle attention, one group at a time."""

    def __init__(self, channels, *, groups=64):
        super().__init__()
        ok_types = isinstance(channels, int) and isinstance(groups, int) and not isinstance(groups, bool)
        if not ok_types or channels < 1 or groups < 1:
            raise ValueError(f"channels and groups must be positive integers (got channels={channels}, groups={groups})")
        if channels % (2 * groups) != 0:
            raise ValueError(f"ShuffleAttention needs channels divisible by 2*groups; got channels={channels} with "
                             f"groups={groups}. With groups={groups}, use channels={2 * groups * (channels // (2 * groups) + 1)}.")
        self.groups = groups
        c = channels // groups // 2
        for name, start in (("cweight", 0.0), ("cbias", 1.0), ("sweight", 0.0), ("sbias", 1.0)):
            self.register_parameter(name, nn.Parameter(torch.full((1, c, 1, 1), start)))
        self.gn = nn.InstanceNorm2d(c, affine=True)

    def gate(self, x):
        width = x.shape[1] // self.groups
        half = width // 2
        gates = []
        for k in range(self.groups):
            part = x[:, k * width:(k + 1) * width]
            gates.append(channel_gate(part[:, :half], self.cweight, self.cbias).expand(-1, -1, x.shape[2], x.shape[3]))
            gates.append(spatial_gate(part[:, half:], self.sweight, self.sbias, self.gn.weight, self.gn.bias, self.gn.eps))
        return torch.cat(gates, dim=1)

    def forward(self, x):
        y = self.gate(x) * x
        C = y.shape[1]
        order = [(k % 2) * (C // 2) + k // 2 for k in range(C)]
        return y[:, order]
''', "fix_channel_dealer": '''
class ChannelDealer(nn.Module):
    """Fixed: deal is a static method."""

    def __init__(self, channels):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels).view(1, channels, 1, 1))

    @staticmethod
    def deal(x, groups):
        return rearrange(x, "b (g n) h w -> b (n g) h w", g=groups)

    def forward(self, x):
        scaled = x * self.scale
        return self.deal(scaled, groups=2)
''', "batch_question": """
must_change_a = set()
must_change_b = set(["channels"])
must_change_c = {"groups", "channels"}
"""},
    # LayerNorm over the two spatial axes of each sample and channel is the same normalisation.
    "layer_norm_over_the_positions": {"channel_gate": '''
def channel_gate(x, weight, bias):
    return (weight * x.mean(dim=(-1, -2), keepdim=True) + bias).sigmoid()
''', "spatial_gate": '''
def spatial_gate(x, weight, bias, gn_weight, gn_bias, eps=1e-5):
    x_hat = F.layer_norm(x, x.shape[-2:], eps=eps)
    return torch.sigmoid(weight * (x_hat * gn_weight[:, None, None] + gn_bias[:, None, None]) + bias)
'''},
}

# A hanging cell is tested in notebooks 01-03 (the autograder's timeout does not depend on the
# notebook, and each hanging case costs the whole timeout of CI time).
