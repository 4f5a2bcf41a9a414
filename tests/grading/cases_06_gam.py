"""Submissions for 06_gam that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work (they must score 0
on every part they touch, and raise a flag for the instructor). CORRECT cases are written
differently from the solution and must keep full marks.

GAMAttention is built from the student's own GAMChannelMLP and GAMSpatialBranch, so a wrong part
also costs the GAMAttention tests (``_GAM``) wherever GAM's numbers or structure show it.
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "06_gam"

_RATE_CHECK = '''        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1 or channels // rate < 1:
            raise ValueError(f"need an int rate >= 1 and channels // rate >= 1, got channels={channels}, rate={rate!r}")
'''

# --------------------------------------------------------------------------------- GAMChannelMLP
_MLP_HEADER = '''
class GAMChannelMLP(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
'''
_MLP_LAYERS = _RATE_CHECK + """        self.fc1 = nn.Linear(channels, channels // rate)
        self.fc2 = nn.Linear(channels // rate, channels)
"""


def _mlp(forward_body: str, init: str = _MLP_LAYERS) -> str:
    return _MLP_HEADER + init + "\n    def forward(self, x):\n" + forward_body


# --------------------------------------------------------------------------------- GAMSpatialBranch
_SPATIAL_HEADER = '''
class GAMSpatialBranch(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
'''
_SPATIAL_LAYERS = _RATE_CHECK + """        self.conv1 = nn.Conv2d(channels, channels // rate, 7, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // rate)
        self.conv2 = nn.Conv2d(channels // rate, channels, 7, padding=3, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
"""
_SPATIAL_FORWARD_OK = """        return self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
"""


def _spatial(forward_body: str = _SPATIAL_FORWARD_OK, init: str = _SPATIAL_LAYERS) -> str:
    return _SPATIAL_HEADER + init + "\n    def forward(self, x):\n" + forward_body


# --------------------------------------------------------------------------------- GAMAttention
_GAM_HEADER = '''
class GAMAttention(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
'''
_GAM_PARTS = """        self.channel_mlp = GAMChannelMLP(channels, rate=rate)
        self.spatial = GAMSpatialBranch(channels, rate=rate)
"""
_CHANNEL_GATE_OK = "return torch.sigmoid(self.channel_mlp(x))"
_SPATIAL_GATE_OK = "return torch.sigmoid(self.spatial(x1))"
_FORWARD_OK = """x1 = x * self.channel_gate(x)
        return x1 * self.spatial_gate(x1)"""


def _gam(parts: str = _GAM_PARTS, channel_gate: str = _CHANNEL_GATE_OK, spatial_gate: str = _SPATIAL_GATE_OK,
         forward: str = _FORWARD_OK) -> str:
    return (_GAM_HEADER + parts
            + "\n    def channel_gate(self, x):\n        " + channel_gate
            + "\n\n    def spatial_gate(self, x1):\n        " + spatial_gate
            + "\n\n    def forward(self, x):\n        " + forward + "\n")


# --------------------------------------------------------------------------------- GroupedSpatialBranch
_GROUPED_HEADER = '''
class GroupedSpatialBranch(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
'''
_GROUPED_CHECK = '''        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
            raise ValueError(f"rate must be an int >= 1, got rate={rate!r}")
        if channels < 1 or channels % (rate * rate):
            raise ValueError(f"channels={channels} must be a positive multiple of rate * rate = {rate * rate}")
'''
_GROUPED_LAYERS = """        self.rate = rate
        self.conv1 = nn.Conv2d(channels, channels // rate, 7, padding=3, groups=rate, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // rate)
        self.conv2 = nn.Conv2d(channels // rate, channels, 7, padding=3, groups=rate, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
"""
_GROUPED_FORWARD_OK = """        hidden = torch.relu(self.bn1(self.conv1(x)))
        hidden = rearrange(hidden, "b (g c) h w -> b (c g) h w", g=self.rate)
        return self.bn2(self.conv2(hidden))
"""


def _grouped(forward_body: str = _GROUPED_FORWARD_OK, check: str = _GROUPED_CHECK,
             layers: str = _GROUPED_LAYERS) -> str:
    return _GROUPED_HEADER + check + layers + "\n    def forward(self, x):\n" + forward_body


_CHANNEL = {"test_channel_structure", "test_channel_behaviour", "test_channel_reference"}
_SPATIAL = {"test_spatial_structure", "test_spatial_behaviour", "test_spatial_reference"}
_GAM = {"test_gam_behaviour", "test_gam_reference"}
_GROUPED = {"test_fix_grouped_check", "test_fix_grouped_reference"}

_NO_CHANNEL_SIGMOID = _gam(channel_gate="return self.channel_mlp(x)")

WRONG = {
    # ---- the channel branch
    "mlp_view_without_permute": Wrong({"gam_channel_mlp": _mlp("""        B, C, H, W = x.shape
        out = self.fc2(torch.relu(self.fc1(x.reshape(B, H, W, C))))
        return out.reshape(B, C, H, W)
""")}, loses={"test_channel_behaviour", "test_channel_reference", "test_gam_reference"}),
    "mlp_back_with_reshape": Wrong({"gam_channel_mlp": _mlp("""        B, C, H, W = x.shape
        out = self.fc2(torch.relu(self.fc1(x.permute(0, 2, 3, 1))))
        return out.reshape(B, C, H, W)
""")}, loses={"test_channel_behaviour", "test_channel_reference", "test_gam_reference"}),
    "mlp_missing_relu": Wrong({"gam_channel_mlp": _mlp("""        out = self.fc2(self.fc1(rearrange(x, "b c h w -> b h w c")))
        return rearrange(out, "b h w c -> b c h w")
""")}, loses={"test_channel_behaviour", "test_channel_reference", "test_gam_reference"}),
    "mlp_applies_the_sigmoid": Wrong({"gam_channel_mlp": _mlp("""        out = self.fc2(torch.relu(self.fc1(rearrange(x, "b c h w -> b h w c"))))
        return torch.sigmoid(rearrange(out, "b h w c -> b c h w"))
""")}, loses={"test_channel_behaviour", "test_channel_reference"} | _GAM),
    "mlp_pools_the_positions_first": Wrong({"gam_channel_mlp": _mlp("""        pooled = x.mean(dim=(2, 3))
        return self.fc2(torch.relu(self.fc1(pooled)))[:, :, None, None]
""")}, loses={"test_channel_behaviour", "test_channel_reference"} | _GAM),
    "mlp_without_bias": Wrong({"gam_channel_mlp": _mlp("""        out = self.fc2(torch.relu(self.fc1(rearrange(x, "b c h w -> b h w c"))))
        return rearrange(out, "b h w c -> b c h w")
""", init=_RATE_CHECK + """        self.fc1 = nn.Linear(channels, channels // rate, bias=False)
        self.fc2 = nn.Linear(channels // rate, channels, bias=False)
""")}, loses=_CHANNEL | _GAM),
    "mlp_rate_fixed_at_4": Wrong({"gam_channel_mlp": _mlp("""        out = self.fc2(torch.relu(self.fc1(rearrange(x, "b c h w -> b h w c"))))
        return rearrange(out, "b h w c -> b c h w")
""", init=_RATE_CHECK + """        self.fc1 = nn.Linear(channels, channels // 4)
        self.fc2 = nn.Linear(channels // 4, channels)
""")}, loses=_CHANNEL | _GAM),
    "mlp_accepts_a_float_rate": Wrong({"gam_channel_mlp": _mlp("""        out = self.fc2(torch.relu(self.fc1(rearrange(x, "b c h w -> b h w c"))))
        return rearrange(out, "b h w c -> b c h w")
""", init='''        if rate < 1 or channels // rate < 1:
            raise ValueError(f"channels={channels} with rate={rate} leaves no hidden unit")
        self.fc1 = nn.Linear(channels, int(channels // rate))
        self.fc2 = nn.Linear(int(channels // rate), channels)
''')}, loses={"test_channel_structure"}),
    "mlp_error_without_values": Wrong({"gam_channel_mlp": _mlp("""        out = self.fc2(torch.relu(self.fc1(rearrange(x, "b c h w -> b h w c"))))
        return rearrange(out, "b h w c -> b c h w")
""", init='''        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1 or channels // rate < 1:
            raise ValueError("the rate leaves no hidden unit")
        self.fc1 = nn.Linear(channels, channels // rate)
        self.fc2 = nn.Linear(channels // rate, channels)
''')}, loses={"test_channel_structure", "test_gam_behaviour"}),
    # ---- the spatial branch
    "spatial_padding_1": Wrong({"gam_spatial_branch": _spatial(init=_RATE_CHECK + """        self.conv1 = nn.Conv2d(channels, channels // rate, 7, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // rate)
        self.conv2 = nn.Conv2d(channels // rate, channels, 7, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
""")}, loses=_SPATIAL | _GAM),
    "spatial_kernel_3": Wrong({"gam_spatial_branch": _spatial(init=_RATE_CHECK + """        self.conv1 = nn.Conv2d(channels, channels // rate, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // rate)
        self.conv2 = nn.Conv2d(channels // rate, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
""")}, loses=_SPATIAL | _GAM),
    "spatial_missing_relu": Wrong({"gam_spatial_branch": _spatial("""        return self.bn2(self.conv2(self.bn1(self.conv1(x))))
""")}, loses={"test_spatial_behaviour", "test_spatial_reference", "test_gam_reference"}),
    "spatial_missing_second_batchnorm": Wrong({"gam_spatial_branch": _spatial("""        return self.conv2(torch.relu(self.bn1(self.conv1(x))))
""", init=_RATE_CHECK + """        self.conv1 = nn.Conv2d(channels, channels // rate, 7, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // rate)
        self.conv2 = nn.Conv2d(channels // rate, channels, 7, padding=3, bias=False)
""")}, loses=_SPATIAL | _GAM),
    "spatial_batchnorm_never_applied": Wrong({"gam_spatial_branch": _spatial("""        return self.conv2(torch.relu(self.conv1(x)))
""")}, loses={"test_spatial_behaviour", "test_spatial_reference"} | _GAM),
    "spatial_relu_after_the_last_batchnorm": Wrong({"gam_spatial_branch": _spatial("""        return torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))
""")}, loses={"test_spatial_behaviour", "test_spatial_reference", "test_gam_reference"}),
    "spatial_convs_with_bias": Wrong({"gam_spatial_branch": _spatial(init=_RATE_CHECK + """        self.conv1 = nn.Conv2d(channels, channels // rate, 7, padding=3)
        self.bn1 = nn.BatchNorm2d(channels // rate)
        self.conv2 = nn.Conv2d(channels // rate, channels, 7, padding=3)
        self.bn2 = nn.BatchNorm2d(channels)
""")}, loses=_SPATIAL | _GAM),
    "spatial_batchnorm_always_in_eval_mode": Wrong({"gam_spatial_branch": _spatial("""        def bn(layer, s):
            return F.batch_norm(s, layer.running_mean, layer.running_var, layer.weight, layer.bias,
                                training=False, eps=layer.eps)
        return bn(self.bn2, self.conv2(torch.relu(bn(self.bn1, self.conv1(x)))))
""")}, loses={"test_spatial_reference", "test_gam_reference"}),
    # ---- GAMAttention
    "no_sigmoid_on_the_channel_branch": Wrong({"gam_attention": _NO_CHANNEL_SIGMOID}, loses=_GAM),
    "no_sigmoid_on_the_spatial_branch": Wrong({"gam_attention": _gam(spatial_gate="return self.spatial(x1)")},
                                              loses=_GAM),
    "spatial_before_channel": Wrong({"gam_attention": _gam(forward="""x1 = x * self.spatial_gate(x)
        return x1 * self.channel_gate(x1)""")}, loses=_GAM),
    "spatial_gate_computed_on_x": Wrong({"gam_attention": _gam(forward="""x1 = x * self.channel_gate(x)
        return x1 * self.spatial_gate(x)""")}, loses=_GAM),
    "spatial_gate_applied_to_x": Wrong({"gam_attention": _gam(forward="""x1 = x * self.channel_gate(x)
        return x * self.spatial_gate(x1)""")}, loses=_GAM),
    "gates_in_parallel": Wrong({"gam_attention": _gam(forward="""return x * self.channel_gate(x) * self.spatial_gate(x)""")},
                               loses=_GAM),
    "rate_not_passed_on": Wrong({"gam_attention": _gam(parts="""        self.channel_mlp = GAMChannelMLP(channels)
        self.spatial = GAMSpatialBranch(channels)
""")}, loses=_GAM),
    "default_rate_16": Wrong({"gam_attention": _gam().replace("rate=4):", "rate=16):", 1)},
                             loses={"test_gam_behaviour"}),
    "parts_under_other_names": Wrong({"gam_attention": _gam(
        parts="""        self.channel = GAMChannelMLP(channels, rate=rate)
        self.spatial_branch = GAMSpatialBranch(channels, rate=rate)
""", channel_gate="return torch.sigmoid(self.channel(x))",
        spatial_gate="return torch.sigmoid(self.spatial_branch(x1))")}, loses=_GAM),
    # ---- parameter count
    "params_with_conv_bias": Wrong({"gam_params": """
def gam_added_parameters(channels_per_block, rate=4):
    return sum(100 * C * (C // rate) + 4 * (C // rate) + 4 * C for C in channels_per_block)
"""}, loses={"test_gam_params"}),
    "params_without_batchnorm": Wrong({"gam_params": """
def gam_added_parameters(channels_per_block, rate=4):
    return sum(100 * C * (C // rate) + C // rate + C for C in channels_per_block)
"""}, loses={"test_gam_params"}),
    "params_rate_fixed_at_4": Wrong({"gam_params": """
def gam_added_parameters(channels_per_block, rate=4):
    return sum(100 * C * (C // 4) + 3 * (C // 4) + 3 * C for C in channels_per_block)
"""}, loses={"test_gam_params"}),
    "params_without_floor": Wrong({"gam_params": """
def gam_added_parameters(channels_per_block, rate=4):
    return sum(100 * C * C / rate + 3 * C / rate + 3 * C for C in channels_per_block)
"""}, loses={"test_gam_params"}),
    # ---- find and fix: the grouped branch
    "fix_without_a_check": Wrong({"fix_grouped": _grouped(check="")}, loses={"test_fix_grouped_check"}),
    "fix_checks_rate_not_rate_squared": Wrong({"fix_grouped": _grouped(check='''        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
            raise ValueError(f"rate must be an int >= 1, got rate={rate!r}")
        if channels < 1 or channels % rate:
            raise ValueError(f"channels={channels} must be a positive multiple of rate = {rate}")
''')}, loses={"test_fix_grouped_check"}),
    "fix_message_without_the_rule": Wrong({"fix_grouped": _grouped(check='''        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
            raise ValueError(f"rate must be an int >= 1, got rate={rate!r}")
        if channels < 1 or channels % (rate * rate):
            raise ValueError(f"GroupedSpatialBranch cannot use channels={channels}")
''')}, loses={"test_fix_grouped_check"}),
    "fix_without_the_shuffle": Wrong({"fix_grouped": _grouped("""        return self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
""")}, loses={"test_fix_grouped_reference"}),
    "fix_shuffle_the_other_way": Wrong({"fix_grouped": _grouped("""        hidden = torch.relu(self.bn1(self.conv1(x)))
        hidden = rearrange(hidden, "b (c g) h w -> b (g c) h w", g=self.rate)
        return self.bn2(self.conv2(hidden))
""")}, loses={"test_fix_grouped_reference"}),
    "fix_shuffles_the_output": Wrong({"fix_grouped": _grouped("""        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return rearrange(out, "b (g c) h w -> b (c g) h w", g=4)
""")}, loses={"test_fix_grouped_reference"}),
    "fix_groups_on_the_first_conv_only": Wrong({"fix_grouped": _grouped(layers="""        self.rate = rate
        self.conv1 = nn.Conv2d(channels, channels // rate, 7, padding=3, groups=rate, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // rate)
        self.conv2 = nn.Conv2d(channels // rate, channels, 7, padding=3, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
""")}, loses=_GROUPED),
    # ---- cheating: the answer key imported, subclassed, wrapped or built by the factory
    "cheat_import_reference": Wrong({"gam_attention": """
from attn_course.modules import GAMAttention
"""}, loses=_GAM),
    "cheat_subclass_reference": Wrong({"gam_attention": """
from attn_course.modules import gam as _reference

class GAMAttention(_reference.GAMAttention):
    pass
"""}, loses=_GAM),
    "cheat_wrap_reference": Wrong({"gam_attention": """
import attn_course.modules

class GAMAttention(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
        inner = attn_course.modules.GAMAttention(channels, rate=rate)
        self.channel_mlp, self.spatial = inner.channel_mlp, inner.spatial
        object.__setattr__(self, "inner", [inner])

    def channel_gate(self, x):
        return self.inner[0].channel_gate(x)

    def spatial_gate(self, x1):
        return self.inner[0].spatial_gate(x1)

    def forward(self, x):
        return self.inner[0](x)
"""}, loses=_GAM),
    "cheat_create_attention": Wrong({"gam_attention": """
from attn_course import create_attention

def GAMAttention(channels, *, rate=4):
    return create_attention("gam", channels, rate=rate)
"""}, loses=_GAM),
    "cheat_reference_spatial_branch": Wrong({"fix_grouped": '''
from attn_course import create_attention as _factory

class GroupedSpatialBranch(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
        reference = _factory("gam", channels, rate=rate, grouped=True).spatial
        self.rate = rate
        self.conv1, self.bn1, self.conv2, self.bn2 = reference.conv1, reference.bn1, reference.conv2, reference.bn2

    def forward(self, x):
        hidden = torch.relu(self.bn1(self.conv1(x)))
        hidden = rearrange(hidden, "b (g c) h w -> b (c g) h w", g=self.rate)
        return self.bn2(self.conv2(hidden))
'''}, loses=_GROUPED),
    "cheat_reference_called_at_run_time": Wrong({"gam_channel_mlp": _mlp("""        module = __import__("attn_course.modules.gam", fromlist=["GAMAttention"])
        reference = module.GAMAttention(x.shape[1], rate=x.shape[1] // self.fc1.out_features)
        reference.channel_mlp.fc1, reference.channel_mlp.fc2 = self.fc1, self.fc2
        reference.channel_sigmoid = False
        return reference.channel_gate(x)
""")}, loses={"test_channel_behaviour", "test_channel_reference"} | _GAM),
    "cheat_reference_gate_through_a_closure": Wrong({"gam_attention": '''
from attn_course import create_attention as _ca

def _make(channels, rate):
    ref = _ca("gam", channels, rate=rate)
    return ref.channel_mlp, ref.spatial, (lambda self, x: type(ref).forward(self, x))

class GAMAttention(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
        self.channel_mlp, self.spatial, fn = _make(channels, rate)
        self.channels, self.channel_sigmoid = channels, True
        self._fn = fn

    def channel_gate(self, x):
        return torch.sigmoid(self.channel_mlp(rearrange(x, "b c h w -> b h w c"))).permute(0, 3, 1, 2)

    def spatial_gate(self, x1):
        return torch.sigmoid(self.spatial(x1))

    def forward(self, x):
        return self._fn(self, x)
'''}, loses=_GAM),
    "cheat_tensor_subclass_lies": Wrong({"gam_attention": cheats.LIAR_TENSOR + _gam(
        forward="""x1 = x * self.channel_gate(x)
        return (x1 * self.spatial(x1)).as_subclass(_Liar)""")}, loses=_GAM),
    "cheat_number_that_equals_anything": Wrong(
        {"gam_params": cheats.always_equal("gam_added_parameters(channels_per_block, rate=4)")},
        loses={"test_gam_params"}),
    # Needs the real kernel: the tests' definitions are found through the cells' pseudo-files.
}

CORRECT = {
    # The MLP as two 1x1 convolutions on the Linear layers' weights; the branch as a Sequential
    # subclass; the gates multiplied with torch.mul; the parameter count from separate terms.
    "conv1x1_and_sequential": {"gam_channel_mlp": '''
class GAMChannelMLP(nn.Module):
    def __init__(self, channels: int, *, rate: int = 4):
        super().__init__()
        if type(rate) is not int or rate <= 0:
            raise ValueError(f"rate must be a positive int, got rate={rate!r} (channels={channels})")
        if channels // rate == 0:
            raise ValueError(f"channels={channels} // rate={rate} is 0: no hidden unit")
        self.fc1 = nn.Linear(channels, channels // rate)
        self.fc2 = nn.Linear(channels // rate, channels, bias=True)

    def forward(self, x):
        w1 = self.fc1.weight[:, :, None, None]
        w2 = self.fc2.weight[:, :, None, None]
        return F.conv2d(F.relu(F.conv2d(x, w1, self.fc1.bias)), w2, self.fc2.bias)
''', "gam_spatial_branch": '''
from collections import OrderedDict

class GAMSpatialBranch(nn.Sequential):
    def __init__(self, channels: int, *, rate: int = 4):
        if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= channels:
            raise ValueError(f"GAMSpatialBranch: rate={rate!r} must be an int from 1 to channels={channels}")
        hidden = channels // rate
        super().__init__(OrderedDict([
            ("conv1", nn.Conv2d(channels, hidden, kernel_size=(7, 7), padding="same", bias=False)),
            ("bn1", nn.BatchNorm2d(hidden)),
            ("act", nn.ReLU(inplace=True)),
            ("conv2", nn.Conv2d(hidden, channels, kernel_size=(7, 7), padding="same", bias=False)),
            ("bn2", nn.BatchNorm2d(channels, momentum=0.03)),
        ]))
''', "gam_attention": '''
class GAMAttention(nn.Module):
    def __init__(self, channels: int, *, rate: int = 4):
        super().__init__()
        self.spatial = GAMSpatialBranch(channels, rate=rate)
        self.channel_mlp = GAMChannelMLP(channels, rate=rate)

    def channel_gate(self, x):
        return self.channel_mlp(x).sigmoid()

    def spatial_gate(self, x1):
        return self.spatial(x1).sigmoid()

    def forward(self, x):
        refined = torch.mul(self.channel_gate(x), x)
        return torch.mul(refined, self.spatial_gate(refined))
''', "gam_params": """
def gam_added_parameters(channels_per_block, rate=4):
    total = 0
    for C in channels_per_block:
        h = C // rate
        total += C * h + h          # fc1
        total += h * C + C          # fc2
        total += 49 * C * h + 2 * h # conv1, bn1
        total += 49 * h * C + 2 * C # conv2, bn2
    return total
""", "fix_grouped": '''
class GroupedSpatialBranch(nn.Module):
    def __init__(self, channels: int, *, rate: int = 4):
        super().__init__()
        if not isinstance(rate, int) or isinstance(rate, bool) or rate < 1:
            raise ValueError(f"rate={rate!r} is not a positive integer")
        if channels <= 0 or channels % rate or (channels // rate) % rate:
            raise ValueError(f"channels={channels} is not a positive multiple of rate^2={rate ** 2}")
        self.rate = rate
        self.conv1 = nn.Conv2d(channels, channels // rate, 7, padding=3, groups=rate, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // rate)
        self.conv2 = nn.Conv2d(channels // rate, channels, 7, padding=3, groups=rate, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        hidden = F.relu(self.bn1(self.conv1(x)))
        B, C, H, W = hidden.shape
        hidden = hidden.view(B, self.rate, C // self.rate, H, W).transpose(1, 2).reshape(B, C, H, W)
        return self.bn2(self.conv2(hidden))
'''},
    # einsum for the MLP, functional convolutions and batch norms, a Sequential of Linear layers as
    # channel_mlp (the same state dict), an index-based shuffle.
    "einsum_and_functional": {"gam_channel_mlp": '''
class GAMChannelMLP(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
        ok = isinstance(rate, int) and not isinstance(rate, bool) and rate >= 1 and channels >= rate
        if not ok:
            raise ValueError(f"GAMChannelMLP({channels}, rate={rate!r}): need an integer rate between 1 and channels")
        self.fc1 = nn.Linear(channels, channels // rate)
        self.fc2 = nn.Linear(channels // rate, channels)

    def forward(self, x):
        h = torch.einsum("bchw,kc->bkhw", x, self.fc1.weight) + self.fc1.bias.view(1, -1, 1, 1)
        h = torch.clamp(h, min=0)
        return torch.einsum("bkhw,ck->bchw", h, self.fc2.weight) + self.fc2.bias.view(1, -1, 1, 1)
''', "gam_spatial_branch": '''
class GAMSpatialBranch(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
            raise ValueError(f"rate must be an int >= 1, got rate={rate!r} for channels={channels}")
        if channels < rate:
            raise ValueError(f"channels={channels} < rate={rate}: no hidden channel")
        h = channels // rate
        self.conv1, self.bn1 = nn.Conv2d(channels, h, 7, padding=3, bias=False), nn.BatchNorm2d(h)
        self.conv2, self.bn2 = nn.Conv2d(h, channels, 7, padding=3, bias=False), nn.BatchNorm2d(channels)

    def _bn(self, layer, s):
        return F.batch_norm(s, layer.running_mean, layer.running_var, layer.weight, layer.bias,
                            training=self.training, momentum=layer.momentum, eps=layer.eps)

    def forward(self, x):
        s = self._bn(self.bn1, F.conv2d(x, self.conv1.weight, padding=3))
        return self._bn(self.bn2, F.conv2d(F.relu(s), self.conv2.weight, padding=3))
''', "gam_attention": '''
from collections import OrderedDict

class GAMAttention(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
        mlp = GAMChannelMLP(channels, rate=rate)
        self.channel_mlp = nn.Sequential(OrderedDict(fc1=mlp.fc1, relu=nn.ReLU(), fc2=mlp.fc2))
        self.spatial = GAMSpatialBranch(channels, rate=rate)

    def channel_gate(self, x):
        per_pixel = self.channel_mlp(x.permute(0, 2, 3, 1))
        return 1 / (1 + torch.exp(-per_pixel.permute(0, 3, 1, 2)))

    def spatial_gate(self, x1):
        return torch.sigmoid(self.spatial(x1))

    def forward(self, x):
        x1 = self.channel_gate(x) * x
        gate = self.spatial_gate(x1)
        return gate * x1
''', "gam_params": """
def gam_added_parameters(channels_per_block, rate=4):
    hidden = [c // rate for c in channels_per_block]
    return sum(100 * c * h for c, h in zip(channels_per_block, hidden)) + 3 * sum(hidden) + 3 * sum(channels_per_block)
""", "fix_grouped": '''
class GroupedSpatialBranch(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
        if type(rate) is not int or rate < 1:
            raise ValueError(f"GroupedSpatialBranch: rate={rate!r} must be a whole number >= 1")
        if channels < 1 or channels % (rate ** 2) != 0:
            raise ValueError(f"GroupedSpatialBranch: channels={channels} must be divisible by rate**2 = {rate ** 2}")
        self.rate = rate
        hidden = channels // rate
        self.conv1 = nn.Conv2d(channels, hidden, (7, 7), padding=(3, 3), groups=rate, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.conv2 = nn.Conv2d(hidden, channels, (7, 7), padding=(3, 3), groups=rate, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        hidden = torch.relu(self.bn1(self.conv1(x)))
        per_group = hidden.shape[1] // self.rate
        order = [k * per_group + i for i in range(per_group) for k in range(self.rate)]
        return self.bn2(self.conv2(hidden[:, order]))
'''},
    # permute/reshape with a flattened batch of pixels, nn.ReLU modules, the gates through
    # explicit intermediate names, a shuffle through torch.stack / flatten.
    "flattened_pixels": {"gam_channel_mlp": '''
class GAMChannelMLP(nn.Module):
    def __init__(self, channels: int, *, rate: int = 4):
        super().__init__()
        if not (isinstance(rate, int) and not isinstance(rate, bool)):
            raise ValueError(f"rate must be an integer, got {rate!r} (channels={channels})")
        if rate < 1 or channels // rate < 1:
            raise ValueError(f"channels={channels}, rate={rate}: the hidden layer would be empty")
        self.fc1 = nn.Linear(channels, channels // rate)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(channels // rate, channels)

    def forward(self, x):
        B, C, H, W = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(B * H * W, C)
        rows = self.fc2(self.act(self.fc1(rows)))
        return rows.reshape(B, H, W, C).permute(0, 3, 1, 2)
''', "gam_spatial_branch": '''
class GAMSpatialBranch(nn.Module):
    def __init__(self, channels: int, *, rate: int = 4):
        super().__init__()
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1 or channels // rate < 1:
            raise ValueError(f"invalid rate={rate!r} for channels={channels}")
        self.bn1 = nn.BatchNorm2d(channels // rate)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, channels // rate, kernel_size=7, stride=1, padding=3, bias=False)
        self.conv2 = nn.Conv2d(channels // rate, channels, kernel_size=7, stride=1, padding=3, bias=False)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.conv2(x)
        return self.bn2(x)
''', "gam_attention": '''
class GAMAttention(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
        self.channel_mlp = GAMChannelMLP(channels, rate=rate)
        self.spatial = GAMSpatialBranch(channels, rate=rate)

    def channel_gate(self, x):
        logits = self.channel_mlp(x)
        return torch.sigmoid(logits)

    def spatial_gate(self, x1):
        logits = self.spatial(x1)
        return torch.sigmoid(logits)

    def forward(self, x):
        m_c = self.channel_gate(x)
        refined = x * m_c
        m_s = self.spatial_gate(refined)
        return refined * m_s
''', "fix_grouped": '''
class GroupedSpatialBranch(nn.Module):
    def __init__(self, channels, *, rate=4):
        super().__init__()
        if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
            raise ValueError(f"rate={rate!r}: need an integer of at least 1")
        square = rate * rate
        if channels <= 0 or channels % square:
            raise ValueError(f"channels={channels}: grouped convs with rate={rate} need a multiple of {square}")
        self.rate = rate
        self.conv1 = nn.Conv2d(channels, channels // rate, 7, padding=3, groups=rate, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // rate)
        self.conv2 = nn.Conv2d(channels // rate, channels, 7, padding=3, groups=rate, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        hidden = torch.relu(self.bn1(self.conv1(x)))
        groups = hidden.chunk(self.rate, dim=1)
        hidden = torch.stack(groups, dim=2).flatten(1, 2)
        return self.bn2(self.conv2(hidden))
'''},
}

# A hanging cell is tested in notebooks 01-03 (the autograder's timeout does not depend on the
# notebook, and each hanging case costs the whole timeout of CI time).
