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
"""

from __future__ import annotations

from ._app import make_app, state_of
from ._config import SandboxConfig
from ._ledger import PublishedPost, SandboxStats
from ._server import Sandbox
from ._state import SandboxState

__all__ = [
    "PublishedPost",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "SandboxStats",
    "make_app",
    "state_of",
]
