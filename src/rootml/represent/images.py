"""Jet images: pT-weighted pixel grids in (eta', phi') after the standard jet-image preprocessing.

The preprocessing follows the jet-image papers (Cogan et al. 2015, arXiv:1407.5675; de Oliveira et al. 2015,
arXiv:1511.05190; Macaluso & Shih 2018, arXiv:1803.00107), applied to the continuous constituent
coordinates before pixelisation so no interpolation is needed:

1. translate: the leading subjet (constituents reclustered with kT, R = `subjet_radius`) or the pT centroid
   sits at the origin ("jet_axis" keeps the input frame: (deta, dphi) are already relative to the jet axis);
2. rotate: the principal axis of the pT-weighted (eta, phi) distribution, taken about that origin, points
   along phi' (vertical). About the leading subjet this is the direction of the secondary deposits (for two
   prongs it is the line through both); about the centroid it is the pT-weighted covariance's major axis;
3. flip: phi' -> -phi' if the pT above the horizontal axis is less than below it, then eta' -> -eta' if the pT
   right of the vertical axis is less than left of it, so the larger-intensity halves are always phi' > 0
   and eta' > 0 (with the leading subjet at the origin, the secondary deposit ends up at phi' > 0);
4. pixelise pT-weighted on `n_pixels` x `n_pixels` square pixels covering [-extent, extent] in both axes;
5. normalise each jet's image to unit total intensity.

Image layout: images[jet, channel, i_eta, i_phi], the convention of np.histogram2d(eta', phi'), so
plot image.T with origin="lower". With an odd `n_pixels` the origin is the centre of the central pixel.
Constituents outside [-extent, extent] in eta' or phi' are dropped (the right edge is included, as in
np.histogram2d); `normalise` divides by the pT that landed in the image.
Rotating in (eta, phi) is not a Lorentz transformation; it is the papers' convention, kept here.
The images of any other set go through the same steps (represent.images: `set`, its two `coordinates` in place of
(deta, dphi), its `weight` in place of pT); the preprocessing steps stay the jet preset's settings.
"""

from __future__ import annotations

from collections.abc import Sequence

import awkward as ak
import fastjet
import numpy as np
import vector

CHANNELS = ("total", "charged", "neutral")
CENTRES = ("leading_subjet", "centroid", "jet_axis")
# Jets pixelised per bincount: about 30 MB of float64 scratch for 3 channels of 33 x 33 pixels.
_IMAGE_BLOCK = 1024


def _check_arrays(
    pt: np.ndarray, deta: np.ndarray, dphi: np.ndarray, mask: np.ndarray, charge: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """float64 (pt, deta, dphi, charge or None) zeroed where masked, and the bool mask; ValueError on bad input."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must have shape (n_jets, N), got {mask.shape}")
    mask = mask.astype(bool, copy=False)
    named = {"pt": pt, "deta": deta, "dphi": dphi, **({} if charge is None else {"charge": charge})}
    out = []
    for name, array in named.items():
        array = np.asarray(array, dtype=np.float64)
        if array.shape != mask.shape:
            raise ValueError(f"{name} has shape {array.shape}, expected {mask.shape} like the mask")
        if not np.isfinite(array[mask]).all():
            raise ValueError(f"{name} has NaN or inf values in real (unmasked) particles")
        out.append(np.where(mask, array, 0.0))
    if (out[0] < 0).any():
        raise ValueError("pt has negative values")
    return out[0], out[1], out[2], out[3] if charge is not None else None, mask


def leading_subjet_axes(pt: np.ndarray, deta: np.ndarray, dphi: np.ndarray, mask: np.ndarray,
                        radius: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """(eta, phi) of each jet's hardest kT subjet of `radius`, in the constituents' frame; (0, 0) for empty jets."""
    counts = mask.sum(axis=1)
    # Massless constituents at (deta, dphi): rapidity equals eta, so kT distances are (deta, dphi) distances.
    p4 = vector.array({"pt": pt[mask], "eta": deta[mask], "phi": dphi[mask], "mass": np.zeros(int(counts.sum()))})
    particles = ak.unflatten(ak.zip({"px": p4.px, "py": p4.py, "pz": p4.pz, "E": p4.E}), counts)
    subjets = fastjet.ClusterSequence(particles, fastjet.JetDefinition(fastjet.kt_algorithm, radius)).inclusive_jets()
    leading = ak.firsts(subjets[ak.argmax(np.hypot(subjets.px, subjets.py), axis=1, keepdims=True)])
    axis = vector.array({c: ak.to_numpy(ak.fill_none(leading[c], 0.0)).astype(np.float64) for c in ("px", "py", "pz")})
    # Pseudorapidity (not rapidity) of the massive subjet, to share the constituents' eta coordinate; 0 if empty.
    return axis.eta, axis.phi


def _pixel_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index of each value as np.histogram2d assigns it (last edge inside the last bin; outside -> -1 or n)."""
    index = np.searchsorted(edges, values, side="right") - 1
    index[values == edges[-1]] = len(edges) - 2
    return index


def jet_images(pt: np.ndarray, deta: np.ndarray, dphi: np.ndarray, mask: np.ndarray, *, n_pixels: int = 33,
               extent: float = 1.2, centre: str = "leading_subjet", subjet_radius: float = 0.2, rotate: bool = True,
               flip: bool = True, normalise: bool = True, charge: np.ndarray | None = None,
               channels: Sequence[str] = ("total",)) -> np.ndarray:
    """(n_jets, n_channels, n_pixels, n_pixels) float32 pT-weighted jet images, preprocessed as the module doc says."""
    channels = tuple(channels)
    if not channels or len(set(channels)) != len(channels) or not set(channels) <= set(CHANNELS):
        raise ValueError(f"channels must be distinct names from {CHANNELS}, got {channels}")
    if charge is None and set(channels) - {"total"}:
        raise ValueError(f"channels {channels} split by charge: give the charge array")
    if centre not in CENTRES:
        raise ValueError(f"centre must be one of {CENTRES}, got {centre!r}")
    if isinstance(n_pixels, bool) or not isinstance(n_pixels, (int, np.integer)) or n_pixels < 1:
        raise ValueError(f"n_pixels must be a positive integer, got {n_pixels!r}")
    if not extent > 0 or not subjet_radius > 0:
        raise ValueError(f"extent and subjet_radius must be positive, got {extent!r} and {subjet_radius!r}")
    pt, x, y, charge, mask = _check_arrays(pt, deta, dphi, mask, charge)
    n_jets = len(mask)

    if centre == "leading_subjet":
        cx, cy = leading_subjet_axes(pt, x, y, mask, subjet_radius)
    elif centre == "centroid":
        total_pt = pt.sum(axis=1)
        safe = np.where(total_pt > 0, total_pt, 1.0)
        cx, cy = (pt * x).sum(axis=1) / safe, (pt * y).sum(axis=1) / safe
    else:
        cx = cy = np.zeros(n_jets)
    x = np.where(mask, x - cx[:, None], 0.0)
    y = np.where(mask, y - cy[:, None], 0.0)

    if rotate:
        # Major axis angle of the second-moment tensor [[Sxx, Sxy], [Sxy, Syy]]; turn it by pi/2 - theta onto phi'.
        sxx, syy, sxy = (pt * x * x).sum(axis=1), (pt * y * y).sum(axis=1), (pt * x * y).sum(axis=1)
        alpha = (np.pi / 2 - 0.5 * np.arctan2(2 * sxy, sxx - syy))[:, None]
        x, y = x * np.cos(alpha) - y * np.sin(alpha), x * np.sin(alpha) + y * np.cos(alpha)
    if flip:
        y = y * np.where((pt * (y > 0)).sum(axis=1) >= (pt * (y < 0)).sum(axis=1), 1.0, -1.0)[:, None]
        x = x * np.where((pt * (x > 0)).sum(axis=1) >= (pt * (x < 0)).sum(axis=1), 1.0, -1.0)[:, None]

    edges = np.linspace(-extent, extent, n_pixels + 1)
    ix, iy = _pixel_index(x, edges), _pixel_index(y, edges)
    inside = mask & (ix >= 0) & (ix < n_pixels) & (iy >= 0) & (iy < n_pixels)
    selections = {"total": inside}
    if charge is not None:
        selections["charged"] = inside & (charge != 0)
        selections["neutral"] = inside & (charge == 0)
    chosen = [selections[name] for name in channels]
    weight = pt
    if normalise:
        # Every channel is divided by the jet's total in-image pT, so charged + neutral = total and total sums to 1.
        in_image = (pt * inside).sum(axis=1, keepdims=True)
        weight = pt / np.where(in_image > 0, in_image, 1.0)
    # One vectorised bincount over (jet, channel, i_eta, i_phi) per block of jets replaces a np.histogram2d per jet
    # (measured 4-5x faster); blocks bound the float64 scratch memory.
    cells = n_pixels**2
    pixel = ix * n_pixels + iy
    images = np.empty((n_jets, len(channels), n_pixels, n_pixels), np.float32)
    for start in range(0, n_jets, _IMAGE_BLOCK):
        rows = slice(start, start + _IMAGE_BLOCK)
        n_rows = len(pixel[rows])
        first_cell = np.arange(n_rows)[:, None] * len(channels) * cells
        index = [first_cell + c * cells + pixel[rows] for c in range(len(channels))]
        counts = np.bincount(np.concatenate([i[s[rows]] for i, s in zip(index, chosen)]),
                             weights=np.concatenate([weight[rows][s[rows]] for s in chosen]),
                             minlength=n_rows * len(channels) * cells)
        images[rows] = counts.reshape(n_rows, len(channels), n_pixels, n_pixels)
    return images
