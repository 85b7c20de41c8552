"""The command line refuses nonsense at parse time, spells the manifest argument one way, and shows defaults."""

import argparse

import pytest

from foabench.benchmark.cli import build_parser
from foabench.benchmark.cli import main as cli
from foabench.synth.cli_args import (
    DefaultsHelpFormatter,
    add_manifest_argument,
    check_device,
    manifest_argument,
    non_negative_int,
    positive_float,
    positive_int,
)


def _parsers(parser: argparse.ArgumentParser, path: str = "foabench"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_number_types_refuse_non_positive_values():
    assert positive_int("3") == 3 and non_negative_int("0") == 0 and positive_float("0.5") == 0.5
    for fn, bad in ((positive_int, "0"), (positive_int, "-2"), (non_negative_int, "-1"), (positive_float, "0")):
        with pytest.raises(argparse.ArgumentTypeError, match="not a"):
            fn(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="not a number"):
        positive_int("four")


@pytest.mark.parametrize(
    "args",
    [
        ["scenes", "--banks", "b", "--split", "val", "--n", "0", "--out", "m.jsonl"],
        ["render", "m.jsonl", "--banks", "b", "--out", "o", "--workers", "0"],
        ["train", "--out", "r", "--steps", "0"],
        ["train", "--out", "r", "--batch-size", "-1"],
        ["export-hf", "m.jsonl", "--out", "o", "--banks", "b", "--shard-size-mb", "0"],
        ["bank", "rooms", "--workers", "0"],
    ],
)
def test_non_positive_counts_are_refused_before_any_work(args, capsys):
    with pytest.raises(SystemExit) as exc:
        cli(args)
    assert exc.value.code == 2 and "is not a positive" in capsys.readouterr().err


def test_every_help_shows_every_default():
    missing = []
    for path, parser in _parsers(build_parser()):
        assert parser.formatter_class is DefaultsHelpFormatter, path
        formatter = parser._get_formatter()
        for action in parser._actions:
            if not action.option_strings or action.default in (None, False, argparse.SUPPRESS):
                continue
            text = formatter._get_help_string(action) or ""
            if "default" not in text.lower():
                missing.append(f"{path} {action.option_strings[0]}")
    assert not missing, missing
    text = next(p for name, p in _parsers(build_parser()) if name == "foabench eval").format_help()
    assert "(default: 4)" in text and "(default: direct)" in text


def test_the_manifest_argument_has_one_spelling_and_keeps_the_old_ones():
    parser = argparse.ArgumentParser()
    subs = parser.add_subparsers(dest="cmd")
    add_manifest_argument(subs.add_parser("one"))
    add_manifest_argument(subs.add_parser("many"), many=True)
    add_manifest_argument(subs.add_parser("flag"), legacy="--split")
    assert manifest_argument(parser.parse_args(["one", "--manifest", "a.jsonl"])) == "a.jsonl"
    assert manifest_argument(parser.parse_args(["one", "a.jsonl"])) == "a.jsonl"
    assert manifest_argument(parser.parse_args(["many", "--manifest", "a", "b"])) == ["a", "b"]
    assert manifest_argument(parser.parse_args(["many", "a", "b"])) == ["a", "b"]
    assert manifest_argument(parser.parse_args(["flag", "--split", "a"])) == "a"
    assert manifest_argument(parser.parse_args(["flag", "--manifest", "a"])) == "a"
    for args, match in ((["one"], "no manifest"), (["one", "a", "--manifest", "b"], "once"),
                        (["one", "a", "b"], "reads one manifest")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            manifest_argument(parser.parse_args(args))


def test_device_check():
    assert check_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="only cpu and cuda"):
        check_device("meta")
    with pytest.raises(ValueError, match="not a torch device"):
        check_device("gpu0")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            check_device("cuda")
