"""`faithtrace serve-model NAME`: serve a packaged model with `vllm serve` on this machine."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable

from faithtrace.llm import serve_command

KV_CACHE_ENV = "VLLM_CPU_KVCACHE_SPACE"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    serve = subparsers.add_parser(
        "serve-model", help="serve a packaged model over the OpenAI API with `vllm serve`",
        description="Start `vllm serve` on 127.0.0.1 for a packaged model (converted once to "
                    "safetensors). Use it with `--backend vllm-server` and FAITHTRACE_VLLM_URL.")
    serve.add_argument("name", help="a packaged model (see `faithtrace models`) or a local model dir")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--dtype", default="float32", help="weights dtype (default float32)")
    serve.add_argument("--max-model-len", type=int, default=2048, help="context length (default 2048)")
    serve.add_argument("--print", action="store_true", dest="print_only",
                       help="print the command instead of running it")
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    command = serve_command(args.name, host=args.host, port=args.port, dtype=args.dtype,
                            max_model_len=args.max_model_len)
    # The CPU build reserves this many GiB of KV cache; its default of 4 is a lot for a laptop.
    env = {KV_CACHE_ENV: os.environ.get(KV_CACHE_ENV, "1")}
    if args.print_only:
        print(" ".join([f"{k}={v}" for k, v in env.items()] + [shlex.quote(c) for c in command]))
        return 0
    print(f"serving {args.name} at http://{args.host}:{args.port} "
          f"(FAITHTRACE_VLLM_URL=http://{args.host}:{args.port})", file=sys.stderr)
    sys.stdout.flush()
    # exec: Ctrl-C and SIGTERM then reach vllm itself, with nothing of ours left to clean up.
    os.execvpe(command[0], command, {**os.environ, **env})
