"""What every ``foabench`` subcommand's arguments share: checks that refuse nonsense before any work starts,
the manifest argument's one spelling, and ``--help`` that shows every default.

- :func:`positive_int`, :func:`non_negative_int`, :func:`positive_float`: argparse ``type=`` functions with a
  message that names the value (``--batch-size 0`` is an error at parse time, not a crash later).
- :func:`add_manifest_argument` / :func:`manifest_argument`: ``--manifest M`` for every command that reads
  manifests (``render``, ``eval``, ``export-hf``, ``manifests check``, ...), with the spelling each command had
  before (a positional argument, or ``eval --split``) kept as an alias.
- :func:`check_device`: ``--device cuda`` on a machine without CUDA is a clear error before anything loads.
- :func:`show_defaults`: gives every parser below a formatter that appends ``(default: X)`` to each option
  whose help does not already state its default.
"""

from __future__ import annotations

import argparse

MANIFEST_HELP = "manifest: NAME.jsonl (next to NAME.header.json), NAME.header.json or NAME"


def _number(text: str, kind: type, ok, what: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"{text} is not {what}")
    return value


def positive_int(text: str) -> int:
    """``type=`` for counts that must be at least 1 (batch sizes, steps, mixtures, workers)."""
    return _number(text, int, lambda v: v >= 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """``type=`` for counts where 0 means something (0 examples; 0 DataLoader workers: load in the main process)."""
    return _number(text, int, lambda v: v >= 0, "a non-negative integer")


def positive_float(text: str) -> float:
    """``type=`` for sizes and rates that must be above 0."""
    return _number(text, float, lambda v: v > 0, "a positive number")


def add_manifest_argument(parser: argparse.ArgumentParser, *, many: bool = False, legacy: str = "positional",
                          required: bool = True, help: str = MANIFEST_HELP) -> None:  # fmt: skip
    """``--manifest M`` (``many``: ``--manifest M [M ...]``) plus the command's old spelling as an alias:
    ``legacy="positional"`` (``render M``) or an option name (``eval --split M``). Read it with
    :func:`manifest_argument`."""
    nargs = "+" if many else None
    parser.add_argument("--manifest", dest="manifest_option", nargs=nargs, metavar="MANIFEST", default=None,
                        help=help + (" (several: one per split)" if many else ""))  # fmt: skip
    if legacy == "positional":
        parser.add_argument("manifest_positional", nargs="*", metavar="MANIFEST",
                            help="the same, given without --manifest")  # fmt: skip
    else:
        parser.add_argument(legacy, dest="manifest_legacy", metavar="MANIFEST", default=None,
                            help="the same as --manifest (its former spelling for this command)")  # fmt: skip
    parser.set_defaults(manifest_many=many, manifest_required=required)


def manifest_argument(args: argparse.Namespace) -> str | list[str] | None:
    """The manifest(s) given by :func:`add_manifest_argument`'s spellings; an error when both or none are given
    (unless not required) or when several are given to a command that reads one."""
    option = args.manifest_option
    legacy = getattr(args, "manifest_positional", None) or getattr(args, "manifest_legacy", None)
    if option and legacy:
        raise ValueError("give the manifest once: with --manifest or without it, not both")
    value = option or legacy
    if isinstance(value, str):
        value = [value]
    if not value:
        if args.manifest_required:
            raise ValueError("no manifest given (use --manifest NAME.jsonl)")
        return [] if args.manifest_many else None
    if args.manifest_many:
        return list(value)
    if len(value) > 1:
        raise ValueError(f"this command reads one manifest, got {len(value)}: {' '.join(value)}")
    return value[0]


class DeviceError(ValueError, argparse.ArgumentTypeError):
    """A ``--device`` this machine does not have (argparse shows its message as it is)."""


def check_device(device: str) -> str:
    """``device`` if this machine has it; ``cuda`` without a CUDA device (or an unknown name) is an error."""
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise DeviceError(f"--device {device!r}: not a torch device (use cpu, cuda or cuda:N)") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {device}: this machine has no CUDA device (torch {torch.__version__}); "
                             "use --device cpu")  # fmt: skip
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif dev.type != "cpu":
        raise DeviceError(f"--device {device}: only cpu and cuda are supported")
    return device


class DefaultsHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Appends ``(default: X)`` to an option's help unless the help already states its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)".strip()


def show_defaults(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and every sub-parser below it :class:`DefaultsHelpFormatter`; options without any help
    get one that states their default."""
    parser.formatter_class = DefaultsHelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                show_defaults(sub)
        elif action.option_strings and not action.help and action.default not in (None, False, argparse.SUPPRESS):
            action.help = "default: %(default)s"
