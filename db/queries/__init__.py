"""Named SQL constants, one module per area. Imports nothing above ``db``."""
