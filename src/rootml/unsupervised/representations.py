"""What to embed for a trained torch model: an autoencoder's latent, or the input of a classifier's last linear layer
(the learned representation its output layer separates the classes in)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import nn

BATCH_SIZE = 4096  # jets per forward pass


def model_arguments(model: nn.Module, inputs: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
    """The tensors of `inputs` that the model reads, in the order of its input_keys."""
    keys = getattr(model, "input_keys", None)
    if keys is None:
        raise TypeError(f"{type(model).__name__} has no input_keys naming the inputs it reads")
    missing = [key for key in keys if key not in inputs]
    if missing:
        raise KeyError(f"{type(model).__name__} reads inputs {list(keys)}, missing {missing}")
    return [inputs[key] for key in keys]


def _batched(model: nn.Module, inputs: Mapping[str, torch.Tensor],
             run: Callable[[list[torch.Tensor]], torch.Tensor], batch_size: int) -> np.ndarray:
    """run(arguments) -> (B, ...) tensor over batches of jets, in eval mode without gradients, as a (n, d) array."""
    arguments = model_arguments(model, inputs)
    device = next(model.parameters(), torch.empty(0)).device
    n = len(arguments[0])
    if n == 0:
        raise ValueError(f"no jets to represent: the inputs of {type(model).__name__} are empty")
    was_training = model.training
    model.eval()  # dropout off, batch norm on its running statistics: the representation of the trained model
    try:
        with torch.no_grad():
            pieces = [run([tensor[start:start + batch_size].to(device) for tensor in arguments]).detach().float()
                      .reshape(min(batch_size, n - start), -1).cpu().numpy() for start in range(0, n, batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(pieces)


def hidden_representation(model: nn.Module, inputs: Mapping[str, torch.Tensor],
                          batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Input (n, d) of the last torch.nn.Linear module called in the forward pass (flattened per jet)."""
    recorded: list[torch.Tensor] = []

    def record(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        """Keep the input of the latest Linear call."""
        recorded[:] = [args[0]]

    def last_linear_input(arguments: list[torch.Tensor]) -> torch.Tensor:
        """Forward one batch and return what its last Linear call received."""
        recorded.clear()
        model(*arguments)
        if not recorded:
            raise ValueError(f"{type(model).__name__} called no torch.nn.Linear module in its forward pass")
        if recorded[0].shape[0] != len(arguments[0]):
            raise ValueError(f"the input {tuple(recorded[0].shape)} of the last Linear layer of "
                             f"{type(model).__name__} is not one row per jet ({len(arguments[0])} jets)")
        return recorded[0]

    hooks = [module.register_forward_pre_hook(record) for module in model.modules() if isinstance(module, nn.Linear)]
    try:
        return _batched(model, inputs, last_linear_input, batch_size)
    finally:
        for hook in hooks:
            hook.remove()


def latent_or_hidden(model: nn.Module, inputs: Mapping[str, torch.Tensor],
                     batch_size: int = BATCH_SIZE) -> tuple[str, np.ndarray]:
    """("latent", z) for an anomaly model with a `latent` method (autoencoders: the bottleneck of the standardised
    input; VAEs: the mean of q(z|x)), else ("last hidden layer", hidden_representation)."""
    latent = getattr(model, "latent", None)
    if callable(latent):
        return "latent", _batched(model, inputs, lambda arguments: latent(*arguments), batch_size)
    return "last hidden layer", hidden_representation(model, inputs, batch_size)
