"""Which inputs an evaluation reads: a built benchmark, Hugging Face shards, a DCASE test folder, or a manifest
rendered from its banks (:mod:`foabench.benchmark.eval_inputs`, :mod:`foabench.benchmark.dcase_inputs`)."""

from __future__ import annotations

from foabench.benchmark.dcase_inputs import DcaseInputs
from foabench.benchmark.eval_inputs import BenchmarkInputs, EvalInputs, RenderedInputs, ShardInputs


def open_inputs(split: str | None, bank_paths: list[str], benchmark: str | None = None, hf: str | None = None,
                benchmark_split: str = "test", dcase: str | None = None, dcase_layout: str | None = None,
                query_bank: list[str] | None = None, audio_queries: bool = True) -> EvalInputs:  # fmt: skip
    """The inputs an evaluation asks for: a benchmark folder, shards, a DCASE test folder (with an optional query
    bank; ``audio_queries``: audio queries will be scored, so they must exist), or a manifest with its banks."""
    if sum(bool(x) for x in (benchmark, hf, dcase)) > 1:
        raise ValueError("give one of --benchmark, --hf and --dcase")
    if benchmark:
        return BenchmarkInputs.open_benchmark(benchmark, benchmark_split)
    if hf:
        return ShardInputs(hf, benchmark_split)
    if dcase:
        return DcaseInputs(dcase, dcase_layout, query_bank, audio_queries)
    if not split:
        raise ValueError("no manifest given (use --manifest NAME.jsonl, --benchmark DIR, --hf DIR or --dcase DIR)")
    return RenderedInputs.open(split, bank_paths)
