"""Jet substructure as in JetClass: soft-drop mass and N-subjettiness, with fastjet and fjcontrib.

JetClass was made with Delphes' CMS card, whose AK8 FastJetFinder runs fjcontrib with
soft drop (beta=0, z_cut=0.1, R0=0.8, after C/A reclustering) and N-subjettiness with
OnePass_KT_Axes and NormalizedMeasure(beta=1, R0=0.8). The same choices are made here.
"""

from __future__ import annotations

import awkward as ak
import fastjet
import numpy as np

SOFTDROP_ZCUT = 0.1
SOFTDROP_BETA = 0.0
NSUBJETTINESS_BETA = 1.0
NSUBJETTINESS_AXES = "OnePass_KT_Axes"
TAU_ORDERS: tuple[int, ...] = (1, 2, 3, 4)
# fjcontrib's Recluster (used by SoftDrop on anti-kT jets, as in Delphes) reclusters with
# JetDefinition::max_allowable_R so that every constituent ends up in the one C/A jet; a C/A
# radius equal to the jet radius would leave constituents more than R apart in separate jets.
_CA_RECLUSTERING = fastjet.JetDefinition(fastjet.cambridge_algorithm, 1000.0)


def _soft_drop_masses(momenta: np.ndarray, offsets: np.ndarray, z_cut: float, beta: float, r0: float) -> np.ndarray:
    """Soft-drop mass of each jet (rows offsets[i]:offsets[i+1] of the (px, py, pz, E) table)."""
    # fastjet's awkward interface has exclusive_jets_softdrop_grooming, but it costs ~0.7 ms per
    # 50-constituent jet and grows quadratically with the multiplicity; walking the C/A history
    # with fastjet's own has_parents gives the identical grooming (tested against it) ~6x faster.
    masses = np.zeros(len(offsets) - 1)
    harder, softer = fastjet.PseudoJet(), fastjet.PseudoJet()
    for jet_index, (start, stop) in enumerate(zip(offsets[:-1], offsets[1:])):
        if start == stop:
            continue
        sequence = fastjet.ClusterSequence(
            [fastjet.PseudoJet(*row) for row in momenta[start:stop].tolist()], _CA_RECLUSTERING
        )
        node = sequence.inclusive_jets()[0]
        while node.has_parents(harder, softer):
            if softer.pt() > harder.pt():
                harder, softer = softer, harder
            z = softer.pt() / (softer.pt() + harder.pt())
            if z >= z_cut * (harder.delta_R(softer) / r0) ** beta:
                break
            node = fastjet.PseudoJet(harder)
        masses[jet_index] = node.m()
    return masses


def substructure_columns(
    px: ak.Array, py: ak.Array, pz: ak.Array, energy: ak.Array, jet_radius: float
) -> dict[str, np.ndarray]:
    """Soft-drop mass and tau_1..tau_4 per jet (float32), from each jet's constituents."""
    counts = np.asarray(ak.num(px, axis=1))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    momenta = np.stack([np.asarray(ak.flatten(c), dtype=np.float64) for c in (px, py, pz, energy)], axis=1)
    columns = {"jet_sdmass": _soft_drop_masses(momenta, offsets, SOFTDROP_ZCUT, SOFTDROP_BETA, jet_radius)
               .astype(np.float32)}
    taus = np.zeros((len(counts), len(TAU_ORDERS)))
    filled = counts > 0
    if filled.any():
        # N-subjettiness of a jet is fjcontrib's N-jettiness of its constituents; the clustering
        # the awkward interface needs is not used by it. tau_N = 0 for jets with <= N constituents.
        constituents = ak.unflatten(
            ak.zip({"px": momenta[:, 0], "py": momenta[:, 1], "pz": momenta[:, 2], "E": momenta[:, 3]}),
            counts[filled],
        )
        taus[filled] = np.asarray(fastjet.ClusterSequence(constituents, _CA_RECLUSTERING).njettiness(
            measure_definition="NormalizedMeasure", axes_definition=NSUBJETTINESS_AXES,
            njets=list(TAU_ORDERS), beta=NSUBJETTINESS_BETA, R0=jet_radius,
        ))
    columns.update({f"jet_tau{n}": taus[:, i].astype(np.float32) for i, n in enumerate(TAU_ORDERS)})
    return columns
