"""The torch-free spec layer: planning the workflow imports no torch or XGBoost, and the registry matches the specs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rootml.models.registry import MODEL_FAMILIES
from rootml.models.specs import FAMILY_SPECS

HEAVY_MODULES = ("torch", "xgboost", "sklearn", "scipy", "matplotlib", "h5py", "awkward", "uproot")
REPO = Path(__file__).resolve().parents[1]


def test_planning_the_workflow_imports_no_torch_or_xgboost() -> None:
    """What the Snakefile runs while it plans the DAG (config validation and checks, every model run of the default
    config and of an image autoencoder, the rules' layout and captions modules) loads none of the heavy modules."""
    code = (
        "import sys, yaml\n"
        "from rootml.config import check_config, model_runs\n"
        "from rootml.settings import validated\n"
        "import rootml.preprocess.layout, rootml.evaluation.captions, rootml.provenance\n"
        "config = validated(yaml.safe_load(open('config/config.yaml')))\n"
        "config['models']['image_ae'] = {'family': 'autoencoder', 'task': 'anomaly', 'background': ['g'],\n"
        "                                'hparams': {'input': 'image'}}\n"
        "check_config(config)\n"
        "runs = model_runs(config)\n"
        "assert runs['image_ae'].representations == ['images']\n"
        "assert runs['particlenet'].representations == runs['particlenet'].sets == ['part']\n"
        f"print(sorted(name for name in {HEAVY_MODULES!r} if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip() == "[]", f"heavy modules imported: {result.stdout.strip()}"


def test_registry_binds_every_spec_in_order() -> None:
    """MODEL_FAMILIES builds exactly the families of FAMILY_SPECS, with their hyper-parameters and inputs."""
    assert list(MODEL_FAMILIES) == list(FAMILY_SPECS)
    for name, spec in FAMILY_SPECS.items():
        family = MODEL_FAMILIES[name]
        assert (family.name, family.hparams, family.input_of) == (spec.name, spec.hparams, spec.input_of)

