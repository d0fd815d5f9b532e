"""Device-side emulators speaking the same bytes as real hardware.

They run over real pseudo-terminals (``os.openpty``) and real TCP sockets so the drivers
under test do exactly the I/O they do in a hall; only the port name differs.
"""
