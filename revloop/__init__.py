"""revloop: cross-cutting pieces (user configuration, command line) shared by every layer."""
