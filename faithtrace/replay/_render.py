"""Drawing a recorded episode in the terminal as a tree."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from faithtrace.replay._model import RecordedEpisode

_KIND_STYLE = {"thought": "white", "action": "yellow", "observation": "magenta",
               "retrieval": "blue", "answer": "bold green"}


def _short(text: str | None, limit: int = 240) -> str:
    text = (text or "").replace("\n", " ⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def episode_tree(episode: RecordedEpisode) -> Tree:
    """A rich Tree: header, model calls, tool calls, retrievals and steps in order, answer."""
    title = Text.assemble(
        (f"{episode.agent} ", "bold"), (episode.trace_id, "cyan"),
        f"  {episode.settings.get('model', '?')} · {episode.duration_ms / 1000:.1f} s")
    if episode.parent_trace_id:
        title.append(f"  fork of {episode.parent_trace_id[:12]} at step {episode.fork_step} "
                     f"{episode.intervention}", style="dim")
    tree = Tree(title)
    tree.add(Text.assemble(("question ", "bold"), episode.question or "<hidden>"))
    if episode.model_calls:
        calls = tree.add(Text("model calls", style="bold"))
        for i, call in enumerate(episode.model_calls):
            style = "red" if call.status == "ERROR" else ""
            calls.add(Text(f"#{i} {call.model} · {call.input_tokens} in / {call.output_tokens} out "
                           f"tokens · {call.duration_ms / 1000:.2f} s · {call.finish_reason}"
                           + (f" · {call.error_type}" if call.error_type else ""), style=style))
    for retrieval in episode.retrievals:
        node = tree.add(Text.assemble(("retrieval ", "bold blue"), f"{retrieval.index_id}: ",
                                      (_short(retrieval.query, 120), "italic")))
        for rank, doc in enumerate(retrieval.documents, start=1):
            cited = " [cited]" if rank in episode.citations else ""
            node.add(Text(f"[{rank}] {doc.get('title') or doc.get('id')} "
                          f"(score {float(doc.get('score', 0)):.3f}){cited}",
                          style="green" if cited else ""))
    tools_by_step = {call.step_index: call for call in episode.tool_calls}
    steps = tree.add(Text(f"steps ({len(episode.steps)})", style="bold"))
    for step in episode.steps:
        style = _KIND_STYLE.get(step.kind, "")
        node = steps.add(Text.assemble((f"{step.index:>2} ", "dim"), (f"{step.kind:<11} ", style),
                                       _short(step.text)))
        tool_call = tools_by_step.get(step.index)
        if tool_call is not None:
            error = tool_call.status == "ERROR"
            node.add(Text(f"{tool_call.name}({_short(tool_call.arguments, 100)}) -> "
                          f"{_short(tool_call.result, 160)} · {tool_call.duration_ms:.0f} ms"
                          + (f" · {tool_call.error_type}" if error else ""),
                          style="bold red" if error else "magenta"))
    bad_citations = [n for n in episode.citations
                     if not any(n <= len(r.documents) for r in episode.retrievals)]
    if episode.answer is not None:
        tree.add(Text.assemble(("answer ", "bold green"), episode.answer,
                               (f"  ({episode.answer_source})", "dim")))
    else:
        tree.add(Text(f"no answer ({episode.no_answer_reason})", style="bold red"))
    if episode.citations:
        tree.add(Text(f"citations {episode.citations}" +
                      (f" — never retrieved: {bad_citations}" if bad_citations else ""),
                      style="red" if bad_citations else "green"))
    if episode.status == "ERROR":
        tree.add(Text(f"episode failed: {episode.error_type}", style="bold red"))
    return tree


def print_episode_tree(episode: RecordedEpisode, console: Console | None = None) -> None:
    (console or Console()).print(episode_tree(episode))
