"""Bundled photographs, and a detector-like feature map computed from them without any weights.

A detector's backbone turns a photo (3, H, W) into feature maps (C, H/s, W/s): each channel is a
detector of some pattern (an edge, a colour, a blob), rectified by a ReLU and pooled down to the
stride s. Pretrained weights cannot be downloaded in the course, so :func:`photo_feature_map`
builds such a map from a fixed, hand-designed filter bank whose channels a student can read:

* colour (6): brightness above / below mid-grey, and the opponent colours red / green and
  blue / yellow, as a retina's colour cells pair them;
* colour blobs (4): a red, green, blue or yellow spot on a differently coloured surround
  (difference of Gaussians on an opponent channel, medium scale);
* then, at three scales (fine, medium, coarse: wavelengths of about 4, 8 and 16 pixels), 18
  channels each:

  - edges (8): odd Gabor filters at 4 orientations, with both signs (which side is brighter);
  - lines (8): even Gabor filters at 4 orientations, bright lines and dark lines;
  - blobs (2): a bright spot on a darker surround (on-centre) and the reverse (off-centre).

That makes a bank of 64 channels (:data:`BANK_SIZE`); ``feature_names(C)`` says what each of the
first C channels responds to. Beyond 64, extra channels are seeded random mixtures of the bank,
rectified again, and named so. Every channel is divided by its root mean square over the map, so
typical values are about 1 and all are >= 0, like features after a ReLU.

The computation runs in float64 on the CPU and is rounded to float32 at the end, so the result is
the same bit for bit from run to run. It takes a few tens of milliseconds.

Sources and licences of the photographs: ``SOURCES.md`` in this folder.
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .._arguments import ArgumentTypeError, positive_int

__all__ = [
    "BANK_SIZE",
    "VALID_STRIDES",
    "MAX_CHANNELS",
    "photo_names",
    "load_photo",
    "feature_names",
    "photo_feature_map",
]

_PHOTOS = {
    "astronaut": "astronaut.png",   # 256 × 256, Eileen Collins (NASA, public domain)
    "coffee": "coffee.png",         # 288 wide × 192 high, a coffee cup (CC0, Rachel Michetti)
}

VALID_STRIDES = (1, 2, 4, 8, 16, 32)
MAX_CHANNELS = 1024
MIX_SEED = 0

_KERNEL_RADIUS = 4            # every filter is 9 × 9
_GABOR_SIGMA = 1.5            # Gaussian envelope, pixels of the pyramid level
_GABOR_WAVELENGTH = 4.0       # carrier wavelength, pixels of the pyramid level
_ORIENTATIONS = (0, 45, 90, 135)
_SCALES = ("fine", "medium", "coarse")   # pyramid levels 0, 1, 2: the photo shrunk by 1, 2, 4
_COLOUR_BLOB_LEVEL = 1

# What a positive (+) or negative (−) response of each oriented filter means, by the angle θ of
# the filter's carrier. In image coordinates y points down, so θ = 90° looks downward.
_EDGE_MEANING = {
    0: ("vertical edge, brighter on the right", "vertical edge, brighter on the left"),
    45: ("/ edge, brighter below-right", "/ edge, brighter above-left"),
    90: ("horizontal edge, brighter below", "horizontal edge, brighter above"),
    135: ("\\ edge, brighter below-left", "\\ edge, brighter above-right"),
}
_LINE_MEANING = {0: "vertical", 45: "/", 90: "horizontal", 135: "\\"}


def photo_names() -> tuple[str, ...]:
    """The names :func:`load_photo` accepts."""
    return tuple(_PHOTOS)


def _check_name(name) -> str:
    if name not in _PHOTOS:
        raise ValueError(f"unknown photo {name!r}; the bundled photos are {list(_PHOTOS)}.")
    return name


@lru_cache(maxsize=None)
def _photo_array(name: str) -> np.ndarray:
    """The photo as an (H, W, 3) uint8 array, read from the installed package (read-only)."""
    with resources.files(__name__).joinpath(_PHOTOS[name]).open("rb") as handle:
        array = np.asarray(Image.open(handle).convert("RGB"))
    array.setflags(write=False)
    return array


def load_photo(name: str = "astronaut") -> torch.Tensor:
    """A bundled photograph as a (3, H, W) float32 tensor with values in [0, 1].

    ``"astronaut"`` is 256 × 256; ``"coffee"`` is 192 high and 288 wide. Both sides are
    multiples of 32, so every stride in :data:`VALID_STRIDES` divides them.
    """
    array = _photo_array(_check_name(name))
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


def _check_channels(channels) -> int:
    message = (f"channels must be an integer from 1 to {MAX_CHANNELS} "
               f"(the hand-designed bank has {BANK_SIZE}), got {channels!r}.")
    try:
        channels = positive_int(channels, name="channels")
    except ArgumentTypeError:
        raise ArgumentTypeError(message) from None
    except ValueError:
        raise ValueError(message) from None
    if channels > MAX_CHANNELS:
        raise ValueError(message)
    return channels


def _check_stride(stride) -> int:
    if isinstance(stride, bool) or stride not in VALID_STRIDES:
        raise ValueError(f"stride must be one of {VALID_STRIDES}, got {stride!r}.")
    return stride


def _check_batch(batch) -> int:
    return positive_int(batch, name="batch")


def _bank_names() -> list[str]:
    """Names of the 64 hand-designed channels, in channel order."""
    names = [
        "colour: brighter than mid-grey",
        "colour: darker than mid-grey",
        "colour: reddish (red minus green > 0)",
        "colour: greenish (green minus red > 0)",
        "colour: bluish (blue minus yellow > 0)",
        "colour: yellowish (yellow minus blue > 0)",
        "colour blob: red spot on a greener surround",
        "colour blob: green spot on a redder surround",
        "colour blob: blue spot on a yellower surround",
        "colour blob: yellow spot on a bluer surround",
    ]
    for level, scale in enumerate(_SCALES):
        size = f"{scale}, ~{int(_GABOR_WAVELENGTH) * 2 ** level} px"
        for theta in _ORIENTATIONS:
            for meaning in _EDGE_MEANING[theta]:
                names.append(f"{meaning} ({size})")
        for theta in _ORIENTATIONS:
            for shade in ("bright", "dark"):
                names.append(f"{shade} {_LINE_MEANING[theta]} line ({size})")
        names.append(f"bright blob on a darker surround ({size})")
        names.append(f"dark blob on a brighter surround ({size})")
    return names


BANK_SIZE = len(_bank_names())


def feature_names(channels: int = 64) -> list[str]:
    """What each of the first ``channels`` channels of :func:`photo_feature_map` responds to."""
    _check_channels(channels)
    names = _bank_names()[:channels]
    names += [f"mix {c}: seeded random mixture of the {BANK_SIZE} bank channels "
              f"(seed {MIX_SEED}), rectified" for c in range(BANK_SIZE, channels)]
    return names


def _grid() -> tuple[torch.Tensor, torch.Tensor]:
    """x (right) and y (down) pixel offsets of a filter, each (9, 9), float64."""
    offsets = torch.arange(-_KERNEL_RADIUS, _KERNEL_RADIUS + 1, dtype=torch.float64)
    y, x = torch.meshgrid(offsets, offsets, indexing="ij")
    return x, y


def _gaussian(sigma: float) -> torch.Tensor:
    x, y = _grid()
    g = torch.exp(-(x**2 + y**2) / (2 * sigma**2))
    return g / g.sum()


def _difference_of_gaussians() -> torch.Tensor:
    """Centre (σ = 1) minus surround (σ = 2): zero sum, positive on a bright spot."""
    return _gaussian(1.0) - _gaussian(2.0)


def _gabor(theta_degrees: float, odd: bool) -> torch.Tensor:
    """A zero-mean, unit-L1 Gabor filter whose carrier runs along angle θ (y pointing down)."""
    x, y = _grid()
    theta = math.radians(theta_degrees)
    along = x * math.cos(theta) + y * math.sin(theta)
    envelope = torch.exp(-(x**2 + y**2) / (2 * _GABOR_SIGMA**2))
    phase = 2 * math.pi * along / _GABOR_WAVELENGTH
    kernel = envelope * (torch.sin(phase) if odd else torch.cos(phase))
    kernel = kernel - envelope * (kernel.sum() / envelope.sum())   # no response to flat areas
    return kernel / kernel.abs().sum()


@lru_cache(maxsize=1)
def _luminance_filters() -> torch.Tensor:
    """(9, 1, 9, 9): 4 odd Gabors (edges), 4 even Gabors (lines), one difference of Gaussians."""
    kernels = [_gabor(t, odd=True) for t in _ORIENTATIONS]
    kernels += [_gabor(t, odd=False) for t in _ORIENTATIONS]
    kernels.append(_difference_of_gaussians())
    return torch.stack(kernels).unsqueeze(1)


def _opponent_channels(photo: torch.Tensor) -> torch.Tensor:
    """(3, H, W) RGB → (3, H, W): luminance − ½, red − green, blue − (red + green)/2."""
    r, g, b = photo.unbind(0)
    luminance = 0.299 * r + 0.587 * g + 0.114 * b
    return torch.stack([luminance - 0.5, r - g, b - (r + g) / 2])


def _filter(maps: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Correlate each of ``maps`` (N, 1, h, w) with every kernel, reflecting at the borders."""
    padded = F.pad(maps, [_KERNEL_RADIUS] * 4, mode="reflect")
    return F.conv2d(padded, kernels)


def _both_signs(response: torch.Tensor) -> torch.Tensor:
    """(K, h, w) → (2K, h, w): relu(+r₀), relu(−r₀), relu(+r₁), relu(−r₁), …"""
    return torch.stack([response.relu(), (-response).relu()], dim=1).flatten(0, 1)


def _to_stride(maps: torch.Tensor, level: int, stride: int) -> torch.Tensor:
    """Bring (K, h, w) maps from pyramid level ``level`` (shrunk 2**level) to the stride."""
    factor = 2**level
    if stride >= factor:
        return F.avg_pool2d(maps.unsqueeze(0), stride // factor).squeeze(0)
    return F.interpolate(maps.unsqueeze(0), scale_factor=factor // stride, mode="bilinear",
                         align_corners=False).squeeze(0)


def _bank_responses(photo: torch.Tensor, stride: int) -> torch.Tensor:
    """(3, H, W) float64 photo → (64, H/stride, W/stride) rectified, pooled bank responses."""
    opponent = _opponent_channels(photo)
    channels = [_to_stride(_both_signs(opponent), 0, stride)]
    levels = [opponent]
    for _ in _SCALES[1:]:
        levels.append(F.avg_pool2d(levels[-1].unsqueeze(0), 2).squeeze(0))

    colour = levels[_COLOUR_BLOB_LEVEL][1:].unsqueeze(1)               # (2, 1, h, w)
    colour_blobs = _filter(colour, _difference_of_gaussians()[None, None]).squeeze(1)
    channels.append(_to_stride(_both_signs(colour_blobs), _COLOUR_BLOB_LEVEL, stride))

    for level, image in enumerate(levels):
        luminance = image[:1].unsqueeze(0)                              # (1, 1, h, w)
        responses = _filter(luminance, _luminance_filters()).squeeze(0)  # (9, h, w)
        channels.append(_to_stride(_both_signs(responses), level, stride))
    return torch.cat(channels)


def _random_mixtures(bank: torch.Tensor, extra: int) -> torch.Tensor:
    """``extra`` channels relu(W · (bank − its spatial mean)), W seeded normal / √64.

    Centring the bank first keeps about half of every mixture positive, so none is dead.
    """
    generator = torch.Generator().manual_seed(MIX_SEED)
    weights = torch.randn(extra, bank.shape[0], generator=generator, dtype=torch.float64)
    weights /= math.sqrt(bank.shape[0])
    centred = bank - bank.mean(dim=(-2, -1), keepdim=True)
    return torch.einsum("ek,khw->ehw", weights, centred).relu()


def _unit_rms(maps: torch.Tensor) -> torch.Tensor:
    """Divide each channel by its root mean square (a channel that is all zero stays zero)."""
    rms = maps.pow(2).mean(dim=(-2, -1), keepdim=True).sqrt()
    return maps / rms.clamp_min(1e-12)


def _feature_map(name: str, channels: int, stride: int, mirrored: bool) -> torch.Tensor:
    """One sample: (channels, H/stride, W/stride) float32."""
    photo = load_photo(name).double()
    if mirrored:
        photo = photo.flip(-1)
    bank = _unit_rms(_bank_responses(photo, stride))
    if channels > BANK_SIZE:
        bank = torch.cat([bank, _unit_rms(_random_mixtures(bank, channels - BANK_SIZE))])
    return bank[:channels].float()


def photo_feature_map(channels: int = 64, stride: int = 8, name: str = "astronaut",
                      batch: int = 1) -> torch.Tensor:
    """A detector-like feature map of a bundled photo: (batch, channels, H/stride, W/stride).

    float32, every value >= 0, each channel scaled to a root mean square of 1 over the map;
    :func:`feature_names` says what each channel responds to (see the module docstring for the
    filter bank). Sample k of the batch is the photo, mirrored left-right when k is odd, so
    neighbouring samples differ (a mirrored photo swaps the sides of its edges, so this is not
    the mirror image of the map).

    Args:
        channels: C, 1 to :data:`MAX_CHANNELS`. The first 64 are the hand-designed bank; more
            are seeded random mixtures of it.
        stride: the backbone stride, one of :data:`VALID_STRIDES` (8 is a typical detector's P3).
        name: one of :func:`photo_names`.
        batch: B, the number of samples.
    """
    _check_channels(channels)
    _check_stride(stride)
    _check_name(name)
    _check_batch(batch)
    views = [_feature_map(name, channels, stride, mirrored=m) for m in (False, True)[:batch]]
    return torch.stack([views[k % 2] for k in range(batch)])
