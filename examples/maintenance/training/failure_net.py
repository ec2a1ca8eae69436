"""Training code of the failure_net model (specs/models/failure_net.yaml): a small PyTorch network.

The contract with specops is the one of every framework: ``train(X, y, params)`` gets the training rows'
features (a pandas DataFrame, in the spec's feature order), the labels (a pandas Series) and
``training.params``, and returns the fitted model. For ``framework: pytorch`` that is a ``torch.nn.Module``
whose forward() maps a float32 tensor of features (n x features) to one probability per class
(n x classes, the classes in the sorted order of the labels: here 0 then 1), so it ends with a softmax.
specops scores it on the held-out rows, logs it with ``mlflow.pytorch`` and registers it; the deployment
exports it for Triton.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
from torch import nn


class FailureNet(nn.Module):
    """Standardises the features with the training statistics, then a one-hidden-layer MLP."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, hidden: int) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.body = nn.Sequential(nn.Linear(len(mean), hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.body((x - self.mean) / self.std), dim=-1)


def train(X: pd.DataFrame, y: pd.Series, params: dict[str, Any]) -> nn.Module:
    torch.manual_seed(int(params.get("seed", 0)))
    features = torch.tensor(X.to_numpy(dtype="float32"))
    labels = torch.tensor(y.to_numpy(dtype="int64"))
    net = FailureNet(features.mean(dim=0), features.std(dim=0) + 1e-6, int(params.get("hidden", 16)))
    optimiser = torch.optim.Adam(net.parameters(), lr=float(params.get("lr", 0.05)))
    for _ in range(int(params.get("epochs", 150))):
        optimiser.zero_grad()
        loss = nn.functional.nll_loss(torch.log(net(features) + 1e-9), labels)
        loss.backward()
        optimiser.step()
    return net.eval()
