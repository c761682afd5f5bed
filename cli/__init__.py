"""The ``citygrid`` command line: a face over the domains, beside ``api/``."""
