"""Rule generate: one chunk of Pythia 8 + FastJet jets for one sample."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821 (snakemake is injected)
from rootml.generate import generate_chunk  # noqa: E402
from rootml.seeds import derive_seed  # noqa: E402

sm = snakemake  # noqa: F821
sample = sm.config["samples"][sm.wildcards.sample]
settings = sm.config["generate"]
generate_chunk(
    sm.output[0],
    process=sample["generate"]["process"],
    n_jets=sample["generate"]["jets_per_chunk"],
    seed=derive_seed(sm.config["seed"], "generate", sm.wildcards.sample, int(sm.wildcards.chunk)),
    label=sample["label"],
    classes=sm.config["classes"],
    sqrt_s=settings["sqrt_s"],
    jet_radius=settings["jet_radius"],
    pt_min=settings["pt_min"],
    pt_max=settings["pt_max"],
    abs_eta_max=settings["abs_eta_max"],
    log_path=sm.log[0],
)
