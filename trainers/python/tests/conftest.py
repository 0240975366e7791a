import random

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
        "precision": "fp32",
        "model": "logistic",
        "dataSeed": 0,
        "learningRate": 0.1,
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
