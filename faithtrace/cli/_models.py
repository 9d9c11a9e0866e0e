"""`faithtrace models`: the packaged models, their size and whether they are ready."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from faithtrace.cli._output import print_json, print_rows
from faithtrace.llm import REGISTRY, is_cached, is_installed
from faithtrace.llm._registry import models_dir


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    models = subparsers.add_parser("models", help="list the packaged models")
    models.add_argument("--json", action="store_true", help="print as JSON")
    models.set_defaults(handler=run_models)


def run_models(args: argparse.Namespace) -> int:
    rows = []
    for model in REGISTRY.values():
        rows.append({
            "name": model.name,
            "label": model.label,
            "params": model.parameters,
            "quant": model.quantization,
            "size_mb": round(model.size_bytes / 1e6) if model.size_bytes else None,
            "installed": is_installed(model),
            "cached": is_cached(model.name),
            "role": model.role,
            "packages": [f"{c.distribution}=={c.version}" for c in model.chunks],
        })
    if args.json:
        print_json({"cache": str(models_dir()), "models": rows})
    else:
        columns = ["name", "params", "quant", "size_mb", "installed", "cached", "role", "label"]
        print_rows(columns, [[r[c] for c in columns] for r in rows], "table", title="models")
        print(f"cache: {models_dir()}")
    return 0
