"""The fault options of ``socialwrite sandbox``: argparse options in, a :class:`Faults` out.

Kept next to :class:`Faults` rather than in ``socialwrite.cli`` so that the
command line only has to add the group and read it back, and so that every
option's meaning is written once, beside the field it sets.

Counted options take ``N`` or ``N:VALUE`` (``--fail-writes 3:429``): the next
``N`` requests of that sort, and the one setting that goes with them.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any, TypeVar

from ._faults_config import FAIL_STATUSES, FaultKind, Faults

__all__ = ["add_fault_options", "describe_faults", "faults_from_args"]

_T = TypeVar("_T")

_KINDS = ", ".join(kind.value for kind in FaultKind)

_EXAMPLES = """\
examples:
  socialwrite sandbox --fail-writes 3:429 --retry-after 2
      the next 3 writes are rate limited, each asking to wait 2 s
  socialwrite sandbox --drop-after-publish 1:2 --truncate-streams 1:0
      the next write publishes, then its stream breaks after 2 events;
      the write after it gets a stream that ends at once without 'done'
  socialwrite sandbox --chaos 0.3 --seed 42 --slow-writes 0:0.2
      30 % of requests get a random fault (slow answers wait 0.2 s);
      N=0 sets only a counted option's VALUE, for the random faults
  socialwrite sandbox --chaos-kind server_error=0.1 --chaos-kind dropped_put=0.5
      10 % of writes are answered 503, half the upload PUTs are cut
"""


def _count(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        msg = f"{text!r} is not a whole number of 0 or more"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        msg = f"{text!r} is not a number of seconds of 0 or more"
        raise argparse.ArgumentTypeError(msg)
    return value


def _status(text: str) -> int:
    if not text.isdigit() or int(text) not in FAIL_STATUSES:
        shown = ", ".join(str(status) for status in sorted(FAIL_STATUSES))
        msg = f"{text!r} is not one of the retryable statuses {shown}"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        msg = f"{text!r} is not a probability from 0 to 1"
        raise argparse.ArgumentTypeError(msg)
    return value


def _count_and(parse: Callable[[str], _T]) -> Callable[[str], tuple[int, _T | None]]:
    """An option type for ``N`` or ``N:VALUE``."""

    def convert(text: str) -> tuple[int, _T | None]:
        count, separator, value = text.partition(":")
        return _count(count), parse(value) if separator else None

    return convert


def _kind_probability(text: str) -> tuple[FaultKind, float]:
    name, separator, value = text.partition("=")
    try:
        kind = FaultKind(name.strip())
    except ValueError:
        msg = f"{name!r} is not a fault kind; the kinds are {_KINDS}"
        raise argparse.ArgumentTypeError(msg) from None
    if not separator:
        msg = f"give KIND=PROBABILITY, e.g. {kind.value}=0.1"
        raise argparse.ArgumentTypeError(msg)
    return kind, _probability(value)


def add_fault_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--seed`` and the fault injection options to ``socialwrite sandbox``'s parser."""
    # Keeps the examples' lines as written.
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EXAMPLES
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the post ids and of the random faults: the same requests in the "
        "same order get the same ids and faults (default: 0)",
    )
    group = parser.add_argument_group(
        "fault injection",
        "Make the sandbox misbehave on purpose, to test how a client copes. Counted "
        "options hit the next N requests of their sort; --chaos hits a seeded random "
        "share of all requests. A request gets one fault at most. GET "
        "/v1/sandbox/faults shows what was injected. See docs/sandbox-faults.md.",
    )
    group.add_argument(
        "--fail-writes",
        metavar="N[:STATUS]",
        type=_count_and(_status),
        help="answer the next N writes with STATUS (503 by default; 429, 500, 502 or 504) "
        "before anything is recorded, so a retry runs the write for real",
    )
    group.add_argument(
        "--retry-after",
        metavar="SECONDS",
        type=_seconds,
        default=0.0,
        help="the Retry-After of the 429 answers (default: 0, retry at once)",
    )
    group.add_argument(
        "--retry-after-date",
        action="store_true",
        help="send the Retry-After of --fail-writes N:429 as an HTTP-date instead of seconds",
    )
    group.add_argument(
        "--slow-writes",
        metavar="N[:SECONDS]",
        type=_count_and(_seconds),
        help="run the next N writes at once but hold their answers' headers SECONDS (default: 1)",
    )
    group.add_argument(
        "--drop-after-publish",
        metavar="N[:EVENTS]",
        type=_count_and(_count),
        help="publish the next N writes, then cut the connection instead of answering "
        "(a stream first sends EVENTS events; default: a seeded random number)",
    )
    group.add_argument(
        "--truncate-streams",
        metavar="N[:EVENTS]",
        type=_count_and(_count),
        help="end the next N event streams cleanly after EVENTS events, without 'done' "
        "(default: a seeded random number)",
    )
    group.add_argument(
        "--trickle-streams",
        metavar="N[:SECONDS]",
        type=_count_and(_seconds),
        help="wait SECONDS before each event of the next N event streams, sending only "
        "': ping' comments meanwhile (default: 0.5)",
    )
    group.add_argument(
        "--malformed-answers",
        metavar="N",
        type=_count,
        help="run the next N writes but answer with their JSON cut in half",
    )
    group.add_argument(
        "--drop-puts",
        metavar="N[:BYTES]",
        type=_count_and(_count),
        help="cut the connection of the next N upload PUTs after BYTES bytes of body, "
        "which are kept (default: a seeded random point in the body)",
    )
    group.add_argument(
        "--chaos",
        metavar="RATE",
        type=_probability,
        help="give a seeded random RATE (0 to 1) of requests a fault, every kind equally likely",
    )
    group.add_argument(
        "--chaos-kind",
        metavar="KIND=P",
        type=_kind_probability,
        action="append",
        default=[],
        help=f"give one kind of fault the probability P (repeatable; replaces that kind's "
        f"share of --chaos). Kinds: {_KINDS}",
    )


def faults_from_args(args: argparse.Namespace) -> Faults:
    """Build the :class:`Faults` that parsed options ask for.

    Raises:
        ValueError: the options do not fit together (the write kinds' chances
            add up to more than 1, for instance).
    """
    settings: dict[str, Any] = {
        "retry_after": args.retry_after,
        "retry_after_date": args.retry_after_date,
        "seed": args.seed,
    }

    def counted(option: tuple[int, Any] | None, count_field: str, value_field: str) -> None:
        if option is not None:
            settings[count_field], value = option
            if value is not None:
                settings[value_field] = value

    counted(args.fail_writes, "fail_writes", "fail_status")
    counted(args.slow_writes, "slow_writes", "answer_delay")
    counted(args.drop_after_publish, "drop_after_publish", "drop_after_events")
    counted(args.truncate_streams, "truncate_streams", "truncate_after_events")
    counted(args.trickle_streams, "trickle_streams", "trickle_delay")
    counted(args.drop_puts, "drop_puts", "drop_put_after")
    if args.malformed_answers is not None:
        settings["malformed_answers"] = args.malformed_answers
    chaos: dict[FaultKind, float] = {}
    if args.chaos is not None:
        chaos.update(Faults.random_mix(args.chaos).chaos)
    chaos.update(dict(args.chaos_kind))
    settings["chaos"] = chaos
    return Faults(**settings)


def describe_faults(faults: Faults) -> list[str]:
    """Return one line per fault in force, for the command's banner (none: empty)."""
    lines = [f"{name}: {count}" for name, count in faults.counted.items() if count]
    chaos = [
        f"{kind.value}={probability:g}" for kind, probability in faults.chaos.items() if probability
    ]
    if chaos:
        lines.append(f"random faults (seed {faults.seed}): {', '.join(chaos)}")
    return lines
