"""Reads for the operations view, one module per section; each returns figures."""
