"""Hall and window displays, and the voice that calls numbers.

This package file stays empty so that importing a light submodule (the voice text
builder, say) never drags in Kivy or the network client.
"""
