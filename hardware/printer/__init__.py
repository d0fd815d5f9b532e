"""ESC/POS ticket printer: layout as bytes (``ticket``), status (``status``), transports,
and :class:`hardware.printer.printer.TicketPrinter`, which ties them together."""
