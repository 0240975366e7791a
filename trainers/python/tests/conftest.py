import math
import random
from functools import cache

import pytest


def scenario_dict(**overrides):
    """The 110/8/4 scenario over 2 epochs (logistic body), as the harness sends it, with overrides."""
    scenario = {
        "datasetSize": 110,
        "batchSize": 8,
        "accumulation": 4,
        "worldSize": 1,
        "dropLast": False,
        "shuffle": False,
        "epochs": 2,
        "sampling": "epochs",
        "precision": "fp32",
        "model": "logistic",
        "dataSeed": 0,
        "weighting": "samples",
        "learningRate": 0.1,
        "schedule": "constant",
        "warmupSteps": 0,
        "optimizer": "sgd",
    }
    scenario.update(overrides)
    return scenario


@pytest.fixture
def make_scenario():
    return scenario_dict


@pytest.fixture
def data():
    def make(n):
        rng = random.Random(7)
        features = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(n)]
        labels = [float(rng.random() < 0.5) for _ in range(n)]
        return features, labels

    return make


def parameters_for(model):
    return {"fingerprint": [], "logistic": [0.1, -0.2, 0.3, 0.05], "mlp": [0.1 * ((i % 5) - 2) for i in range(21)]}[model]


@cache
def dataset(n):
    """The adapter tests' dataset of n samples: (features, labels), seeded so every run sees the same."""
    rng = random.Random(11)
    features = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(n)]
    labels = [float(rng.random() < 0.5) for _ in range(n)]
    return features, labels


def weights(step):
    """(epoch, sample) -> weight of one step's applied fingerprint gradient."""
    f = step["fingerprint"]
    return {(e, s): w for e, s, w in zip(f["epochs"], f["samples"], f["weights"], strict=True)}


def logistic_body_gradient(step, features, labels):
    """The body gradient a step of the logistic probe should apply: each sample's BCE-with-logits
    gradient (sigmoid(w.x_i + b) - y_i) * (x_i, 1), weighted by its fingerprint weight in the step."""
    before = step["body"]["parametersBefore"]
    expected = [0.0] * 4
    for (_, sample), weight in weights(step).items():
        x = features[sample]
        z = sum(wj * xj for wj, xj in zip(before[:3], x, strict=True)) + before[3]
        residual = 1 / (1 + math.exp(-z)) - labels[sample]
        for j, feature in enumerate([*x, 1.0]):
            expected[j] += weight * residual * feature
    return expected


def token_sequences(n, lengths, seed=3):
    """Token sequences as the harness sends them ({"inputIds", "labels"}), built as probe.ts builds
    them: sample i has 1 + p_i + n_i tokens (n_i = lengths[i % len(lengths)], p_i from 0 to 2 prompt
    tokens), labels -100 at position 0 and on the prompt, the input id on the n_i loss tokens."""
    rng = random.Random(seed)
    input_ids, labels = [], []
    for i in range(n):
        prompt = rng.randrange(3)
        ids = [rng.randrange(6) for _ in range(1 + prompt + lengths[i % len(lengths)])]
        input_ids.append(ids)
        labels.append([-100 if t <= prompt else token for t, token in enumerate(ids)])
    return {"inputIds": input_ids, "labels": labels}


def causal_lm_parameters(seed=5):
    """Initial causal-lm body parameters (42: embedding 6 x 3, head 3 x 6, bias 6), small Gaussian values."""
    rng = random.Random(seed)
    return [0.5 * rng.gauss(0, 1) for _ in range(42)]
