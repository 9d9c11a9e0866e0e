"""Faithfulness probes: interventions on an episode's reasoning, answers read by scoring, metrics."""

from faithtrace.probes._corrupt import model_mistake, paraphrase, rule_mistake
from faithtrace.probes._datasets import (
    DatasetInfo,
    DatasetItem,
    is_correct,
    list_datasets,
    load_dataset,
    load_jsonl,
)
from faithtrace.probes._elicit import answer_prompt, elicit
from faithtrace.probes._experiment import (
    AGENTS,
    ExperimentConfig,
    ExperimentRun,
    plan_interventions,
    run_experiment,
)
from faithtrace.probes._experiment_store import ExperimentRecord, find_experiment
from faithtrace.probes._metrics import Comparison, aoc, compare, softmax, tvd, weighted_aoc
from faithtrace.probes._model import InterventionResult, ProbeReport
from faithtrace.probes._report import ExperimentReport, build_report
from faithtrace.probes._report_files import write_report
from faithtrace.probes._runner import (
    DEFAULT_INTERVENTIONS,
    INTERVENTIONS,
    REASONING_INTERVENTIONS,
    default_interventions,
    probe_episode,
)

__all__ = [
    "AGENTS",
    "DEFAULT_INTERVENTIONS",
    "INTERVENTIONS",
    "REASONING_INTERVENTIONS",
    "Comparison",
    "DatasetInfo",
    "DatasetItem",
    "ExperimentConfig",
    "ExperimentRecord",
    "ExperimentReport",
    "ExperimentRun",
    "InterventionResult",
    "ProbeReport",
    "answer_prompt",
    "aoc",
    "build_report",
    "compare",
    "default_interventions",
    "elicit",
    "find_experiment",
    "is_correct",
    "list_datasets",
    "load_dataset",
    "load_jsonl",
    "model_mistake",
    "paraphrase",
    "plan_interventions",
    "probe_episode",
    "rule_mistake",
    "run_experiment",
    "softmax",
    "tvd",
    "weighted_aoc",
    "write_report",
]
