"""placeholder"""
def calibrate_command() -> None:
    """Fit parameters to stylized facts."""
