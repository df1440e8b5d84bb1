"""Stage generate: Pythia 8 events, FastJet anti-kT jets, truth labels, JetClass-style ROOT files."""

from rootml.generate.chunk import GeneratedJets, generate_chunk, generate_jets
from rootml.generate.processes import PROCESSES

__all__ = ["PROCESSES", "GeneratedJets", "generate_chunk", "generate_jets"]
