"""The benchmark: `python -m scripts.bench` (`make bench`) prints each figure and its goal."""
