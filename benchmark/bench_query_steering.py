"""How often does query steering point at the target? Prints direction-of-arrival accuracy on a split.

``python -m foabench.benchmark.bench_query_steering --split M.jsonl [M2.jsonl ...] --banks B --encoder E --cache C``

For every target and query type it reports the share of targets whose chosen direction is within
``--tolerance`` degrees (default 20) of the true one, next to two references measured in the same run on the
same candidates: the loudest candidate (a query-blind pick) and the best candidate (the ceiling any scoring of
these candidates can reach), and the expected share of a uniformly random pick among the candidates.
"""

from __future__ import annotations

import argparse

import numpy as np


def main(argv: list[str] | None = None) -> None:
    from foabench.baselines.query_direction import QuerySteering
    from foabench.benchmark.evaluate import _Queries
    from foabench.synth.banks.bank_set import BankSet
    from foabench.synth.foa import angular_distance
    from foabench.synth.queries.registry import open_encoder
    from foabench.synth.scenes.manifest import read_manifest
    from foabench.synth.scenes.render import Renderer

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", nargs="+", required=True)
    p.add_argument("--banks", nargs="+", default=["foabench-data/banks"])
    p.add_argument("--encoder", default="foabench-data/encoders/builtin")
    p.add_argument("--cache", default="foabench-data/embeddings")
    p.add_argument("--tolerance", type=float, default=20.0)
    args = p.parse_args(argv)
    banks = BankSet.open(args.banks)
    encoder = open_encoder(args.encoder)
    renderer = Renderer(banks)
    steer = QuerySteering(encoder)
    hits: dict[str, list[float]] = {"audio": [], "text": [], "loudest": [], "best": [], "random": []}
    for path in args.split:
        rows = read_manifest(path).rows
        queries = _Queries(encoder, banks, args.cache, rows)
        for row in rows:
            foa = renderer.render(row).mixture.T.astype(np.float64)
            for ev in (e for e in row["events"] if e["role"] == "target"):
                true = (ev["azimuth"], ev["elevation"])
                for kind in ("audio", "text"):
                    choice = steer.choose(foa, int(row["sample_rate"]), queries.embedding(ev, kind))
                    hits[kind].append(angular_distance(choice.azimuth, choice.elevation, *true) < args.tolerance)
                cands = choice.candidates
                near = [angular_distance(az, el, *true) < args.tolerance for az, el, _, _ in cands]
                hits["loudest"].append(near[int(np.argmax([c[2] for c in cands]))] if cands else False)
                hits["best"].append(any(near))
                hits["random"].append(float(np.mean(near)) if near else 0.0)
    n = len(hits["best"])
    print(f"query steering ({encoder.name} {encoder.hash[:12]}), {n} targets, within {args.tolerance:g} deg:")
    for key, label in (("audio", "audio query"), ("text", "text query"), ("loudest", "loudest candidate (no query)"),
                       ("random", "random candidate (expected)"), ("best", "best candidate (ceiling)")):  # fmt: skip
        print(f"  {label:30s} {100 * float(np.mean(hits[key])):5.1f} %")


if __name__ == "__main__":
    main()
