"""SHAP values of high-level-feature models: TreeExplainer for XGBoost, Gradient/DeepExplainer for torch.

Every result is a shap.Explanation with values (n, F, K) for K explained outputs (output_names), base values
(n, K) and the explained feature values as data (n, F), so plots and importances treat all models alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import shap
import torch
import xgboost as xgb
from torch import nn

EXPLAINERS: tuple[str, ...] = ("gradient", "deep")


class OutputOf(nn.Module):
    """A model seen through a function of it (e.g. an objective's forward), always returning (B, K)."""

    def __init__(self, model: nn.Module, output: Callable[[nn.Module, torch.Tensor], torch.Tensor]) -> None:
        """Wrap `model`; output(model, x) gives the explained outputs (B, K) or (B,)."""
        super().__init__()
        self.model = model
        self.output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The explained outputs of a batch as (B, K)."""
        return self.output(self.model, x).reshape(len(x), -1)


def _explanation(
    values: np.ndarray, base_values: np.ndarray, data: np.ndarray, feature_names: Sequence[str],
    output_names: Sequence[str],
) -> shap.Explanation:
    """Bundle SHAP values (n, F, K) with base values (K,) or (n, K), the data and the names."""
    n, n_features, n_outputs = values.shape
    if n_features != len(feature_names) or n_outputs != len(output_names):
        raise ValueError(f"SHAP values of shape {values.shape} for {len(feature_names)} features "
                         f"and {len(output_names)} outputs {list(output_names)}")
    base = np.broadcast_to(np.asarray(base_values, np.float64).reshape(-1, n_outputs), (n, n_outputs)).copy()
    return shap.Explanation(values=values.astype(np.float64), base_values=base, data=np.asarray(data),
                            feature_names=list(feature_names), output_names=list(output_names))


def tree_shap(
    booster: xgb.Booster | xgb.XGBModel, data: np.ndarray, feature_names: Sequence[str], output_names: Sequence[str],
) -> shap.Explanation:
    """Exact path-dependent TreeSHAP values of an XGBoost model, in its margin (log-odds) space.

    A binary classifier explains one output (the log-odds of class 1), a multi-class one every class.
    """
    booster = booster.get_booster() if isinstance(booster, xgb.XGBModel) else booster
    explained = shap.TreeExplainer(booster)(np.asarray(data))
    values = explained.values if explained.values.ndim == 3 else explained.values[:, :, None]
    return _explanation(values, explained.base_values, data, feature_names, output_names)


def torch_shap(
    model: nn.Module, data: np.ndarray, background: np.ndarray, feature_names: Sequence[str],
    output_names: Sequence[str], *, explainer: str = "gradient", n_samples: int = 200, seed: int = 0,
) -> shap.Explanation:
    """SHAP values of a torch model (B, F) -> (B, K) against a background sample, with shap's torch explainers.

    explainer 'gradient': expected gradients (any differentiable model; `n_samples` per jet, seeded);
    'deep': DeepLIFT rescale rules (exact for ReLU networks, faster). Base values: the mean output on the background.
    """
    if explainer not in EXPLAINERS:
        raise ValueError(f"unknown SHAP explainer {explainer!r}; known: {list(EXPLAINERS)}")
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(data, np.float32), device=device)
    reference = torch.as_tensor(np.asarray(background, np.float32), device=device)
    model.eval()
    if explainer == "gradient":
        values = shap.GradientExplainer(model, reference).shap_values(x, nsamples=n_samples, rseed=seed)
    else:
        values = shap.DeepExplainer(model, reference).shap_values(x)
    with torch.no_grad():
        base = model(reference).reshape(len(reference), -1).float().mean(dim=0).cpu().numpy()
    values = np.asarray(values)
    return _explanation(values if values.ndim == 3 else values[:, :, None], base, data, feature_names, output_names)


def shap_importance(explanation: shap.Explanation) -> pd.DataFrame:
    """Mean |SHAP| per feature: `mean_abs_shap` (averaged over the outputs) and mean_abs_shap_{output} for each."""
    per_output = np.abs(explanation.values).mean(axis=0)
    table = {"mean_abs_shap": per_output.mean(axis=1)}
    table.update({f"mean_abs_shap_{name}": per_output[:, k] for k, name in enumerate(explanation.output_names)})
    return pd.DataFrame(table, index=pd.Index(explanation.feature_names, name="feature"))
