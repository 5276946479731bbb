"""The command line (`prorata ...`)."""
