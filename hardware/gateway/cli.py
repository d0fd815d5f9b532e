"""``hallq gateway``: run the hardware gateway for the hall file's ``[gateway]`` section.

The whole hall file is validated first (the same checks as ``hallq check-config``), so a
gateway never starts on a file the server would refuse. The token comes from
``--token``, else the environment variable named by ``token_env``, else ``token``: a
token on the command line is visible to other users in ``ps``, so prefer ``token_env``
outside tests.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tomllib
from pathlib import Path

from hardware.gateway.config import GatewaySettings, parse
from hardware.gateway.gateway import Gateway


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="hallq gateway",
        description="Connect the hall's serial buses (keypads, evaluators, LED strips) "
        "to the queue server.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="hall file with a [gateway] section (default: $HALLQ_CONFIG, else the demo hall)",
    )
    parser.add_argument("--server", help="queue server URL, e.g. ws://127.0.0.1:8765/")
    parser.add_argument("--token", help="gateway token (overrides token / token_env)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        # python-escpos (the window printers' layout) logs to the root logger when it is
        # imported, which installs a WARNING handler first: replace it.
        force=True,
    )
    loaded = load(args.config)
    if isinstance(loaded, str):
        print(loaded, file=sys.stderr)
        return 2
    settings = loaded
    token = args.token or (os.environ.get(settings.token_env) if settings.token_env else None)
    token = token or settings.token
    if not token:
        where = f"${settings.token_env}" if settings.token_env else "token in [gateway]"
        print(f"hallq gateway: no gateway token: set {where} or pass --token", file=sys.stderr)
        return 2
    asyncio.run(_serve(settings, token, args.server))
    return 0


def load(path: Path | None) -> GatewaySettings | str:
    """The gateway settings of a hall file, or a message saying what is wrong."""
    from queue_server.config import DEMO_CONFIG, ConfigError, load_config

    path = path or Path(os.environ.get("HALLQ_CONFIG") or DEMO_CONFIG)
    try:
        load_config(path)
    except ConfigError as exc:
        return f"{exc.path}: {len(exc.problems)} problem(s)\n" + "\n".join(
            f"  {p}" for p in exc.problems
        )
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    if "gateway" not in raw:
        return f"{path}: no [gateway] section: nothing to run (see docs/hardware.md, Gateway)"
    settings, problems = parse(raw["gateway"], raw)
    if settings is None:  # load_config checked it already; kept for a direct caller
        return "\n".join(f"gateway.{where}: {message}" for where, message in problems)
    return settings


async def _serve(settings: GatewaySettings, token: str, server: str | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await Gateway(settings, token, server=server).run(stop)
