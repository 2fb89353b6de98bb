"""Named SQL constants, one module per area."""
