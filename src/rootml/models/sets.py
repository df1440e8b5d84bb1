"""Models on several sets: each set's features are embedded to a common width and tagged by a learned set-type
embedding, then the sets are joined into one sequence (as ParT joins particles and secondary vertices) on which the
family's own model runs.

A model of one set is the family's own model on the inputs features, points, vectors and mask. A model of several
sets reads `<set>/<input>` (rootml.models.specs.set_input), set by set in the order of their names, and is a
MultiSetModel around the family's model built for `set_embed_dim` features: its kNN graph (ParticleNet) runs on the
joined `points`, its attention (Transformer) and interactions over the joined sequence, and padded slots stay masked
wherever they sit in it.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from rootml.models.specs import set_input, set_input_parts


def set_feature_dims(input_dims: Mapping[str, int | tuple[int, ...]]) -> dict[str, int | tuple[int, ...]]:
    """Set -> its size of features, from the `<set>/features` sizes of a model of several sets, by set name (so that
    the model does not depend on the order of input_dims, which a key-sorted model_config.json does not keep)."""
    return dict(sorted((set_name, dim) for key, dim in input_dims.items()
                       for set_name, name in [set_input_parts(key)] if set_name is not None and name == "features"))


class MultiSetModel(nn.Module):
    """`core` (a set family's model on `width` features) on several sets joined along the slot axis.

    Each set's features (B, C_s, P_s) get their own linear map to `width` plus the set's learned type vector; padded
    slots are zeroed. Every other input the core reads (points, vectors, mask) is concatenated as it is.
    """

    def __init__(self, core: nn.Module, set_features: Mapping[str, int], width: int) -> None:
        super().__init__()
        self.core = core
        self.sets = list(set_features)
        self.embed = nn.ModuleDict({name: nn.Linear(n_features, width) for name, n_features in set_features.items()})
        self.set_type = nn.Parameter(nn.init.trunc_normal_(torch.zeros(len(self.sets), width, 1), std=0.02))
        self.input_keys: tuple[str, ...] = tuple(set_input(name, key) for name in self.sets for key in core.input_keys)

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        """The core's outputs (B, n_outputs) on the joined sets; tensors in input_keys order."""
        inputs = dict(zip(self.input_keys, tensors))
        joined = []
        for key in self.core.input_keys:
            parts = []
            for index, name in enumerate(self.sets):
                part = inputs[set_input(name, key)]
                if key == "features":  # (B, C_s, P_s) -> (B, width, P_s) + the set's type, padded slots zeroed
                    embedded = self.embed[name](part.transpose(1, 2)).transpose(1, 2) + self.set_type[index]
                    part = embedded * inputs[set_input(name, "mask")]
                parts.append(part)
            joined.append(torch.cat(parts, dim=-1))
        return self.core(*joined)
