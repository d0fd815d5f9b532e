"""HallQ queue server: the hall's single source of truth.

Importing this package loads nothing heavy: kiosks and displays import
``queue_server.protocol`` and ``queue_server.client`` without pulling in the database.
"""

__version__ = "0.1.0"
