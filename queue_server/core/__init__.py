"""The hall's rules with no I/O: state tables, numbering, call order, estimates, ratings.

Nothing here imports asyncio, SQLAlchemy or JSON; time is always passed in.
"""
