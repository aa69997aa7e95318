"""The local sandbox: a server that speaks the socialwrite protocol, no account needed.

It is the SDK's embedded default, so anyone can run a write end to end: it
checks requests exactly as protocol.md says, "publishes" to every platform
concurrently with configurable latency and deterministic post ids, keeps
idempotency keys, streams events, and records what each platform got.

```python
from socialwrite.sandbox import Sandbox, SandboxConfig

config = SandboxConfig(latency={"instagram": 1.0}, not_connected={"tiktok"})
with Sandbox(config).run_in_thread() as sandbox:   # works from trio and blocking code
    ...  # a client pointed at sandbox.base_url with sandbox.api_key
    print(sandbox.published())

async with Sandbox(config) as sandbox:             # on the current asyncio loop
    ...
```

``GET /v1/sandbox/published`` shows the same records over HTTP and
``DELETE /v1/sandbox/published`` clears them.

Faults (errors, dropped connections, cut streams, bad JSON, slowness, cut
uploads) are injected on demand, counted or as a seeded random mix, to test
how clients survive them (docs/sandbox-faults.md):

```python
with Sandbox(SandboxConfig(faults=Faults(fail_writes=2))).run_in_thread() as sandbox:
    ...  # the first two writes are answered 503
    sandbox.set_faults(Faults.random_mix(0.3, seed=7))
    print(sandbox.faults_injected)
```

``SandboxConfig(compat=True)`` answers the way real vendors and proxies do
(JSON only, results in another order, numeric post ids, flat errors, no
upload endpoint), and ``SandboxConfig(credits=...)`` gives the account a
balance that runs out with ``402 insufficient_credits``.
"""

from __future__ import annotations

from ._app import faults_of, make_app, state_of
from ._config import SandboxConfig
from ._faults import FaultInjector
from ._faults_config import FaultKind, Faults
from ._ledger import PublishedPost, SandboxStats
from ._server import Sandbox
from ._state import SandboxState

__all__ = [
    "FaultInjector",
    "FaultKind",
    "Faults",
    "PublishedPost",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "SandboxStats",
    "faults_of",
    "make_app",
    "state_of",
]
