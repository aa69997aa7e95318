"""Which faults a sandbox injects: counted ones ("the next N writes") and a seeded random mix.

Kept apart from the code that injects them (``_faults``) so that
:class:`~socialwrite.sandbox.SandboxConfig` can hold a :class:`Faults` without
importing aiohttp. The options of ``socialwrite sandbox`` that set them are
declared here too, once, in :data:`FAULT_OPTIONS`: each says its name, help and
how its text becomes :class:`Faults` settings, and the command line renders
them (no option parser is imported here).

Two ways to ask for faults, which combine:

* **Counted**: ``Faults(fail_writes=3)`` answers the next three writes ``503``.
  Each counted fault is used up by the requests it hits, in arrival order.
* **Random**: ``Faults(seed=7, chaos={"server_error": 0.1, "truncated_stream": 0.05})``
  gives each request a fault with the kind's probability, drawn from a
  generator seeded with ``seed``: the same requests in the same order get the
  same faults. ``Faults.random_mix(0.3, seed=7)`` spreads 30 % over every kind.

A request gets at most one fault. Counted faults come first, in the order of
:class:`FaultKind`; the random mix only draws for requests no counted fault took.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

__all__ = [
    "COUNTED_FIELDS",
    "FAIL_STATUSES",
    "FAULT_OPTIONS",
    "PUT_KINDS",
    "STREAM_ONLY_KINDS",
    "WRITE_KINDS",
    "FaultKind",
    "FaultOption",
    "Faults",
    "faults_from_options",
]


class FaultKind(str, enum.Enum):
    """A kind of fault the sandbox can inject; its value is its name in counters and options.

    Attributes:
        SERVER_ERROR: a write answered with a 5xx error (``503`` by default)
            before anything is recorded, so a retry runs the write for real.
        RATE_LIMITED: a write answered ``429`` with ``Retry-After`` in seconds,
            before anything is recorded.
        RATE_LIMITED_DATE: the same with ``Retry-After`` as an HTTP-date.
        SLOW_ANSWER: the write runs, but its answer's headers wait a while
            (a client with a shorter read timeout times out, then retries
            and gets the replay).
        DROP_AFTER_PUBLISH: the write runs to its end (everything published),
            then the connection is aborted: without any answer in JSON mode,
            after some of the events in stream mode. Only a retry with the same
            ``Idempotency-Key`` learns the outcome, from the replay.
        TRUNCATED_STREAM: a streamed answer ends cleanly after some events,
            without ``done``; the client resumes with ``Last-Event-ID``.
        SLOW_STREAM: a streamed answer waits before each event, sending only
            ``: ping`` comments meanwhile (every ``ping_interval``), to test idle
            timeouts against keep-alives.
        MALFORMED_ANSWER: the write runs, but its answer is not valid JSON (the
            JSON body, or the ``done`` event's data, cut in half). A client
            must report it, not retry it.
        DROPPED_PUT: an upload ``PUT`` loses its connection after some bytes;
            the bytes that arrived are kept, and ``HEAD`` tells where to resume.
    """

    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    RATE_LIMITED_DATE = "rate_limited_date"
    SLOW_ANSWER = "slow_answer"
    DROP_AFTER_PUBLISH = "drop_after_publish"
    TRUNCATED_STREAM = "truncated_stream"
    SLOW_STREAM = "slow_stream"
    MALFORMED_ANSWER = "malformed_answer"
    DROPPED_PUT = "dropped_put"


WRITE_KINDS: tuple[FaultKind, ...] = tuple(kind for kind in FaultKind if kind != "dropped_put")
"""The kinds that hit ``POST /v1/social/write``, in the order they are tried."""

STREAM_ONLY_KINDS = frozenset(
    {FaultKind.TRUNCATED_STREAM, FaultKind.SLOW_STREAM},
)
"""Write kinds that only a streamed answer (``Accept: text/event-stream``) can have."""

PUT_KINDS: tuple[FaultKind, ...] = (FaultKind.DROPPED_PUT,)
"""The kinds that hit upload ``PUT`` requests."""

FAIL_STATUSES = frozenset({429, 500, 502, 503, 504})
"""The statuses ``fail_writes`` may answer with: the retryable ones of protocol.md."""

# Probabilities are added up in floating point; a mix that sums to 1 in
# decimal may come out a hair above it.
_SUM_TOLERANCE = 1e-9


def _not_negative(_instance: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and (math.isnan(value) or value < 0):
        msg = f"{attribute.name} must be 0 or more, got {value}"
        raise ValueError(msg)


def _finite(_instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not math.isfinite(value):
        msg = f"{attribute.name} must be a finite number of seconds, got {value}"
        raise ValueError(msg)


def _check_fail_status(_instance: Any, _attribute: Any, value: int) -> None:
    if value not in FAIL_STATUSES:
        shown = ", ".join(str(status) for status in sorted(FAIL_STATUSES))
        msg = f"fail_status must be one of {shown} (a status clients retry), got {value}"
        raise ValueError(msg)


def _freeze_chaos(value: Mapping[Any, float]) -> Mapping[FaultKind, float]:
    frozen: dict[FaultKind, float] = {}
    for name, probability in value.items():
        try:
            kind = FaultKind(name)
        except ValueError:
            known = ", ".join(kind.value for kind in FaultKind)
            msg = f"chaos: {name!r} is not a fault kind; the kinds are {known}"
            raise ValueError(msg) from None
        frozen[kind] = float(probability)
    return MappingProxyType(frozen)


def _check_chaos(_instance: Any, _attribute: Any, value: Mapping[FaultKind, float]) -> None:
    for kind, probability in value.items():
        if not 0.0 <= probability <= 1.0:
            msg = f"chaos[{kind.value!r}] must be a probability from 0 to 1, got {probability}"
            raise ValueError(msg)
    write_total = sum(value.get(kind, 0.0) for kind in WRITE_KINDS)
    if write_total > 1.0 + _SUM_TOLERANCE:
        msg = (
            "chaos: the write kinds' probabilities add up to "
            f"{write_total:g}, more than 1 (a write gets at most one fault)"
        )
        raise ValueError(msg)


def _count(default: int = 0) -> Any:
    return attrs.field(
        default=default, validator=[attrs.validators.instance_of(int), _not_negative]
    )


def _seconds(default: float) -> Any:
    return attrs.field(default=default, converter=float, validator=[_finite, _not_negative])


def _optional_count() -> Any:
    return attrs.field(
        default=None,
        validator=attrs.validators.optional([attrs.validators.instance_of(int), _not_negative]),
    )


@attrs.frozen(kw_only=True)
class Faults:
    """The faults a sandbox injects, to test how clients survive them.

    Every counted field is "the next N requests of that sort"; the counts are
    used up in arrival order, one fault per request, in the order of
    :class:`FaultKind`. ``chaos`` adds a random mix on top, seeded by ``seed``.
    Nothing is injected by default.

    Attributes:
        fail_writes: answer the next N writes with ``fail_status`` before
            anything is recorded under their ``Idempotency-Key``.
        fail_status: ``503`` (the default), ``500``, ``502``, ``504``, or
            ``429`` (which carries ``Retry-After``).
        retry_after: the seconds a ``429`` asks to wait (``Retry-After``); ``0``
            means "retry at once". 5xx answers carry no ``Retry-After``, so
            clients use their own backoff.
        retry_after_date: send the ``429``'s ``Retry-After`` of ``fail_writes``
            as an HTTP-date (``Wed, 21 Oct 2015 07:28:00 GMT``) instead of seconds.
        html_errors: answer the ``5xx`` of ``server_error`` faults (counted or
            random) with the HTML page a proxy in front of the service sends
            (nginx's ``502 Bad Gateway``, say), not with a JSON error body.
        escape_sequences: put terminal escape sequences and control characters
            (a title change, a colour, a bell) into what the sandbox writes back:
            each failed platform's ``error``, each result's ``url`` and the
            ``message`` of every JSON error body, so that what prints them can
            be checked safe. Read when the sandbox starts.
        slow_writes: delay the answer's headers of the next N writes (the write
            itself runs at once).
        answer_delay: the seconds a slow answer waits before its headers.
        drop_after_publish: let the next N writes publish, then abort their
            connection instead of answering.
        drop_after_events: in stream mode, how many events a dropped answer
            sends first (never the last one); ``None`` draws it from the seeded
            generator.
        truncate_streams: end the next N streamed answers early, cleanly,
            without ``done``.
        truncate_after_events: how many events a truncated stream sends;
            ``None`` draws it from the seeded generator.
        trickle_streams: slow down the next N streamed answers.
        trickle_delay: the seconds a slow stream waits before each event,
            sending ``: ping`` every ``ping_interval`` meanwhile.
        malformed_answers: answer the next N writes with JSON cut in half.
        drop_puts: cut the connection of the next N upload ``PUT`` requests.
        drop_put_after: how many body bytes a cut ``PUT`` delivers (they are
            kept); ``None`` draws a point inside the body from the seeded
            generator. A ``PUT`` whose body is not longer than this is not cut.
        seed: seeds the generator behind ``chaos`` and the ``None`` settings
            above: the same requests in the same order get the same faults.
        chaos: a probability per :class:`FaultKind` (names or members). Each
            write request draws one kind at most, so the write kinds'
            probabilities add up to 1 at most; each ``PUT`` draws
            ``dropped_put`` on its own. A stream-only kind drawn for a JSON
            request injects nothing.

    Example:
        ```python
        Faults(fail_writes=2, fail_status=429, retry_after=1)
        Faults(fail_writes=1, fail_status=502, html_errors=True)
        Faults(drop_after_publish=1, drop_after_events=2)
        Faults.random_mix(0.3, seed=42)
        ```
    """

    fail_writes: int = _count()
    fail_status: int = attrs.field(default=503, validator=_check_fail_status)
    retry_after: float = _seconds(0.0)
    retry_after_date: bool = False
    html_errors: bool = False
    escape_sequences: bool = False
    slow_writes: int = _count()
    answer_delay: float = _seconds(1.0)
    drop_after_publish: int = _count()
    drop_after_events: int | None = _optional_count()
    truncate_streams: int = _count()
    truncate_after_events: int | None = _optional_count()
    trickle_streams: int = _count()
    trickle_delay: float = _seconds(0.5)
    malformed_answers: int = _count()
    drop_puts: int = _count()
    drop_put_after: int | None = _optional_count()
    seed: int = 0
    chaos: Mapping[FaultKind, float] = attrs.field(
        factory=dict, converter=_freeze_chaos, validator=_check_chaos
    )

    @classmethod
    def random_mix(
        cls,
        rate: float,
        *,
        seed: int = 0,
        kinds: Iterable[FaultKind | str] | None = None,
        **settings: Any,
    ) -> Faults:
        """Build a seeded random mix: a fault for ``rate`` of the requests, kinds evenly.

        ``rate`` is split evenly among the chosen write kinds, so about that
        share of writes gets one of them; ``dropped_put``, if chosen, cuts
        about that share of ``PUT`` requests.

        Args:
            rate: the share of requests that get a fault, from 0 to 1.
            seed: seeds the draws.
            kinds: the kinds to mix; default: every kind.
            settings: other fields of :class:`Faults` (``trickle_delay``,
                ``answer_delay``, ``retry_after``, ...).

        Raises:
            ValueError: ``rate`` is not from 0 to 1, or a kind is unknown.

        Example:
            ```python
            Faults.random_mix(0.3, seed=7, kinds=["server_error", "truncated_stream"])
            ```
        """
        if not 0.0 <= rate <= 1.0:
            msg = f"rate must be from 0 to 1, got {rate}"
            raise ValueError(msg)
        chosen = list(FaultKind) if kinds is None else [FaultKind(kind) for kind in kinds]
        write_kinds = [kind for kind in WRITE_KINDS if kind in chosen]
        chaos = {kind: rate / len(write_kinds) for kind in write_kinds}
        if FaultKind.DROPPED_PUT in chosen:
            chaos[FaultKind.DROPPED_PUT] = rate
        return cls(seed=seed, chaos=chaos, **settings)

    @property
    def counted(self) -> Mapping[str, int]:
        """The counted faults, by field name (``fail_writes``, ``drop_puts``, ...)."""
        return {name: getattr(self, name) for name in COUNTED_FIELDS}

    @property
    def injects_anything(self) -> bool:
        """Whether these settings inject anything at all."""
        return any(self.counted.values()) or any(self.chaos.values())

    def to_json(self) -> dict[str, Any]:
        """Return the settings as JSON-ready values (``chaos`` keyed by kind name)."""
        values = attrs.asdict(self, recurse=False)
        values["chaos"] = {kind.value: probability for kind, probability in self.chaos.items()}
        return values


COUNTED_FIELDS: tuple[str, ...] = (
    "fail_writes",
    "slow_writes",
    "drop_after_publish",
    "truncate_streams",
    "trickle_streams",
    "malformed_answers",
    "drop_puts",
)
"""The counted fields of :class:`Faults`, in the order a request tries them."""


# -- the command line's fault options ----------------------------------------------------------
#
# Counted options take ``N`` or ``N:VALUE`` (``--fail-writes 3:429``): the next
# ``N`` requests of that sort, and the one setting that goes with them. Each
# parser raises ValueError with a message that says what is wrong with the text.

_Settings = Mapping[str, Any]
"""Keyword arguments of :class:`Faults`, as one option asks for them."""

_KINDS = ", ".join(kind.value for kind in FaultKind)


def _parse_count(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        msg = f"{text!r} is not a whole number of 0 or more"
        raise ValueError(msg)
    return int(text)


def _parse_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        msg = f"{text!r} is not a number of seconds of 0 or more"
        raise ValueError(msg)
    return value


def _parse_status(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) not in FAIL_STATUSES:
        shown = ", ".join(str(status) for status in sorted(FAIL_STATUSES))
        msg = f"{text!r} is not one of the retryable statuses {shown}"
        raise ValueError(msg)
    return int(text)


def _parse_probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        msg = f"{text!r} is not a probability from 0 to 1"
        raise ValueError(msg)
    return value


def _counted(
    count_field: str, value_field: str, parse_value: Callable[[str], object]
) -> Callable[[str], _Settings]:
    """Parse ``N`` or ``N:VALUE`` into ``{count_field: N, value_field: VALUE}``."""

    def parse(text: str) -> _Settings:
        count, separator, value = text.partition(":")
        settings: dict[str, object] = {count_field: _parse_count(count)}
        if separator:
            settings[value_field] = parse_value(value)
        return settings

    return parse


def _one(field: str, parse_value: Callable[[str], object]) -> Callable[[str], _Settings]:
    """Parse the text into the one field it sets."""

    def parse(text: str) -> _Settings:
        return {field: parse_value(text)}

    return parse


def _parse_chaos(text: str) -> _Settings:
    return {"chaos": Faults.random_mix(_parse_probability(text)).chaos}


def _parse_chaos_kind(text: str) -> _Settings:
    name, separator, value = text.partition("=")
    try:
        kind = FaultKind(name.strip())
    except ValueError:
        msg = f"{name!r} is not a fault kind; the kinds are {_KINDS}"
        raise ValueError(msg) from None
    if not separator:
        msg = f"give KIND=PROBABILITY, e.g. {kind.value}=0.1"
        raise ValueError(msg)
    return {"chaos": {kind: _parse_probability(value)}}


@attrs.frozen(kw_only=True)
class FaultOption:
    """One fault option of ``socialwrite sandbox``, declared once for every renderer.

    Attributes:
        name: the option as typed, ``--fail-writes``.
        help: what it does, for ``--help``.
        metavar: the shape of its value (``N[:STATUS]``); ``None`` for a flag,
            which takes no value.
        parse: turns the option's text into :class:`Faults` settings, raising
            ``ValueError`` with a message for the user; ``None`` for a flag.
        flag_settings: the settings a flag asks for when given.
        repeatable: whether the option may be given more than once.
    """

    name: str
    help: str
    metavar: str | None = None
    parse: Callable[[str], _Settings] | None = None
    flag_settings: _Settings = attrs.field(factory=dict)
    repeatable: bool = False

    @property
    def dest(self) -> str:
        """The option's name as an identifier: ``fail_writes`` for ``--fail-writes``."""
        return self.name.removeprefix("--").replace("-", "_")


FAULT_OPTIONS: tuple[FaultOption, ...] = (
    FaultOption(
        name="--fail-writes",
        metavar="N[:STATUS]",
        parse=_counted("fail_writes", "fail_status", _parse_status),
        help="answer the next N writes with STATUS (503 by default; 429, 500, 502 or 504) "
        "before anything is recorded, so a retry runs the write for real",
    ),
    FaultOption(
        name="--retry-after",
        metavar="SECONDS",
        parse=_one("retry_after", _parse_seconds),
        help="the Retry-After of the 429 answers (default: 0, retry at once)",
    ),
    FaultOption(
        name="--retry-after-date",
        flag_settings={"retry_after_date": True},
        help="send the Retry-After of --fail-writes N:429 as an HTTP-date instead of seconds",
    ),
    FaultOption(
        name="--html-errors",
        flag_settings={"html_errors": True},
        help="answer the 5xx of --fail-writes and of random server errors with a proxy's "
        "HTML error page instead of a JSON error body",
    ),
    FaultOption(
        name="--escape-sequences",
        flag_settings={"escape_sequences": True},
        help="put terminal escape sequences and control characters into failed platforms' "
        "errors, results' URLs and error bodies' messages, to check that what prints them "
        "is safe",
    ),
    FaultOption(
        name="--slow-writes",
        metavar="N[:SECONDS]",
        parse=_counted("slow_writes", "answer_delay", _parse_seconds),
        help="run the next N writes at once but hold their answers' headers SECONDS (default: 1)",
    ),
    FaultOption(
        name="--drop-after-publish",
        metavar="N[:EVENTS]",
        parse=_counted("drop_after_publish", "drop_after_events", _parse_count),
        help="publish the next N writes, then cut the connection instead of answering "
        "(a stream first sends EVENTS events; default: a seeded random number)",
    ),
    FaultOption(
        name="--truncate-streams",
        metavar="N[:EVENTS]",
        parse=_counted("truncate_streams", "truncate_after_events", _parse_count),
        help="end the next N event streams cleanly after EVENTS events, without 'done' "
        "(default: a seeded random number)",
    ),
    FaultOption(
        name="--trickle-streams",
        metavar="N[:SECONDS]",
        parse=_counted("trickle_streams", "trickle_delay", _parse_seconds),
        help="wait SECONDS before each event of the next N event streams, sending only "
        "': ping' comments meanwhile (default: 0.5)",
    ),
    FaultOption(
        name="--malformed-answers",
        metavar="N",
        parse=_one("malformed_answers", _parse_count),
        help="run the next N writes but answer with their JSON cut in half",
    ),
    FaultOption(
        name="--drop-puts",
        metavar="N[:BYTES]",
        parse=_counted("drop_puts", "drop_put_after", _parse_count),
        help="cut the connection of the next N upload PUTs after BYTES bytes of body, "
        "which are kept (default: a seeded random point in the body)",
    ),
    # --chaos comes before --chaos-kind: a kind's own probability replaces its
    # share of the mix, whatever the order on the command line.
    FaultOption(
        name="--chaos",
        metavar="RATE",
        parse=_parse_chaos,
        help="give a seeded random RATE (0 to 1) of requests a fault, every kind equally likely",
    ),
    FaultOption(
        name="--chaos-kind",
        metavar="KIND=P",
        parse=_parse_chaos_kind,
        repeatable=True,
        help="give one kind of fault the probability P (repeatable; replaces that kind's "
        f"share of --chaos). Kinds: {_KINDS}",
    ),
)
"""The fault options of ``socialwrite sandbox``, in the order their settings apply."""


def faults_from_options(given: Iterable[_Settings], *, seed: int = 0) -> Faults:
    """Build the :class:`Faults` that the given options' settings ask for.

    Args:
        given: the settings of each option given, in the order of
            :data:`FAULT_OPTIONS`: a later one wins, except that ``chaos``
            probabilities merge, kind by kind.
        seed: the seed of the random faults.

    Raises:
        ValueError: the settings do not fit together (the write kinds' chances
            add up to more than 1, for instance).
    """
    settings: dict[str, Any] = {"seed": seed}
    chaos: dict[FaultKind, float] = {}
    for one in given:
        for name, value in one.items():
            if name == "chaos":
                chaos.update(value)
            else:
                settings[name] = value
    return Faults(chaos=chaos, **settings)
