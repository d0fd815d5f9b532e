"""The RS-485 hall bus: keypads, evaluators and LED strips sharing one serial line."""
