"""The embedded starter bank: real sounds from Debian and PyPI packages, built offline."""
