"""Faithfulness probes: interventions on an episode's reasoning, answers read by scoring, metrics."""

from faithtrace.probes._corrupt import model_mistake, paraphrase, rule_mistake
from faithtrace.probes._elicit import answer_prompt, elicit
from faithtrace.probes._metrics import Comparison, aoc, compare, softmax, tvd, weighted_aoc
from faithtrace.probes._model import InterventionResult, ProbeReport
from faithtrace.probes._runner import DEFAULT_INTERVENTIONS, INTERVENTIONS, probe_episode

__all__ = [
    "DEFAULT_INTERVENTIONS",
    "INTERVENTIONS",
    "Comparison",
    "InterventionResult",
    "ProbeReport",
    "answer_prompt",
    "aoc",
    "compare",
    "elicit",
    "model_mistake",
    "paraphrase",
    "probe_episode",
    "rule_mistake",
    "softmax",
    "tvd",
    "weighted_aoc",
]
