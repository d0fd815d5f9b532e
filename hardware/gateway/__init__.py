"""The hardware gateway (``hallq gateway``): serial buses on one side, the queue server on
the other.

- ``config``: the ``[gateway]`` section of the hall file, typed and checked;
- ``keys``: what a keypad key does at a window (pure);
- ``state``: the hall as events describe it, and device presence (pure);
- ``gateway``: the asyncio process tying bus drivers to a :class:`HallClient`;
- ``cli``: ``hallq gateway --config FILE [--server URL] [--token T] [-v]``.
"""
