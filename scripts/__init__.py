"""Developer scripts (screenshots, the layout checks by hand) and ``scripts.demo_hall``,
the throwaway demo hall that tests and benchmarks import too. Never installed: a hall's
kiosk and display do not carry tools that start a queue server."""
