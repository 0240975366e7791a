"""Token weighting: the causal-lm probe against a float64 oracle, padding, loss units, and the
weights the loops and HF Trainer give every loss token (n_i / the window's loss tokens)."""

import math
import random
from collections import Counter, defaultdict

import pytest
import torch

from accumaudit_probe import registry
from accumaudit_probe.context import RunContext
from accumaudit_probe.probe import (
    EMBEDDING,
    IGNORE_INDEX,
    VOCABULARY,
    ProbeDataset,
    ProbeModel,
    body_parameter_count,
    collate,
    collate_tokens,
)
from accumaudit_probe.rank_process import import_before_fork
from accumaudit_probe.run import RunError, run_scenario
from accumaudit_probe.worker import handle_run
from conftest import causal_lm_parameters, scenario_dict, token_sequences, weights

HEAD = VOCABULARY * EMBEDDING
BIAS = 2 * VOCABULARY * EMBEDDING


def token_scenario(**overrides):
    return scenario_dict(**{"weighting": "tokens", "model": "causal-lm", **overrides})


def run_tokens(trainer, lengths, seed=3, **overrides):
    """``trainer``'s trace on a token scenario whose sample i has lengths[i % len(lengths)] loss tokens."""
    scenario = token_scenario(**overrides)
    n = scenario["datasetSize"]
    parameters = causal_lm_parameters() if scenario["model"] == "causal-lm" else []
    tokens = token_sequences(n, lengths, seed)
    trace = run_scenario(trainer, scenario, [[0.0] * 3] * n, [0.0] * n, parameters, tokens=tokens, timeout_s=120)
    return trace, tokens


def loss_tokens(tokens):
    return [sum(1 for y in labels[1:] if y != IGNORE_INDEX) for labels in tokens["labels"]]


# -- the float64 oracle ---------------------------------------------------------------------------


def oracle(params, input_ids, labels):
    """(sum of the next-token cross-entropies over the loss tokens, their body gradient), in float64,
    from the analytic formulas: softmax(logits) - onehot(label) is the logits' gradient."""
    total, gradient = 0.0, [0.0] * len(params)
    for t in range(1, len(labels)):
        y = labels[t]
        if y == IGNORE_INDEX:
            continue
        x = input_ids[t - 1]
        e = params[x * EMBEDDING : (x + 1) * EMBEDDING]
        logits = [params[BIAS + v] + sum(e[d] * params[HEAD + d * VOCABULARY + v] for d in range(EMBEDDING)) for v in range(VOCABULARY)]
        top = max(logits)
        log_total = top + math.log(sum(math.exp(z - top) for z in logits))
        total += log_total - logits[y]
        for v in range(VOCABULARY):
            delta = math.exp(logits[v] - log_total) - (v == y)
            gradient[BIAS + v] += delta
            for d in range(EMBEDDING):
                gradient[HEAD + d * VOCABULARY + v] += e[d] * delta
                gradient[x * EMBEDDING + d] += params[HEAD + d * VOCABULARY + v] * delta
    return total, gradient


def flat_gradient(model):
    return torch.cat([p.grad.reshape(-1) for p in model.body_parameters()]).double().tolist()


def micro_batch(tokens, samples):
    items = [
        {"x": torch.tensor(tokens["inputIds"][i]), "y": torch.tensor(tokens["labels"][i]), "ids": torch.tensor(i)}
        for i in samples
    ]
    batch = collate_tokens(items)
    return batch["x"], batch["y"], batch["ids"]


def test_the_causal_lm_body_has_42_parameters_in_probe_ts_order():
    assert body_parameter_count("causal-lm") == 42
    model = ProbeModel(token_scenario(datasetSize=2), causal_lm_parameters())
    assert [tuple(p.shape) for p in model.body_parameters()] == [(6, 3), (3, 6), (6,)]
    flat = torch.cat([p.detach().reshape(-1) for p in model.body_parameters()]).tolist()
    assert flat == pytest.approx(causal_lm_parameters(), abs=1e-7)


def test_token_losses_and_their_gradient_match_the_float64_oracle():
    tokens = token_sequences(4, [3, 1, 0, 5], seed=9)
    params = causal_lm_parameters(seed=2)
    model = ProbeModel(token_scenario(datasetSize=4), params)
    x, y, ids = micro_batch(tokens, [0, 1, 2, 3])
    terms = model.loss_terms(x, y, ids)
    assert terms.shape == (9,)
    sums = [oracle(params, tokens["inputIds"][i], tokens["labels"][i]) for i in range(4)]
    assert terms.sum().item() == pytest.approx(sum(s for s, _ in sums), rel=1e-6)
    per_sample = model.per_sample_loss(x, y, ids)
    assert per_sample.tolist() == pytest.approx([sums[0][0] / 3, sums[1][0], 0.0, sums[3][0] / 5], rel=1e-6)
    model(x, y, ids).loss.backward()  # the micro-batch's token mean
    expected = [sum(g[j] for _, g in sums) / 9 for j in range(42)]
    assert flat_gradient(model) == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_the_fingerprint_gradient_is_each_samples_loss_tokens_over_the_micro_batchs():
    tokens = token_sequences(5, [2, 0, 3, 1, 4])
    model = ProbeModel(token_scenario(datasetSize=5, epochs=2), causal_lm_parameters())
    model.epoch = 1
    x, y, ids = micro_batch(tokens, [3, 0, 1, 2, 4, 0])  # sample 0 twice: its phi gathered twice
    model(x, y, ids).loss.backward()
    grad = model.fingerprint.grad
    assert grad[:5].tolist() == [0.0] * 5
    assert grad[5:].tolist() == pytest.approx([4 / 12, 0.0, 3 / 12, 1 / 12, 4 / 12])


def test_forward_loss_units_and_num_items_in_batch():
    tokens = token_sequences(3, [2, 0, 3])
    model = ProbeModel(token_scenario(datasetSize=3, epochs=1, model="fingerprint"), [])
    with torch.no_grad():
        model.fingerprint.copy_(torch.tensor([1.0, 2.0, 3.0]))
    x, y, ids = micro_batch(tokens, [0, 1, 2])
    assert model.loss_units(y).item() == 5 == (y[..., 1:] != -100).sum().item()
    assert model.loss_terms(x, y, ids).tolist() == [1.0, 1.0, 3.0, 3.0, 3.0]
    assert model.per_sample_loss(x, y, ids).tolist() == [1.0, 0.0, 3.0]
    assert model(x, y, ids).loss.item() == pytest.approx(11 / 5)
    assert model(x, y, ids, num_items_in_batch=torch.tensor(10)).loss.item() == pytest.approx(11 / 10)
    samples = ProbeModel(scenario_dict(datasetSize=3, model="fingerprint"), [])
    assert samples.loss_units(torch.zeros(3)).item() == 3


def test_a_micro_batch_without_loss_tokens_has_loss_zero_and_a_zero_gradient():
    tokens = token_sequences(2, [0])
    model = ProbeModel(token_scenario(datasetSize=2), causal_lm_parameters())
    x, y, ids = micro_batch(tokens, [0, 1])
    loss = model(x, y, ids).loss
    assert loss.item() == 0.0
    loss.backward()
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())


def test_a_model_that_reads_features_is_refused_under_token_weighting():
    with pytest.raises(ValueError, match="scenario.model: expected one of fingerprint, causal-lm under tokens weighting, saw logistic"):
        ProbeModel(token_scenario(model="logistic"), [0.0] * 4)
    with pytest.raises(RunError, match="^scenario.model: expected one of fingerprint, logistic, mlp under samples weighting, saw causal-lm$"):
        run_scenario("reference", scenario_dict(model="causal-lm"), [[0.0] * 3] * 110, [0.0] * 110, causal_lm_parameters())


# -- the dataset and its micro-batches ------------------------------------------------------------


def same_batch(a, b):
    return list(a) == list(b) and all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]) for k in a)


def test_token_items_and_padded_micro_batches():
    tokens = token_sequences(6, [2, 0, 5])
    dataset = ProbeDataset([[0.0] * 3] * 6, [0.0] * 6, tokens=tokens)
    item = dataset[2]
    assert item["x"].dtype == item["y"].dtype == torch.int64
    assert item["x"].tolist() == tokens["inputIds"][2] and item["y"].tolist() == tokens["labels"][2]
    batch = collate([dataset[i] for i in (1, 2)])
    width = max(len(tokens["inputIds"][i]) for i in (1, 2))
    assert batch["x"].shape == batch["y"].shape == (2, width) and batch["ids"].tolist() == [1, 2]
    short = len(tokens["inputIds"][1])
    assert batch["x"][0, short:].tolist() == [0] * (width - short)
    assert batch["y"][0, short:].tolist() == [-100] * (width - short)
    rng = random.Random(1)
    for _ in range(20):
        indices = [rng.randrange(-6, 6) for _ in range(rng.randint(1, 5))]
        items = dataset.__getitems__(indices)
        one_by_one = [dataset[i] for i in indices]
        assert all(same_batch(a, b) for a, b in zip(items, one_by_one, strict=True))
        assert same_batch(collate(items), collate_tokens(one_by_one))
    with pytest.raises(IndexError):
        dataset.__getitems__([1, 6])


def test_the_loaders_and_to_device_give_x_y_ids_padded_per_micro_batch():
    tokens = token_sequences(7, [1, 3, 0, 2])
    scenario = token_scenario(datasetSize=7, batchSize=3, shuffle=4)
    dataset = ProbeDataset([[0.0] * 3] * 7, [0.0] * 7, tokens=tokens)
    ctx = RunContext(scenario, dataset, ProbeModel(scenario, causal_lm_parameters()), "cpu")
    seen = []
    for batch in ctx.make_loader():
        x, y, ids = ctx.to_device(batch)
        assert x.dim() == y.dim() == 2 and x.shape == y.shape
        assert x.shape[1] == max(len(tokens["inputIds"][i]) for i in ids.tolist())
        seen += ids.tolist()
    assert sorted(seen) == list(range(7))


# -- the loops --------------------------------------------------------------------------------------


def expected_weights(trace, tokens):
    """(epoch, sample) -> n_i / (loss tokens of its window), the windows read off the trace's
    micro-batches: K consecutive micro-batches of each epoch (every rank's, the global count)."""
    k = trace["scenario"]["accumulation"]
    n = loss_tokens(tokens)
    by_rank = defaultdict(list)
    for micro_batch in trace["microBatches"]:
        by_rank[(micro_batch["epoch"], micro_batch["rank"])].append(micro_batch["samples"])
    windows = defaultdict(list)
    for (epoch, _), micro_batches in by_rank.items():
        for i, samples in enumerate(micro_batches):
            windows[(epoch, i // k)] += samples
    expected = {}
    for (epoch, _), samples in windows.items():
        total = sum(n[s] for s in samples)
        expected.update({(epoch, s): n[s] / total for s in samples if n[s] > 0})
    return expected


def applied_weights(trace):
    applied = Counter()
    for step in trace["steps"]:
        if not step["skipped"]:
            applied.update(weights(step))
    return applied


def assert_token_weighted(trace, tokens, rel=1e-5):
    expected = expected_weights(trace, tokens)
    applied = applied_weights(trace)
    assert set(applied) == set(expected)  # a sample without loss tokens gets no weight
    for key, weight in expected.items():
        assert applied[key] == pytest.approx(weight, rel=rel), key


@pytest.mark.parametrize("trainer", ["token-reference", "reference"])
@pytest.mark.parametrize(
    "lengths, overrides",
    [
        ([1, 2], {"datasetSize": 2, "batchSize": 1, "accumulation": 2, "epochs": 1}),
        ([3, 1, 0, 5, 2], {"datasetSize": 23, "batchSize": 3, "accumulation": 2}),
        ([4, 1, 1, 7], {"datasetSize": 30, "batchSize": 4, "accumulation": 3, "shuffle": 5, "epochs": 3}),
        ([2, 0], {"datasetSize": 17, "batchSize": 5, "accumulation": 2, "dropLast": True, "model": "fingerprint"}),
        ([0], {"datasetSize": 5, "batchSize": 2, "accumulation": 2, "epochs": 1}),
    ],
)
def test_the_reference_loops_weight_every_loss_token_of_a_window_the_same(trainer, lengths, overrides):
    trace, tokens = run_tokens(trainer, lengths, **overrides)
    assert_token_weighted(trace, tokens)
    assert all(math.isfinite(w) for step in trace["steps"] for w in step["fingerprint"]["weights"])


def test_token_reference_applies_the_float64_full_batch_gradient_of_its_windows():
    trace, tokens = run_tokens("token-reference", [3, 1, 0, 5, 2], datasetSize=13, batchSize=2, accumulation=3, shuffle=1)
    n = loss_tokens(tokens)
    for step in trace["steps"]:
        params = step["body"]["parametersBefore"]
        entries = weights(step)
        window_tokens = sum(n[s] for _, s in entries)
        expected = [0.0] * 42
        for _, s in entries:
            _, gradient = oracle(params, tokens["inputIds"][s], tokens["labels"][s])
            expected = [e + g / window_tokens for e, g in zip(expected, gradient, strict=True)]
        assert step["body"]["gradient"] == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_token_reference_is_the_sample_reference_under_sample_weighting(data):
    scenario = scenario_dict(datasetSize=37, batchSize=4, accumulation=3, shuffle=2)
    features, labels = data(37)
    ours = run_scenario("token-reference", scenario, features, labels, [0.1, -0.2, 0.3, 0.05])
    reference = run_scenario("reference", scenario, features, labels, [0.1, -0.2, 0.3, 0.05])
    assert ours["steps"] == reference["steps"]


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_token_reference_applies_every_loss_token_in_mixed_precision(precision):
    trace, tokens = run_tokens("token-reference", [3, 1, 0, 5, 2], datasetSize=21, batchSize=3, accumulation=2, precision=precision)
    assert_token_weighted(trace, tokens, rel=1e-2)


def test_the_documentation_loop_weights_micro_batch_means_under_token_weighting():
    trace, tokens = run_tokens("docs-loop", [1, 2], datasetSize=2, batchSize=1, accumulation=2, epochs=1)
    [step] = trace["steps"]
    assert weights(step) == {(0, 0): pytest.approx(1 / 2), (0, 1): pytest.approx(1 / 2)}  # n_i / T_W: 1/3, 2/3


def test_ddp_reference_counts_the_windows_loss_tokens_over_every_rank():
    import_before_fork()
    trace, tokens = run_tokens("ddp-reference", [3, 1, 0, 5, 2], datasetSize=19, batchSize=2, accumulation=2, worldSize=2, shuffle=3)
    assert_token_weighted(trace, tokens)
    for replica in trace["replicas"]:
        assert [s["fingerprint"] for s in replica["steps"]] == [s["fingerprint"] for s in trace["steps"]]


# -- HF Trainer -------------------------------------------------------------------------------------


def test_hf_trainer_items_counts_the_windows_loss_tokens():
    pytest.importorskip("transformers")
    trace, tokens = run_tokens("hf-trainer-items", [3, 1, 0, 5, 2], datasetSize=23, batchSize=3, accumulation=2, shuffle=6)
    assert_token_weighted(trace, tokens)
    assert trace["trainer"]["framework"] == "transformers"


def test_hf_trainer_weights_each_micro_batchs_token_mean_by_one_over_k():
    pytest.importorskip("transformers")
    trace, tokens = run_tokens("hf-trainer", [1, 2, 4, 0, 3], datasetSize=16, batchSize=2, accumulation=2)
    n = loss_tokens(tokens)
    applied = applied_weights(trace)
    for micro_batch in trace["microBatches"]:
        samples = micro_batch["samples"]
        tokens_of_batch = sum(n[s] for s in samples)
        for s in samples:
            expected = n[s] / tokens_of_batch / 2 if n[s] else 0.0
            assert applied.get((micro_batch["epoch"], s), 0.0) == pytest.approx(expected, rel=1e-5)


# -- every trainer runs under token weighting -------------------------------------------------------


SINGLE_PROCESS = [
    name for name in registry.names() if not name.startswith("ddp-") and not name.endswith("-uneven")
]


@pytest.mark.parametrize("trainer", SINGLE_PROCESS)
def test_every_trainer_runs_under_token_weighting(trainer):
    """Each trains on ragged sequences (one micro-batch without loss tokens) and applies finite weights
    to every sample with loss tokens, none to those without."""
    try:
        trace, tokens = run_tokens(trainer, [2, 0, 0, 3, 1], datasetSize=10, batchSize=2, accumulation=2, epochs=1)
    except registry.TrainerUnavailable as error:
        pytest.skip(str(error))
    applied = applied_weights(trace)
    assert all(math.isfinite(w) and w > 0 for w in applied.values())
    without = {s for s, n in enumerate(loss_tokens(tokens)) if n == 0}
    assert not {s for _, s in applied} & without


# -- the wire -----------------------------------------------------------------------------------------


def request(scenario, tokens):
    n = scenario["datasetSize"]
    dataset = {"features": [[0.0] * 3] * n, "labels": [0] * n}
    if tokens is not None:
        dataset["tokens"] = tokens
    return {"type": "run", "id": 1, "trainer": "token-reference", "scenario": scenario, "dataset": dataset,
            "initialParameters": causal_lm_parameters() if scenario["model"] == "causal-lm" else [], "encoding": "plain"}


def test_a_run_request_carries_the_token_sequences():
    scenario = token_scenario(datasetSize=6, batchSize=2, accumulation=2, epochs=1)
    tokens = token_sequences(6, [1, 2, 3])
    trace = handle_run(request(scenario, tokens))
    n = loss_tokens(tokens)
    assert trace["steps"][0]["fingerprint"]["weights"] == pytest.approx([n[s] / sum(n[:4]) for s in range(4)])


@pytest.mark.parametrize(
    "tokens, message",
    [
        (None, "dataset.tokens: expected {inputIds, labels}"),
        ({"inputIds": [[1, 2]], "labels": [[-100, 2]]}, "dataset.tokens: expected 3 sequences (scenario.datasetSize), saw 1 input-id and 1 label lists"),
        ({"inputIds": [[1, 2], [3], [4]], "labels": [[-100, 2], [-100, 0], [-100]]}, "dataset.tokens: sample 1: expected input ids and labels of the same length"),
        ({"inputIds": [[1, 2], [3], [6]], "labels": [[-100, 2], [-100], [-100]]}, "dataset.tokens: sample 2: expected input ids from 0 to 5"),
    ],
)
def test_bad_token_sequences_are_refused_in_one_line(tokens, message):
    with pytest.raises(RunError) as raised:
        handle_run(request(token_scenario(datasetSize=3), tokens))
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_a_sample_weighted_request_without_tokens_runs_as_before(data):
    scenario = scenario_dict(datasetSize=6, batchSize=2, accumulation=2, epochs=1, model="fingerprint")
    trace = handle_run({**request(scenario, None), "trainer": "reference"})
    assert trace["steps"][0]["fingerprint"]["weights"] == pytest.approx([0.25] * 4)
