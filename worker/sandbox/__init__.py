"""A sandbox WHMCS for development, tests and the demo: never used against a real WHMCS."""
