"""The framework layer without training: validation of framework choices, the probability shapes the
flavours answer with (serving app and re-scoring), and what train() must return per framework."""

from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
import pytest

from compiler.apply.context import StepFailed
from compiler.apply.steps.frameworks import FLAVORS, pinned, probabilities_of
from compiler.emit.docker.serve_app import probability_row, with_labels
from compiler.spec.frameworks import TRAINABLE

MODEL = "specs/models/churn.yaml"


def test_every_trainable_framework_has_a_flavour() -> None:
    assert set(TRAINABLE) == set(FLAVORS)


def test_tensorflow_validates_with_a_warning(edit, validate_cli) -> None:
    edit.replace(MODEL, "framework: sklearn", "framework: tensorflow")
    result = validate_cli(edit.root)
    assert result.exit_code == 0, result.output
    assert "framework-untrained" in result.output
    assert "framework 'tensorflow' is not trained by this version of specops" in result.output
    assert f"{MODEL}:11:" in result.output


def test_an_unknown_framework_is_a_schema_error(edit, validate_cli) -> None:
    edit.replace(MODEL, "framework: sklearn", "framework: jax")
    result = validate_cli(edit.root)
    assert result.exit_code == 1
    assert "sklearn, xgboost, lightgbm, pytorch, tensorflow" in result.output or "jax" in result.output


@pytest.mark.parametrize(("row", "expected"), [
    ([0.2, 0.8], [0.2, 0.8]),
    ({"0": 0.25, "1": 0.75}, [0.25, 0.75]),  # a DataFrame's record (PyTorch)
    (0.75, [0.25, 0.75]),  # a binary Booster's P(second class)
    ("x", "x"),
    (1, 1),  # an integer is a label
    ({"a": 1}, {"a": 1}),
])
def test_probability_rows_of_every_flavour(row, expected) -> None:
    assert probability_row(row, 2) == expected


def test_with_labels_reads_a_booster_answer() -> None:
    answer = json.loads(with_labels(json.dumps({"predictions": [0.9, 0.1]}), [0, 1], None))
    assert answer["predictions"] == [1, 0] and answer["classes"] == [0, 1]
    assert np.allclose(answer["probabilities"], [[0.1, 0.9], [0.9, 0.1]])
    records = json.loads(with_labels(json.dumps({"predictions": [{"0": 0.3, "1": 0.7}]}), ["no", "yes"], 0.8))
    assert records["predictions"] == ["no"]


def test_probabilities_of_accepts_the_flavours_shapes() -> None:
    classes = (0, 1)
    assert np.allclose(probabilities_of(np.array([0.2, 0.9]), classes, "m"), [[0.8, 0.2], [0.1, 0.9]])
    assert probabilities_of(np.array([[0.2], [0.9]]), classes, "m")[:, 1].tolist() == pytest.approx([0.2, 0.9])
    three = probabilities_of(np.array([[0.2, 0.3, 0.5]], dtype=np.float32), (0, 1, 2), "m")
    assert three.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(("out", "message"), [
    (np.array([[0.2, 0.3, 0.5]]), "must give one probability per class (n x 2)"),
    (np.array([[2.0, -1.0]]), "not probabilities"),
    (np.array([[0.2, 0.2]]), "end a classifier's forward() with a softmax"),
])
def test_probabilities_of_refuses_what_is_no_probability(out, message) -> None:
    with pytest.raises(StepFailed, match=re.escape(message)):
        probabilities_of(out, (0, 1), "the module")


def test_pins_name_the_distribution_installed() -> None:
    pins = pinned(("numpy", "not-a-package-here"))
    assert pins[0].startswith("numpy==") and pins[1] == "not-a-package-here"


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed (make tools)")
def test_pytorch_needs_a_module() -> None:
    import pandas as pd
    import torch

    with pytest.raises(StepFailed, match=re.escape("train() returned a list; framework pytorch needs a torch.nn.Module")):
        FLAVORS["pytorch"].adopt([1], pd.Series([0, 1]), "classification")
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Softmax(dim=-1))
    adopted = FLAVORS["pytorch"].adopt(net, pd.Series(["b", "a", "b"]), "classification")
    assert adopted.classes == ("a", "b")
    with pytest.raises(StepFailed, match="n x 2"):  # three outputs for two classes
        FLAVORS["pytorch"].predict(adopted, pd.DataFrame({"x": [1.0], "y": [2.0]}), None)


@pytest.mark.skipif(importlib.util.find_spec("xgboost") is None, reason="xgboost is not installed (make tools)")
def test_xgboost_needs_its_estimator() -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(StepFailed, match=re.escape("framework xgboost needs a fitted xgboost.XGBModel")):
        FLAVORS["xgboost"].adopt(LogisticRegression(), pd.Series([0, 1]), "classification")


def test_random_seed_seeds_torch_imported_inside_train():
    """`import torch` inside train(): torch was not imported when the generators were seeded, so its weights were
    drawn from an unseeded generator (other metrics on every run, or another model's seed within one apply)."""
    import subprocess
    import sys

    pytest.importorskip("torch")
    code = ("from compiler.apply.steps.seeding import seed_training\n"
            "seed_training(7, 'def train(X, y, params):\\n    import torch\\n')\n"
            "import torch\nprint(torch.rand(1).item())\n")
    draws = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
             for _ in range(2)}
    import torch

    torch.manual_seed(7)
    assert draws == {f"{torch.rand(1).item()}\n"}
