"""Submissions for 11_soca_autograd that the grader must judge right.

Each case maps a graded solution cell (its nbgrader grade_id) to what a student might write there;
cells a case does not name hold the correct solution. WRONG cases name the graded cells that must
lose points for them; ``cheat_`` cases try to get points without doing the work (they must score 0
on every part they touch, and raise a flag for the instructor). CORRECT cases are written
differently from the solution and must keep full marks.

The solution's SOCA calls the student's covariance and newton_schulz_sqrt (use_custom_autograd=False)
and CovariancePooling and NewtonSchulzSqrt (True), so a mistake in those also costs the SOCA test
that compares the module with its equations.

A Function whose backward runs autograd on the forward's operations (torch.autograd.grad,
.backward(), torch.func.vjp, a graph kept from the forward) computes correct gradients, but it is not
a hand-derived backward: the notebook states that the graded cells of that backward score 0 and
that every other part keeps its points (a SOCA built on it still earns Part E). It is judged as an
incomplete answer, not as cheating, so those cases are WRONG cases without the ``cheat_`` prefix (they
raise no flag for the instructor: nothing in them is dishonest).
"""

from . import cheats
from .harness import Wrong

ASSIGNMENT = "11_soca_autograd"

_NS_BACKWARD = {"test_ns_gradcheck", "test_ns_backward"}
_SOCA = {"test_soca_structure", "test_soca_reference"}

# ------------------------------------------------------------------------------------ Part A
_COV_HEAD = '''
def covariance(x):
    if x.dim() != 3:
        raise ValueError(f"covariance needs (B, C, M), got shape {tuple(x.shape)}")
'''

# ------------------------------------------------------------------------------------ Part B
_NS_HEAD = '''
def newton_schulz_sqrt(a, iterations):
    if a.dim() != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"newton_schulz_sqrt needs (B, C, C), got shape {tuple(a.shape)}")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
'''


def _ns(scale: str = "torch.where(trace == 0, torch.ones_like(trace), trace)[:, None, None]",
        loop: str = "range(iterations)", step: str = "        y, z = y @ t, t @ z\n",
        result: str = "y * scale.sqrt()", head: str = _NS_HEAD, extra: str = "") -> str:
    return head + f'''    trace = torch.diagonal(a, dim1=1, dim2=2).sum(dim=1)
    scale = {scale}
    eye = torch.eye(a.shape[1], dtype=a.dtype, device=a.device)
{extra}    y, z = a / scale, eye
    for _ in {loop}:
        t = 0.5 * (3 * eye - z @ y)
{step}    return {result}
'''


# ------------------------------------------------------------------------------------ Part C
def _cov_function(backward: str, forward: str = '''        centred = x - x.mean(dim=2, keepdim=True)
        ctx.save_for_backward(centred)
        return centred @ centred.mT / x.shape[2]
''') -> str:
    return f'''
class CovariancePooling(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
{forward}
    @staticmethod
    def backward(ctx, grad_sigma):
{backward}'''


_COV_AUTOGRAD = _cov_function('''        (x,) = ctx.saved_tensors
        with torch.enable_grad():
            leaf = x.detach().requires_grad_()
            centred = leaf - leaf.mean(dim=2, keepdim=True)
            sigma = centred @ centred.mT / leaf.shape[2]
            return torch.autograd.grad(sigma, leaf, grad_sigma)[0]
''', forward='''        ctx.save_for_backward(x)
        centred = x - x.mean(dim=2, keepdim=True)
        return centred @ centred.mT / x.shape[2]
''')

# ------------------------------------------------------------------------------------ Part D
_NSFN_FORWARD = '''    @staticmethod
    def forward(ctx, a, iterations):
        trace = torch.diagonal(a, dim1=1, dim2=2).sum(dim=1)
        scale = torch.where(trace == 0, torch.ones_like(trace), trace)[:, None, None]
        eye = torch.eye(a.shape[1], dtype=a.dtype, device=a.device)
        y, z = a / scale, eye
        ys, zs = [], []
        for k in range(iterations):
            ys.append(y)
            zs.append(z * torch.ones_like(y))
            t = 0.5 * (3 * eye - z @ y)
            y, z = y @ t, t @ z
        ctx.iterations = iterations
        ctx.save_for_backward(scale, *ys, *zs)
        return y * scale.sqrt()
'''
# The backward of the solution's derivation, written with named pieces that the mutants change.
_NSFN_BACKWARD = '''
    @staticmethod
    def backward(ctx, grad_out):
        scale, *saved = ctx.saved_tensors
        n = ctx.iterations
        ys, zs = saved[:n], saved[n:]
        eye = torch.eye(grad_out.shape[-1], dtype=grad_out.dtype, device=grad_out.device)
        root = scale.sqrt()
        y_n = ys[-1] @ (0.5 * (3 * eye - zs[-1] @ ys[-1]))
        grad_y, grad_z = grad_out * root, torch.zeros_like(grad_out)
        grad_scale = (grad_out * y_n).sum(dim=(1, 2), keepdim=True) / (2 * root)
        for k in range(n - 1, -1, -1):
            y, z = ys[k], zs[k]
            t = 0.5 * (3 * eye - z @ y)
            grad_t = y.mT @ grad_y + grad_z @ z.mT
            grad_y, grad_z = grad_y @ t.mT - 0.5 * z.mT @ grad_t, t.mT @ grad_z - 0.5 * grad_t @ y.mT
        grad_scale = grad_scale - (grad_y * ys[0]).sum(dim=(1, 2), keepdim=True) / scale
        return grad_y / scale + grad_scale * eye, None
'''


def _nsfn(backward: str = _NSFN_BACKWARD, forward: str = _NSFN_FORWARD) -> str:
    return "\nclass NewtonSchulzSqrt(torch.autograd.Function):\n" + forward + backward


def _nsfn_with(old: str, new: str) -> str:
    body = _NSFN_BACKWARD
    assert old in body, old
    return _nsfn(body.replace(old, new))


# The forward keeps A; the backward asks autograd to differentiate the forward's loop again.
_NS_LOOP = '''
def _ns_loop(a, n):
    trace = torch.diagonal(a, dim1=1, dim2=2).sum(dim=1)
    scale = torch.where(trace == 0, torch.ones_like(trace), trace)[:, None, None]
    eye = torch.eye(a.shape[1], dtype=a.dtype, device=a.device)
    y, z = a / scale, eye
    for _ in range(n):
        t = 0.5 * (3 * eye - z @ y)
        y, z = y @ t, t @ z
    return y * scale.sqrt()

'''
_NSFN_KEEPS_A = '''    @staticmethod
    def forward(ctx, a, iterations):
        ctx.iterations = iterations
        ctx.save_for_backward(a)
        return _ns_loop(a, iterations)
'''

# ------------------------------------------------------------------------------------ Part E
_SOCA_INIT = '''
class SOCA(nn.Module):
    def __init__(self, channels, *, reduction=16, iterations=5, use_custom_autograd=True):
        super().__init__()
        for name, value in (("channels", channels), ("reduction", reduction), ("iterations", iterations)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SOCA needs {name} to be a positive integer, got {name}={value!r}")
        if channels // reduction < 1:
            raise ValueError(f"SOCA: channels // reduction = {channels} // {reduction} = 0 hidden units")
        self.iterations = iterations
        self.use_custom_autograd = use_custom_autograd
        self.conv_down = nn.Conv2d(channels, channels // reduction, 1)
        self.conv_up = nn.Conv2d(channels // reduction, channels, 1)
'''
_SOCA_DESCRIPTOR = '''        samples = x.flatten(2)
        if self.use_custom_autograd:
            root = NewtonSchulzSqrt.apply(CovariancePooling.apply(samples), self.iterations)
        else:
            root = newton_schulz_sqrt(covariance(samples), self.iterations)
        z = root.mean(dim=1)[:, :, None, None]
'''


def _soca(descriptor: str = _SOCA_DESCRIPTOR, init: str = _SOCA_INIT) -> str:
    return init + '''
    def gate(self, x):
''' + descriptor + '''        return torch.sigmoid(self.conv_up(torch.relu(self.conv_down(z))))

    def forward(self, x):
        return x * self.gate(x)
'''


# ------------------------------------------------------------------------------------ Part F
_FIX_FORWARD = '''
class BufferedSqrt(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, iterations):
        B, C, _ = a.shape
        eye = torch.eye(C, dtype=a.dtype, device=a.device)
        scale = torch.diagonal(a, dim1=1, dim2=2).sum(dim=1).view(B, 1, 1)
        ys = torch.zeros(B, iterations + 1, C, C, DTYPE device=a.device)
        zs = torch.zeros(B, iterations + 1, C, C, DTYPE device=a.device)
        ys[:, 0], zs[:, 0] = a / scale, eye
        ctx.iterations = iterations
        if iterations == 1:
            t = 0.5 * (3 * eye - ys[:, 0])
            ctx.save_for_backward(scale, ys, zs)
            return ONE_STEP * scale.sqrt()
        for k in range(1, iterations + 1):
            t = 0.5 * (3 * eye - zs[:, k - 1] @ ys[:, k - 1])
            ys[:, k] = ys[:, k - 1] @ t
            zs[:, k] = t @ zs[:, k - 1]
        ctx.save_for_backward(scale, ys, zs)
        return ys[:, iterations] * scale.sqrt()

    @staticmethod
    def backward(ctx, grad_out):
        scale, ys, zs = ctx.saved_tensors
        n = ctx.iterations
        eye = torch.eye(grad_out.shape[-1], dtype=grad_out.dtype, device=grad_out.device)
        root = scale.sqrt()
        if n == 1:
            t = 0.5 * (3 * eye - ys[:, 0])
            grad_scale = (grad_out * (ys[:, 0] @ t)).sum(dim=(1, 2), keepdim=True) / (2 * root)
            grad_t = ys[:, 0].mT @ (grad_out * root)
            grad_y = (grad_out * root) @ t.mT - 0.5 * GRAD_T
        else:
            grad_y, grad_z = grad_out * root, torch.zeros_like(grad_out)
            grad_scale = (grad_out * ys[:, n]).sum(dim=(1, 2), keepdim=True) / (2 * root)
            for k in range(n, 0, -1):
                y, z = ys[:, k - 1], zs[:, k - 1]
                t = 0.5 * (3 * eye - z @ y)
                grad_t = y.mT @ grad_y + grad_z @ z.mT
                grad_y, grad_z = grad_y @ t.mT - 0.5 * z.mT @ grad_t, t.mT @ grad_z - 0.5 * grad_t @ y.mT
        grad_scale = grad_scale - (grad_y * ys[:, 0]).sum(dim=(1, 2), keepdim=True) / scale
        return grad_y / scale + grad_scale * eye, None
'''


def _fix(dtype: str = "dtype=a.dtype,", one_step: str = "(ys[:, 0] @ t)", grad_t: str = "grad_t") -> str:
    return _FIX_FORWARD.replace("DTYPE", dtype).replace("ONE_STEP", one_step).replace("GRAD_T", grad_t)


WRONG = {
    # Part A: covariance pooling.
    "cov_not_centred": Wrong({"covariance": _COV_HEAD + "    return x @ x.mT / x.shape[-1]\n"},
                             loses={"test_covariance", "test_soca_reference"}),
    # Part B: the Newton–Schulz forward.
    "ns_one_iteration_too_few": Wrong({"newton_schulz": _ns(loop="range(iterations - 1)")},
                                      loses={"test_ns_values", "test_soca_reference"}),
    # SAN's forward for N = 1: the factor T_1 instead of Y_1 = Y_0 T_1.
    "ns_returns_t_for_one_step": Wrong({"newton_schulz": _ns(extra='''    if iterations == 1:
        return 0.5 * (3 * eye - a / scale) * scale.sqrt()
''')}, loses={"test_ns_values", "test_soca_reference"}),
    "ns_zero_trace_gives_nan": Wrong({"newton_schulz": _ns(scale="trace[:, None, None]")},
                                     loses={"test_ns_values", "test_soca_reference"}),
    "ns_accepts_true_and_floats": Wrong({"newton_schulz": _ns(head='''
def newton_schulz_sqrt(a, iterations):
    if a.dim() != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"newton_schulz_sqrt needs (B, C, C), got shape {tuple(a.shape)}")
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    iterations = int(iterations)
''')}, loses={"test_ns_rules"}),
    # Part C: the covariance Function.
    "covfn_missing_symmetrisation": Wrong({"cov_function": _cov_function('''        (centred,) = ctx.saved_tensors
        return 2 * grad_sigma @ centred / centred.shape[2]
''')}, loses={"test_cov_backward", "test_soca_reference"}),
    "covfn_backward_forgets_the_centring": Wrong({"cov_function": _cov_function('''        (x,) = ctx.saved_tensors
        return (grad_sigma + grad_sigma.mT) @ x / x.shape[2]
''', forward='''        ctx.save_for_backward(x)
        centred = x - x.mean(dim=2, keepdim=True)
        return centred @ centred.mT / x.shape[2]
''')}, loses={"test_cov_backward", "test_soca_reference"}),
    "covfn_backward_by_autograd": Wrong({"cov_function": _COV_AUTOGRAD}, loses={"test_cov_backward"}),
    # Part D: the Newton–Schulz Function.
    # SAN's symmetric form: every transpose of a saved matrix dropped. Right wherever A is symmetric
    # (gradcheck on SPD matrices, SOCA); wrong on the non-symmetric matrices of the hidden test.
    "nsfn_transposes_dropped": Wrong({"ns_function": _nsfn_with(
        "            grad_t = y.mT @ grad_y + grad_z @ z.mT\n"
        "            grad_y, grad_z = grad_y @ t.mT - 0.5 * z.mT @ grad_t, t.mT @ grad_z - 0.5 * grad_t @ y.mT\n",
        "            grad_t = y @ grad_y + grad_z @ z\n"
        "            grad_y, grad_z = grad_y @ t - 0.5 * z @ grad_t, t @ grad_z - 0.5 * grad_t @ y\n")},
        loses={"test_ns_backward"}),
    "nsfn_product_rule_on_the_wrong_side": Wrong({"ns_function": _nsfn_with(
        "grad_t = y.mT @ grad_y + grad_z @ z.mT", "grad_t = grad_y @ y.mT + z.mT @ grad_z")},
        loses=_NS_BACKWARD | {"test_soca_reference"}),
    "nsfn_trace_scaling_gradient_left_out": Wrong({"ns_function": _nsfn_with(
        "return grad_y / scale + grad_scale * eye, None", "return grad_y / scale, None")},
        loses=_NS_BACKWARD | {"test_soca_reference"}),
    "nsfn_z_gradient_dropped": Wrong({"ns_function": _nsfn_with(
        "t.mT @ grad_z - 0.5 * grad_t @ y.mT", "torch.zeros_like(grad_z)")},
        loses=_NS_BACKWARD | {"test_soca_reference"}),
    # Self-consistent (gradcheck passes), but one step short of the loop.
    "nsfn_forward_one_iteration_too_few": Wrong({"ns_function": _nsfn(forward=_NSFN_FORWARD.replace(
        "        trace = torch.diagonal", "        iterations = max(iterations - 1, 1)\n        trace = torch.diagonal"))},
        loses={"test_ns_backward", "test_soca_reference"}),
    # The erratum inside the Function: the iteration runs in float32 whatever the input.
    "nsfn_float32_buffers": Wrong({"ns_function": _nsfn(forward=_NSFN_FORWARD.replace(
        "eye = torch.eye(a.shape[1], dtype=a.dtype, device=a.device)", "eye = torch.eye(a.shape[1], device=a.device)").replace(
        "y, z = a / scale, eye", "y, z = (a / scale).float(), eye"))},
        loses=_NS_BACKWARD | {"test_soca_reference"}),
    # Not a hand-derived backward (see the module's docstring): three ways to run autograd again.
    "nsfn_backward_by_autograd_grad": Wrong({"ns_function": _NS_LOOP + _nsfn(forward=_NSFN_KEEPS_A, backward='''
    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        with torch.enable_grad():
            leaf = a.detach().requires_grad_()
            return torch.autograd.grad(_ns_loop(leaf, ctx.iterations), leaf, grad_out)[0], None
''')}, loses=_NS_BACKWARD),
    "nsfn_backward_by_torch_func_vjp": Wrong({"ns_function": _NS_LOOP + _nsfn(forward=_NSFN_KEEPS_A, backward='''
    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        _, vjp = torch.func.vjp(lambda m: _ns_loop(m, ctx.iterations), a)
        return vjp(grad_out)[0], None
''')}, loses=_NS_BACKWARD),
    "nsfn_backward_through_a_graph_kept_from_forward": Wrong({"ns_function": _NS_LOOP + _nsfn(forward='''    @staticmethod
    def forward(ctx, a, iterations):
        with torch.enable_grad():
            leaf = a.detach().requires_grad_()
            out = _ns_loop(leaf, iterations)
        ctx.graph = (leaf, out)
        return out.detach()
''', backward='''
    @staticmethod
    def backward(ctx, grad_out):
        leaf, out = ctx.graph
        return torch.autograd.grad(out, leaf, grad_out, retain_graph=True)[0], None
''')}, loses=_NS_BACKWARD),
    # Part E: the module.
    "soca_first_order_descriptor": Wrong({"soca": _soca(descriptor="        z = x.mean(dim=(2, 3), keepdim=True)\n")},
                                         loses={"test_soca_reference"}),
    # The blog's default reduction.
    "soca_reduction_8_by_default": Wrong({"soca": _soca(init=_SOCA_INIT.replace("reduction=16", "reduction=8"))},
                                         loses=_SOCA),
    "soca_always_five_steps": Wrong({"soca": _soca(descriptor=_SOCA_DESCRIPTOR.replace("self.iterations)", "5)"))},
                                    loses={"test_soca_reference"}),
    # Part F: the fix.
    "fix_left_unfixed": Wrong({"fix_sqrtm": _fix(dtype="", one_step="t", grad_t="grad_t1")}, loses={"test_fix_sqrtm"}),
    "fix_only_the_dtype": Wrong({"fix_sqrtm": _fix(one_step="t", grad_t="grad_t1")}, loses={"test_fix_sqrtm"}),
    "fix_only_the_one_step_branch": Wrong({"fix_sqrtm": _fix(dtype="")}, loses={"test_fix_sqrtm"}),
    # Cheating: the answer key imported, subclassed, wrapped, built by the factory or faked.
    "cheat_import_reference_functions": Wrong({
        "covariance": "from attn_course.modules._sqrtm import covariance",
        "newton_schulz": "from attn_course.modules._sqrtm import newton_schulz_sqrt"},
        loses={"test_covariance", "test_ns_rules", "test_ns_values", "test_soca_reference"}),
    "cheat_subclass_reference_functions": Wrong({
        "cov_function": "import attn_course.modules._sqrtm as _ref\n\nclass CovariancePooling(_ref.CovariancePooling):\n    pass\n",
        "ns_function": "import attn_course.modules._sqrtm as _ref\n\nclass NewtonSchulzSqrt(_ref.NewtonSchulzSqrt):\n    pass\n"},
        loses={"test_cov_backward"} | _NS_BACKWARD | _SOCA),
    "cheat_reference_methods_called_at_run_time": Wrong({"ns_function": '''
import attn_course.modules._sqrtm as _ref


class NewtonSchulzSqrt(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, iterations):
        return _ref.NewtonSchulzSqrt.forward(ctx, a, iterations)

    @staticmethod
    def backward(ctx, grad_out):
        return _ref.NewtonSchulzSqrt.backward(ctx, grad_out)
'''}, loses=_NS_BACKWARD | _SOCA),
    "cheat_import_reference": Wrong({"soca": "from attn_course.modules import SOCA"}, loses=_SOCA),
    "cheat_subclass_reference": Wrong({"soca": '''
from attn_course.modules import soca as _soca_module

class SOCA(_soca_module.SOCA):
    pass
'''}, loses=_SOCA),
    "cheat_create_attention": Wrong({"soca": '''
from attn_course import create_attention

def SOCA(channels, **options):
    return create_attention("soca", channels, **options)
'''}, loses=_SOCA),
    "cheat_tensor_subclass_lies": Wrong({"covariance": cheats.LIAR_TENSOR + _COV_HEAD +
                                         "    return (x @ x.mT / x.shape[-1]).as_subclass(_Liar)\n"},
                                        loses={"test_covariance", "test_soca_reference"}),
}

CORRECT = {
    # Ī as a matrix and einsum; the other order of the products with the first step written out; a
    # Function that saves x and the T_k and differentiates T_k Y_{k-1}; the row mean by einsum;
    # the fix as a subclass of the student's own Function.
    "literal_matrix_other_order": {"covariance": '''
def covariance(x):
    if len(x.shape) != 3:
        raise ValueError(f"expected a (B, C, M) tensor, got {tuple(x.shape)}")
    M = x.shape[-1]
    i_bar = (torch.eye(M, dtype=x.dtype, device=x.device) - 1.0 / M) / M
    return torch.einsum("bcm,mn,bdn->bcd", x, i_bar, x)
''', "newton_schulz": '''
def newton_schulz_sqrt(a, iterations):
    if type(iterations) is not int or iterations <= 0:
        raise ValueError(f"iterations={iterations!r}: need a positive integer")
    if a.ndim != 3 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"a must be (B, C, C), not {tuple(a.shape)}")
    trace = a.diagonal(dim1=-2, dim2=-1).sum(-1, keepdim=True).unsqueeze(-1)
    scale = trace.masked_fill(trace == 0, 1.0)
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    y0 = a / scale
    t = (3 * eye - y0) / 2
    y, z = t @ y0, t
    for _ in range(iterations - 1):
        t = (3 * eye - z @ y) / 2
        y, z = t @ y, z @ t
    return scale.sqrt() * y
''', "cov_function": '''
class CovariancePooling(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xc = x - x.mean(-1, keepdim=True)
        return torch.einsum("bcm,bdm->bcd", xc, xc) / x.shape[-1]

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xc = x - x.mean(-1, keepdim=True)
        return (torch.einsum("bcd,bdm->bcm", g, xc) + torch.einsum("bdc,bdm->bcm", g, xc)) / x.shape[-1]
''', "ns_function": '''
class NewtonSchulzSqrt(torch.autograd.Function):
    """Y_k = T_k Y_{k-1} (the other order), every Y, Z and T saved."""

    @staticmethod
    def forward(ctx, a, iterations):
        trace = a.diagonal(dim1=-2, dim2=-1).sum(-1)[:, None, None]
        scale = torch.where(trace == 0, 1.0, trace).to(a.dtype)
        eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device).expand_as(a)
        ys, zs, ts = [a / scale], [eye], []
        for _ in range(iterations):
            ts.append(0.5 * (3 * eye - zs[-1] @ ys[-1]))
            ys.append(ts[-1] @ ys[-1])
            zs.append(zs[-1] @ ts[-1])
        ctx.n = iterations
        ctx.save_for_backward(scale, *ys, *zs, *ts)
        return ys[-1] * scale.sqrt()

    @staticmethod
    def backward(ctx, g):
        scale, *rest = ctx.saved_tensors
        n = ctx.n
        ys, zs, ts = rest[:n + 1], rest[n + 1:2 * n + 2], rest[2 * n + 2:]
        gy = g * scale.sqrt()
        gs = (g * ys[n]).sum((-2, -1), keepdim=True) / (2 * scale.sqrt())
        gz = torch.zeros_like(g)
        for k in reversed(range(n)):
            y, z, t = ys[k], zs[k], ts[k]
            gt = gy @ y.mT + z.mT @ gz                    # from T Y and Z T
            gy_prev = t.mT @ gy - 0.5 * z.mT @ gt
            gz_prev = gz @ t.mT - 0.5 * gt @ y.mT
            gy, gz = gy_prev, gz_prev
        gs = gs - (gy * ys[0]).sum((-2, -1), keepdim=True) / scale
        eye = torch.eye(g.shape[-1], dtype=g.dtype, device=g.device)
        return gy / scale + gs * eye, None
''', "soca": _soca(descriptor='''        samples = rearrange(x, "b c h w -> b c (h w)")
        if self.use_custom_autograd:
            root = NewtonSchulzSqrt.apply(CovariancePooling.apply(samples), self.iterations)
        else:
            root = newton_schulz_sqrt(covariance(samples), self.iterations)
        z = torch.einsum("bic->bc", root)[:, :, None, None] / root.shape[1]
'''), "fix_sqrtm": '''
class BufferedSqrt(NewtonSchulzSqrt):
    """The fixed square root is the one of Part D."""
'''},
    # E[xxᵀ] − μμᵀ; the column mean (S is symmetric); the one-step branch kept and fixed.
    "moments_columns_and_a_fixed_branch": {"covariance": '''
def covariance(x):
    if x.dim() != 3:
        raise ValueError(f"covariance: x has shape {list(x.shape)}, expected 3-D (B, C, M)")
    mean = x.mean(dim=-1, keepdim=True)
    return x @ x.transpose(1, 2) / x.shape[-1] - mean @ mean.transpose(1, 2)
''', "cov_function": '''
class CovariancePooling(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        mean = x.mean(dim=-1, keepdim=True)
        ctx.save_for_backward(x, mean)
        return x @ x.transpose(1, 2) / x.shape[-1] - mean @ mean.transpose(1, 2)

    @staticmethod
    def backward(ctx, grad):
        x, mean = ctx.saved_tensors
        sym = grad + grad.transpose(1, 2)
        return (sym @ x - sym @ mean) / x.shape[-1]
''', "soca": _soca(descriptor='''        B, C = x.shape[:2]
        samples = x.reshape(B, C, -1)
        if self.use_custom_autograd:
            root = NewtonSchulzSqrt.apply(CovariancePooling.apply(samples), self.iterations)
        else:
            root = newton_schulz_sqrt(covariance(samples), self.iterations)
        z = root.mean(dim=2).reshape(B, C, 1, 1)
'''), "fix_sqrtm": _fix()},
    # Stacked history and einsum in the backward; the first step without Z_0; the gate by F.conv2d.
    "stacked_history_and_einsum": {"ns_function": '''
class NewtonSchulzSqrt(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, iterations):
        n = iterations
        tr = torch.einsum("bii->b", a)
        s = torch.where(tr == 0, torch.ones_like(tr), tr).view(-1, 1, 1)
        eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
        y = a / s
        t = 1.5 * eye - 0.5 * y
        history_y, history_z = [y], [eye.expand_as(a)]
        y, z = y @ t, t
        for _ in range(n - 1):
            history_y.append(y)
            history_z.append(z)
            t = 1.5 * eye - 0.5 * (z @ y)
            y, z = y @ t, t @ z
        ctx.n = n
        ctx.save_for_backward(s, torch.stack(history_y, 1), torch.stack(history_z, 1))
        return y * s.sqrt()

    @staticmethod
    def backward(ctx, g):
        s, hy, hz = ctx.saved_tensors
        eye = torch.eye(g.shape[-1], dtype=g.dtype, device=g.device)
        gy, gz = g * s.sqrt(), None
        s_bar = None
        for k in range(ctx.n - 1, -1, -1):
            y, z = hy[:, k], hz[:, k]
            t = 1.5 * eye - 0.5 * torch.einsum("bij,bjk->bik", z, y)
            if s_bar is None:
                s_bar = torch.einsum("bij,bij->b", g, y @ t).view(-1, 1, 1) / (2 * s.sqrt())
            gt = torch.einsum("bji,bjk->bik", y, gy)
            if gz is not None:
                gt = gt + torch.einsum("bij,bkj->bik", gz, z)
            new_gy = torch.einsum("bij,bkj->bik", gy, t) - 0.5 * torch.einsum("bji,bjk->bik", z, gt)
            new_gz = -0.5 * torch.einsum("bij,bkj->bik", gt, y)
            if gz is not None:
                new_gz = new_gz + torch.einsum("bji,bjk->bik", t, gz)
            gy, gz = new_gy, new_gz
        s_bar = s_bar - torch.einsum("bij,bij->b", gy, hy[:, 0]).view(-1, 1, 1) / s
        return gy / s + s_bar * eye, None
''', "soca": _SOCA_INIT + '''
    def gate(self, x):
        samples = rearrange(x, "b c h w -> b c (h w)")
        if self.use_custom_autograd:
            root = NewtonSchulzSqrt.apply(CovariancePooling.apply(samples), self.iterations)
        else:
            root = newton_schulz_sqrt(covariance(samples), self.iterations)
        z = reduce(root, "b i c -> b c 1 1", "mean")
        hidden = F.relu(F.conv2d(z, self.conv_down.weight, self.conv_down.bias))
        return torch.sigmoid(F.conv2d(hidden, self.conv_up.weight, self.conv_up.bias))

    def forward(self, x):
        g = self.gate(x)
        return g * x
'''},
}
